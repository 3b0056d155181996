"""Start and stop real monerod / monero-wallet-rpc processes on free loopback ports.

Used by the tests and the local launcher. Every process started is stopped: by `stop()`,
by leaving the `Supervisor` context, at interpreter exit, and (Linux) by the kernel when the
process that started it dies (PR_SET_PDEATHSIG).
"""
from __future__ import annotations

import atexit
import ctypes
import os
import random
import shutil
import signal
import socket
import subprocess
import time
import weakref
from dataclasses import dataclass, field
from pathlib import Path

from rpc_client import DaemonClient, NoWalletOpen, RpcError, WalletClient

from sim.monero import ProcessError
from sim.monero.commands import exclusive_nodes, merge_options  # an option given twice makes Monero exit
from sim.monero.tls import ensure_tls

MONEROD = "monerod"
WALLET_RPC = "monero-wallet-rpc"
LOOPBACK = "127.0.0.1"
# Every wallet-rpc and agent holds daemon connections; loopback counts against the limits.
RPC_CONNECTIONS = 5000

_handed_out: set[int] = set()
_pick = random.SystemRandom()
# Ports below the kernel's ephemeral range: an outgoing connection (of this run or another on the
# machine) never takes a port handed out here between the check and the server's bind.
LOWEST_PORT = 10000


def _ephemeral_start() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port(host: str = LOOPBACK) -> int:
    """A TCP port free on `host` now, below the ephemeral range, never the same twice in this
    interpreter (picked at random, so runs side by side rarely try the same one)."""
    top = _ephemeral_start()
    for _ in range(200):
        port = _pick.randrange(LOWEST_PORT, top) if top > LOWEST_PORT + 1000 else 0
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind((host, port))
            except OSError:
                continue
            port = sock.getsockname()[1]
        if port not in _handed_out:
            _handed_out.add(port)
            return port
    raise ProcessError("no free port found")


def cpu_seconds(pid: int | None) -> float:
    """User + system CPU seconds a live process has used so far (0 when it is gone)."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _die_with_parent() -> None:
    """In the child: SIGTERM when the parent dies, so nothing outlives a crashed test run."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


@dataclass
class MoneroProcess:
    """One running monerod or monero-wallet-rpc."""

    name: str
    argv: list[str]
    workdir: Path
    rpc_port: int
    log_path: Path
    popen: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.rpc_port}"

    @property
    def pid(self) -> int | None:
        return self.popen.pid if self.popen else None

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as out:
            self.popen = subprocess.Popen(self.argv, cwd=self.workdir, stdin=subprocess.DEVNULL,
                                          stdout=out, stderr=subprocess.STDOUT,
                                          start_new_session=True, preexec_fn=_die_with_parent)

    def _probe(self) -> None:
        raise NotImplementedError

    def ready(self) -> bool:
        """True if the RPC answers now (one short probe)."""
        try:
            self._probe()
            return True
        except RpcError:
            return False

    def wait_ready(self, timeout: float) -> None:
        """Block until the RPC answers; ProcessError if the process exits or time runs out."""
        deadline = time.monotonic() + timeout
        while True:
            if not self.alive():
                raise ProcessError(f"{self.name} exited with {self.popen.returncode} before "
                                   f"answering RPC; last output:\n{self.tail()}")
            try:
                self._probe()
                return
            except RpcError:
                pass
            if time.monotonic() > deadline:
                self.kill()
                raise ProcessError(f"{self.name} did not answer RPC within {timeout:.0f} s; "
                                   f"last output:\n{self.tail()}")
            time.sleep(0.1)

    def terminate(self) -> None:
        """Ask the process to stop (SIGTERM); `stop` waits for it."""
        if self.popen is not None and self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)

    def stop(self, grace: float = 15.0) -> int | None:
        """SIGTERM, then SIGKILL after `grace` seconds. Returns the exit code."""
        if self.popen is None:
            return None
        self.terminate()
        try:
            self.popen.wait(grace)
        except subprocess.TimeoutExpired:
            self.kill()
        return self.popen.returncode

    def kill(self) -> None:
        """SIGKILL now (a crash, for fault tests)."""
        if self.popen is not None and self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait()

    def tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


