"""The link emulator of a local run: one process relaying every P2P link between monerods.

    python -m sim.network.relay PLAN.json [--parent-pid PID]

It runs every link of the plan (`sim.network.links`: the file and the delivery model;
`sim.network.pipes`: the relaying, half-close, resets, memory bound) in one asyncio loop.

The ready file (JSON: {"pid", "listen": {name: [host, port]}}, the ports as bound, so a plan may
ask for port 0) is written atomically once every listener is bound; a listener that cannot bind
is one line on stderr and exit 2, as is a wrong plan. The relay runs until SIGTERM or SIGINT, or
until `--parent-pid` is gone or a zombie (checked every second), then resets every connection,
writes the stats file and exits 0. Stats (JSON, also every 5 s): per link its connections
(accepted, refused by the far side, open) and per direction the bytes and chunks read, the
bytes delivered and the chunks that paid a retransmission.

Network events (`sim.network.events`): on SIGUSR1 the relay reads the plan's control file,
{"seq": n, "links": {name: {"cut", "delay", "loss"}}}, gives each named link that state (a cut
link resets its connections and refuses new ones), then writes {"seq": n} to `<control>.applied`.

`Relay` is the launcher's handle on that process: start, wait_ready, control, stop.
"""
from __future__ import annotations

import argparse
import asyncio
import ctypes
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from lang.errors import MonerosimError, exit_status
from sim import REPO_ROOT
from sim.monero import ProcessError
from sim.network.links import Plan, load_plan, write_atomically
from sim.network.pipes import Link, ListenError

__all__ = ["Relay", "main", "parent_gone", "serve", "apply_control"]

STATS_EVERY = 5.0           # seconds between stats writes
PARENT_POLL = 1.0           # seconds between checks that --parent-pid lives
STOP_GRACE = 5.0            # Relay.stop: SIGTERM, then SIGKILL after this long
CONTROL_WAIT = 10.0         # Relay.control: real seconds the relay may take to apply a state


def _stats(links: list[Link]) -> dict:
    """The stats document now: per link its counts and how many connections are open."""
    return {"pid": os.getpid(), "written": time.time(),
            "links": {link.spec.name: dict(link.stats, open=len(link.conns)) for link in links}}


def _write_stats(path: Path, doc: dict) -> None:
    try:
        write_atomically(path, json.dumps(doc, indent=1) + "\n")
    except OSError as exc:
        print(f"relay: cannot write stats {path}: {exc}", file=sys.stderr, flush=True)


def parent_gone(pid: int) -> bool:
    """True when `pid` no longer exists or is a zombie (dead, not yet reaped)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state in ("Z", "X")


async def _every(seconds: float, action) -> None:
    while True:
        await asyncio.sleep(seconds)
        action()


def apply_control(plan: Plan, links: list[Link]) -> None:
    """Give the links the states of the control file; acknowledge its seq."""
    try:
        doc = json.loads(plan.control.read_text(encoding="utf-8"))
        by_name = {link.spec.name: link for link in links}
        for name, state in doc["links"].items():
            by_name[name].set_state(bool(state["cut"]), float(state["delay"]), float(state["loss"]))
        write_atomically(Path(f"{plan.control}.applied"), json.dumps({"seq": doc["seq"]}) + "\n")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(f"relay: cannot apply {plan.control}: {exc!r}", file=sys.stderr, flush=True)


async def serve(plan: Plan, parent_pid: int | None = None) -> None:
    """Run every link of `plan` until SIGTERM/SIGINT or the parent's end (ListenError first)."""
    loop = asyncio.get_running_loop()
    links = [Link(spec, loop) for spec in plan.links]
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        bound = {link.spec.name: await link.listen() for link in links}
    except ListenError:
        for link in links:
            link.close()
        raise
    if plan.control is not None:
        loop.add_signal_handler(signal.SIGUSR1, apply_control, plan, links)
    write_atomically(plan.ready, json.dumps({"pid": os.getpid(), "listen": bound}) + "\n")
    tasks = [loop.create_task(_every(STATS_EVERY, lambda: _write_stats(plan.stats, _stats(links))))]
    if parent_pid:
        tasks.append(loop.create_task(_every(
            PARENT_POLL, lambda: parent_gone(parent_pid) and stop.set())))
    await stop.wait()
    for task in tasks:
        task.cancel()
    final = _stats(links)              # `open`: the connections the stop resets
    for link in links:
        link.close()
    _write_stats(plan.stats, final)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="relay", description="Delaying TCP relays of a plan.")
    parser.add_argument("plan", help="plan file (JSON, sim/network/links.py)")
    parser.add_argument("--parent-pid", type=int, help="exit when this process is gone")
    args = parser.parse_args(argv)
    try:
        asyncio.run(serve(load_plan(args.plan), args.parent_pid))
    except MonerosimError as exc:
        return exit_status(exc, "relay")
    return 0


