"""Command lines of the processes on a Shadow host (docs/shadow.md §5), and the merge of a
scenario's extra `monerod_args` / `wallet_rpc_args` into them.

monerod binds RPC and P2P to the host's IP (`--confirm-external-bind`: RPC off loopback) so the
wallet-rpc and tree-runner of other hosts can reach a shared daemon and peers can connect.
monero-wallet-rpc binds 127.0.0.1: every Shadow host has its own loopback and only the
tree-runner on the same host talks to it, so it is never exposed to other hosts.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["MONEROD_RPC", "MONEROD_P2P", "WALLET_RPC_PORT", "LOG_LEVEL", "DEFAULT_OUT_PEERS", "Tls", "monerod_args",
           "wallet_rpc_args", "merge_options", "out_peers", "exclusive_nodes"]

MONEROD_P2P, MONEROD_RPC, WALLET_RPC_PORT = 18080, 18081, 18083
LOOPBACK = "127.0.0.1"
# What the propagation figures read (sim.report.daemonlog): blocks added, transactions entering
# the pool, which peer sent what, and each Dandelion++ epoch's mode (net.p2p.tx); everything
# else at level 0.
LOG_LEVEL = "0,blockchain:INFO,txpool:INFO,net.p2p.msg:INFO,net.p2p.tx:DEBUG"
# monerod 0.18 dials at most this many peers unless told otherwise (P2P_DEFAULT_CONNECTIONS_COUNT,
# --out-peers); it accepts any number (--in-peers defaults to unlimited).
DEFAULT_OUT_PEERS = 12
NOBODY_PORT = 1     # nothing listens there: a daemon that dials no one dials its own IP's port 1


@dataclass(frozen=True)
class Tls:
    key: Path
    cert: Path


def monerod_args(ip: str, data_dir: Path, tls: Tls, peers: list[str]) -> list[str]:
    """Regtest, fixed difficulty, chain kept across restarts, exclusive peers, no seed nodes."""
    args = ["--regtest", "--fixed-difficulty", "1", "--keep-fakechain", "--non-interactive",
            "--data-dir", str(data_dir), "--log-file", str(data_dir / "monerod.log"), "--log-level", LOG_LEVEL,
            "--rpc-bind-ip", ip, "--rpc-bind-port", str(MONEROD_RPC), "--confirm-external-bind",
            "--p2p-bind-ip", ip, "--p2p-bind-port", str(MONEROD_P2P),
            "--no-igd", "--no-zmq", "--disable-rpc-ban", "--disable-dns-checkpoints",
            "--check-updates", "disabled", "--rpc-ssl", "autodetect",
            "--rpc-ssl-private-key", str(tls.key), "--rpc-ssl-certificate", str(tls.cert),
            # host IPs (11.x) count as public: raise that limit too
            "--rpc-max-connections-per-private-ip", "500", "--rpc-max-connections-per-public-ip", "500",
            "--rpc-max-connections", "500"]
    return args + exclusive_nodes(peers, ip)


def exclusive_nodes(peers: list[str] | tuple[str, ...], ip: str) -> list[str]:
    """`--add-exclusive-node` for each peer (and `--out-peers` past monerod's default). A daemon
    that dials no one (a spy, the end of a line) gets `ip:1`, which refuses: without any
    exclusive node monerod 0.18 would dial its seed nodes on the internet (and it logs the
    refusal only at net.p2p:INFO)."""
    args = []
    for peer in peers or [f"{ip}:{NOBODY_PORT}"]:
        args += ["--add-exclusive-node", peer]
    return args + out_peers(len(peers))


def out_peers(peers: int) -> list[str]:
    """`--out-peers N` for a daemon with more exclusive peers than monerod dials by default (a
    daemon that dials every spy); nothing otherwise."""
    return ["--out-peers", str(peers)] if peers > DEFAULT_OUT_PEERS else []


def wallet_rpc_args(daemon_ip: str, wallet_dir: Path, ringdb_dir: Path, tls: Tls,
                    login: str | None) -> list[str]:
    """A per-agent wallet dir and ring database; RPC on this host's loopback only."""
    args = ["--daemon-address", f"{daemon_ip}:{MONEROD_RPC}", "--trusted-daemon",
            "--rpc-bind-ip", LOOPBACK, "--rpc-bind-port", str(WALLET_RPC_PORT), "--rpc-ssl", "disabled",
            "--daemon-ssl", "autodetect", "--daemon-ssl-private-key", str(tls.key),
            "--daemon-ssl-certificate", str(tls.cert), "--wallet-dir", str(wallet_dir),
            "--shared-ringdb-dir", str(ringdb_dir), "--log-file", str(wallet_dir / "wallet-rpc.log"),
            "--log-level", "0", "--non-interactive", "--no-dns"]
    return args + (["--rpc-login", login] if login else ["--disable-rpc-login"])


def _options(args: list[str]) -> list[list[str]]:
    """['--a', '1', '--b', '--c=2'] -> [['--a', '1'], ['--b'], ['--c=2']]."""
    out: list[list[str]] = []
    for arg in args:
        if arg.startswith("--") or not out:
            out.append([arg])
        else:
            out[-1].append(arg)
    return out


def merge_options(base: list[str], extra: list[str] | tuple[str, ...]) -> list[str]:
    """`base` with each option of `extra` replacing the same-named option (Monero exits when an
    option is repeated), or appended. `--name=value` and `--name value` are the same option."""
    name = lambda option: option[0].split("=", 1)[0]  # noqa: E731
    merged = _options(list(base))
    for option in _options(list(extra)):
        for i, existing in enumerate(merged):
            if name(existing) == name(option):
                merged[i] = option
                break
        else:
            merged.append(option)
    return [arg for option in merged for arg in option]