class DaemonProcess(MoneroProcess):
    p2p_port: int = 0

    def client(self, **kw) -> DaemonClient:
        return DaemonClient(self.url, **kw)

    def _probe(self) -> None:
        with DaemonClient(self.url, timeout=2, retries=0) as probe:
            probe.get_info()


class WalletProcess(MoneroProcess):
    login: tuple[str, str] | None = None
    closed_wallet: bool = False   # at stop, the wallet was stored and closed (or none was open)

    def terminate(self) -> None:
        """Close the open wallet over RPC (it is stored), then SIGTERM. wallet-rpc 0.18.0.0 can
        abort or hang in its teardown; with no wallet open nothing can be lost by that."""
        if self.alive():
            try:
                with WalletClient(self.url, timeout=20, retries=0, auth=self.login) as rpc:
                    rpc.close_wallet()
                self.closed_wallet = True
            except NoWalletOpen:
                self.closed_wallet = True
            except RpcError:
                pass  # the process does not answer: SIGTERM alone
        super().terminate()

    def client(self, **kw) -> WalletClient:
        kw.setdefault("auth", self.login)
        return WalletClient(self.url, **kw)

    def _probe(self) -> None:
        with WalletClient(self.url, timeout=2, retries=0, auth=self.login) as probe:
            probe.call("get_version")