def _die_with_parent() -> None:
    """In the child: SIGTERM when the parent dies (as sim.local.processes does)."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


class Relay:
    """The relay process of one run, as the launcher starts, awaits and stops it."""

    def __init__(self) -> None:
        self.popen: subprocess.Popen | None = None
        self.log_path: Path | None = None
        self.ready_path: Path | None = None

    @property
    def pid(self) -> int | None:
        return self.popen.pid if self.popen else None

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def start(self, plan_path: str | os.PathLike, log_path: str | os.PathLike) -> None:
        """Start `python -m sim.network.relay PLAN --parent-pid <this process>` (PlanError
        here when the plan is wrong). A ready file left from before is removed first."""
        self.ready_path = load_plan(plan_path).ready
        self.ready_path.unlink(missing_ok=True)
        self.log_path = Path(log_path)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH")) if p)
        argv = [sys.executable, "-m", "sim.network.relay", str(Path(plan_path).resolve()),
                "--parent-pid", str(os.getpid())]
        with open(self.log_path, "ab") as out:
            self.popen = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out,
                                          stderr=subprocess.STDOUT, env=env, cwd=REPO_ROOT,
                                          start_new_session=True, preexec_fn=_die_with_parent)

    def wait_ready(self, timeout: float) -> dict:
        """Block until the ready file is there; its contents ({"pid", "listen": {name: [host,
        port]}}). ProcessError (with the log's tail) if the relay exits or time runs out."""
        deadline = time.monotonic() + timeout
        while True:
            if self.ready_path.exists():
                return json.loads(self.ready_path.read_text(encoding="utf-8"))
            if not self.alive():
                raise ProcessError(f"the relay exited with {self.popen.returncode} before it "
                                   f"was ready; last output:\n{self.tail()}")
            if time.monotonic() > deadline:
                self.stop()
                raise ProcessError(f"the relay was not ready within {timeout:g} s; "
                                   f"last output:\n{self.tail()}")
            time.sleep(0.02)

    def control(self, path: str | os.PathLike, seq: int, links: dict[str, dict],
                timeout: float = CONTROL_WAIT) -> None:
        """Hand the relay new link states (written to `path`, the plan's control file) and wait
        until it has applied them; ProcessError when it does not within `timeout`."""
        path = Path(path)
        write_atomically(path, json.dumps({"seq": seq, "links": links}) + "\n")
        self.popen.send_signal(signal.SIGUSR1)
        applied, deadline = Path(f"{path}.applied"), time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if json.loads(applied.read_text(encoding="utf-8"))["seq"] == seq:
                    return
            except (OSError, ValueError, KeyError, TypeError):
                pass
            time.sleep(0.005)
        raise ProcessError(f"the relay did not apply network event {seq} within {timeout:g} s; "
                           f"last output:\n{self.tail()}")

    def stop(self) -> int | None:
        """SIGTERM, then SIGKILL after 5 s. Returns the exit code (0: stats written)."""
        if self.popen is None:
            return None
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(STOP_GRACE)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        return self.popen.returncode

    def tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


if __name__ == "__main__":
    sys.exit(main())
