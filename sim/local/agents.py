"""One tree-runner process of a local run: its command line, environment, and how it ended."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from sim import REPO_ROOT
from sim.local.processes import WalletProcess, _die_with_parent
from sim.report.outcomes import CRASHED, FAILED, FINISHED, KILLED, OK
from sim.scenario.load import AgentSpec

__all__ = ["AgentProcess", "agent_argv", "agent_env", "describe_exit"]


def agent_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment every agent gets: the project importable, no MONEROSIM_* leaking in from
    the caller's shell (the command line says everything), as under Shadow, where a process
    gets exactly the environment its config gives it."""
    env = {k: v for k, v in (os.environ if base is None else base).items()
           if not k.startswith("MONEROSIM_")}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH")) if p)
    env.update(PYTHONUNBUFFERED="1", PYTHONHASHSEED="0", MALLOC_ARENA_MAX="1")
    return env


def describe_exit(code: int) -> str:
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


@dataclass
class AgentProcess:
    spec: AgentSpec
    argv: list[str]
    log_path: Path
    wallet: WalletProcess | None = None
    journal: Path | None = None              # <journals>/<id>.jsonl
    popen: subprocess.Popen | None = field(default=None, repr=False)
    started_at: float | None = None          # unix time
    stopped_at: float | None = None          # unix time the exit was noticed
    term_at: float | None = None             # monotonic time SIGTERM was sent
    outcome: str | None = None
    detail: str = ""

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def exit_code(self) -> int | None:
        return None if self.popen is None else self.popen.returncode

    def alive(self) -> bool:
        return self.popen is not None and self.outcome is None

    def start(self, env: dict[str, str], cwd: Path) -> None:
        """Start the process (from the main thread: PR_SET_PDEATHSIG follows the parent thread)."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as out:
            self.popen = subprocess.Popen(self.argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                                          stdout=out, stderr=subprocess.STDOUT,
                                          start_new_session=True, preexec_fn=_die_with_parent)
        self.started_at = time.time()

    def terminate(self) -> None:
        """SIGTERM once; the grace period counts from here. A process that has exited already
        (its tree finished) gets none: reap() says how it ended."""
        if self.alive() and self.term_at is None and self.popen.poll() is None:
            self.term_at = time.monotonic()
            self.popen.send_signal(signal.SIGTERM)

    def kill(self, detail: str) -> None:
        """SIGKILL a hung agent; it counts as crashed with `detail`."""
        if self.alive():
            self.popen.kill()
            self.outcome, self.detail = CRASHED, detail
            try:
                self.popen.wait(5)
            except subprocess.TimeoutExpired:
                pass
            self.stopped_at = time.time()

    def reap(self, grace: float) -> bool:
        """Notice an exit (classify it) or kill after `grace` seconds of SIGTERM. True if it just ended."""
        if not self.alive():
            return False
        code = self.popen.poll()
        if code is None:
            if self.term_at is None or time.monotonic() - self.term_at < grace:
                return False
            self.popen.kill()
            self.outcome, self.detail = KILLED, f"did not stop within {grace:g} s of SIGTERM; killed"
            try:
                self.popen.wait(5)
            except subprocess.TimeoutExpired:   # unkillable (D state): give up on it, bounded
                self.detail += ", but it has not died yet"
            self.stopped_at = time.time()
            return True
        self.stopped_at = time.time()
        if self.term_at is None:
            self.outcome = FINISHED if code == 0 else CRASHED
            self.detail = "its tree finished" if code == 0 else f"crashed: {describe_exit(code)}"
        elif code == -signal.SIGTERM and not self.journaled_start():
            self.outcome, self.detail = OK, "stopped while starting (before its SIGTERM handler)"
        elif code != 0 and self.tree_ended():   # it failed on its own; the SIGTERM came too late
            self.outcome, self.detail = CRASHED, f"crashed: {describe_exit(code)}"
        else:
            self.outcome = OK if code == 0 else FAILED
            self.detail = "" if code == 0 else f"{describe_exit(code)} after SIGTERM"
        return True

    def journaled_start(self) -> bool:
        """Whether the agent got as far as journaling agent_started."""
        if self.journal is None:
            return True
        try:
            with open(self.journal, "rb") as f:
                return b'"agent_started"' in f.readline()
        except OSError:
            return False

    def tree_ended(self) -> bool:
        """Whether the journal's last entry says the tree ended by itself (not by a signal)."""
        if self.journal is None:
            return False
        try:
            with open(self.journal, "rb") as f:
                f.seek(max(0, f.seek(0, os.SEEK_END) - 4096))
                last = json.loads(f.read().splitlines()[-1])
        except (OSError, IndexError, ValueError):
            return False
        return last.get("event") == "agent_stopped" and last.get("reason") == "finished"

    def tail(self, lines: int = 5) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def record(self) -> dict:
        """This agent's entry in run.json."""
        wallet = None
        if self.wallet is not None:
            wallet = {"url": self.wallet.url, "rpc_port": self.wallet.rpc_port, "pid": self.wallet.pid,
                      "exit_code": self.wallet.popen.returncode if self.wallet.popen else None}
        return {"id": self.id, "group": self.spec.group, "tree": str(self.spec.tree),
                "params": self.spec.params, "stop": self.spec.stop, "argv": self.argv,
                "log": str(self.log_path), "pid": self.popen.pid if self.popen else None,
                "started_at": self.started_at, "stopped_at": self.stopped_at,
                "exit_code": self.exit_code, "outcome": self.outcome, "detail": self.detail,
                "wallet": wallet}


def agent_argv(spec: AgentSpec, *, daemon_url: str, wallet_url: str | None, shared: Path,
               journals: Path, seed: int, clock: list[str], status: bool = True,
               python: str = sys.executable, private_daemon_url: str | None = None) -> list[str]:
    """tree-runner's command line for `spec` (as `python -m engine`); `clock` is the run clock's
    options (`RunClock.agent_args()`: `--lockstep SOCKET`, or `--time-scale X --clock-origin T`);
    `status`: the status journal in status/ beside journals/."""
    argv = [python, "-m", "engine", "run", str(spec.tree), "--agent", spec.id,
            "--daemon", daemon_url, "--shared", str(shared), "--journal", str(journals),
            "--state", str(Path(journals).parent / "state"),
            "--seed", str(seed), *clock]
    if status:
        argv += ["--status", str(Path(journals).parent / "status")]
    if wallet_url:
        argv += ["--wallet", wallet_url]
    if private_daemon_url:
        argv += ["--private-daemon", private_daemon_url]
    for module in spec.plugins:
        argv += ["--plugin", module]
    return argv + spec.param_args()