class Supervisor:
    """Owns the Monero processes of one run directory:

        root/daemons/<name>/   chain data + monerod.log
        root/wallets/<name>/   wallet files + wallet-rpc.log
        root/ringdb/<name>/    that wallet-rpc's own ring database
        root/logs/daemon-<name>.out, root/logs/wallet-<name>.out   stdout/stderr
        root/tls/              the key and certificate both sides use
    """

    def __init__(self, root: str | os.PathLike, *, ready_timeout: float = 60.0,
                 stop_grace: float = 15.0):
        self.root = Path(root).resolve()
        self.ready_timeout = ready_timeout
        self.stop_grace = stop_grace
        self.daemons: dict[str, DaemonProcess] = {}
        self.wallets: dict[str, WalletProcess] = {}
        self._tls: tuple[Path, Path] | None = None
        _live.add(self)

    def __enter__(self) -> "Supervisor":
        return self

    def __exit__(self, *exc) -> None:
        self.stop_all()

    @property
    def tls(self) -> tuple[Path, Path]:
        if self._tls is None:
            self._tls = ensure_tls(self.root / "tls")
        return self._tls

    @staticmethod
    def _claim(table: dict, name: str):
        """The previous process of that name (for its ports), refusing a running one."""
        old = table.get(name)
        if old is not None and old.alive():
            raise ProcessError(f"{name} is already running")
        return old

    def daemon_argv(self, name: str, rpc_port: int, p2p_port: int, *, offline: bool,
                    peers: tuple[str, ...] = (), extra: tuple[str, ...] = (),
                    p2p_ip: str = LOOPBACK, log_level: str = "0", home: str = "daemons") -> list[str]:
        data = self.root / home / name
        key, cert = self.tls
        argv = [MONEROD, "--regtest", "--fixed-difficulty", "1", "--keep-fakechain",
                "--non-interactive", "--data-dir", str(data),
                "--log-file", str(data / "monerod.log"), "--log-level", log_level,
                "--rpc-bind-ip", LOOPBACK, "--rpc-bind-port", str(rpc_port),
                "--p2p-bind-ip", p2p_ip, "--p2p-bind-port", str(p2p_port),
                "--no-igd", "--no-zmq", "--disable-rpc-ban", "--disable-dns-checkpoints",
                "--check-updates", "disabled", "--rpc-ssl", "autodetect",
                "--rpc-ssl-private-key", str(key), "--rpc-ssl-certificate", str(cert),
                "--rpc-max-connections-per-private-ip", str(RPC_CONNECTIONS),
                "--rpc-max-connections", str(RPC_CONNECTIONS)]
        if offline:
            argv.append("--offline")
        else:
            argv += exclusive_nodes(peers, p2p_ip)
        return merge_options(argv, extra)

    def start_daemon(self, name: str = "daemon", *, offline: bool = True,
                     peers: tuple[str, ...] = (), extra_args: tuple[str, ...] = (),
                     rpc_port: int | None = None, p2p_port: int | None = None,
                     p2p_ip: str = LOOPBACK, log_level: str = "0", wait: bool = True,
                     home: str = "daemons") -> DaemonProcess:
        """Start a regtest monerod and wait until it answers (`wait=False`: return at once).
        P2P binds `p2p_ip` (a networked run gives each daemon its own loopback address). Ports
        are reused on restart. Its data is root/`home`/`name`; outside daemons/ (an agent's
        private daemon: home "private") it is known as `home/name`."""
        key = name if home == "daemons" else f"{home}/{name}"
        old = self._claim(self.daemons, key)
        rpc_port = rpc_port or (old.rpc_port if old else free_port())
        p2p_port = p2p_port or (old.p2p_port if old else free_port(p2p_ip))
        argv = self.daemon_argv(name, rpc_port, p2p_port, offline=offline, peers=peers,
                                extra=extra_args, p2p_ip=p2p_ip, log_level=log_level, home=home)
        proc = DaemonProcess(key, argv, self.root / home / name, rpc_port,
                             self.root / "logs" / f"daemon-{key.replace('/', '-')}.out")
        proc.p2p_port = p2p_port
        self.daemons[key] = proc
        return self._launch(proc, wait)

    def wallet_argv(self, name: str, rpc_port: int, daemon_url: str, *,
                    login: tuple[str, str] | None, extra: tuple[str, ...] = ()) -> list[str]:
        wallet_dir, ringdb = self.root / "wallets" / name, self.root / "ringdb" / name
        key, cert = self.tls
        daemon_address = daemon_url.split("://", 1)[-1].rstrip("/")
        argv = [WALLET_RPC, "--daemon-address", daemon_address, "--trusted-daemon",
                "--rpc-bind-ip", LOOPBACK, "--rpc-bind-port", str(rpc_port),
                "--rpc-ssl", "disabled", "--daemon-ssl", "autodetect",
                "--daemon-ssl-private-key", str(key), "--daemon-ssl-certificate", str(cert),
                "--wallet-dir", str(wallet_dir), "--shared-ringdb-dir", str(ringdb),
                "--log-file", str(wallet_dir / "wallet-rpc.log"), "--log-level", "0",
                "--non-interactive", "--no-dns"]
        argv += ["--rpc-login", f"{login[0]}:{login[1]}"] if login else ["--disable-rpc-login"]
        return merge_options(argv, extra)

    def start_wallet_rpc(self, name: str, daemon: DaemonProcess | str, *,
                         login: tuple[str, str] | None = None,
                         extra_args: tuple[str, ...] = (),
                         rpc_port: int | None = None, wait: bool = True) -> WalletProcess:
        """Start a monero-wallet-rpc for `daemon` (a DaemonProcess or a URL) and wait for it
        (`wait=False`: return at once; call `wait_ready(supervisor.ready_timeout)` later)."""
        old = self._claim(self.wallets, name)
        daemon_url = daemon.url if isinstance(daemon, DaemonProcess) else daemon
        rpc_port = rpc_port or (old.rpc_port if old else free_port())
        (self.root / "ringdb" / name).mkdir(parents=True, exist_ok=True)
        argv = self.wallet_argv(name, rpc_port, daemon_url, login=login, extra=extra_args)
        proc = WalletProcess(name, argv, self.root / "wallets" / name, rpc_port,
                             self.root / "logs" / f"wallet-{name}.out")
        proc.login = login
        self.wallets[name] = proc
        return self._launch(proc, wait)

    def _launch(self, proc: MoneroProcess, wait: bool = True) -> MoneroProcess:
        if shutil.which(proc.argv[0]) is None:
            raise ProcessError(f"{proc.argv[0]} not found (make installs Debian's monero)")
        proc.start()
        if wait:
            proc.wait_ready(self.ready_timeout)
        return proc

    def stop(self, proc: MoneroProcess) -> int | None:
        """Stop one process (SIGTERM, SIGKILL after the grace period); its exit code."""
        return proc.stop(self.stop_grace)

    def stop_all(self) -> None:
        """Stop every wallet-rpc, then every daemon; each kind is signalled at once."""
        for kind in (self.wallets, self.daemons):
            for proc in kind.values():
                proc.terminate()
            for proc in kind.values():
                proc.stop(self.stop_grace)


_live: "weakref.WeakSet[Supervisor]" = weakref.WeakSet()


@atexit.register
def _stop_leftovers() -> None:
    for supervisor in list(_live):
        supervisor.stop_all()
