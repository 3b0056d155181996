"""`monerosim run`: a scenario as local processes — one regtest monerod (or, with `daemons:`, one
per daemon host, peered through the link relay: `sim.local.daemons`), a monero-wallet-rpc per
wallet-using agent, one tree-runner per agent — with live progress, an orderly stop and a summary.

Timeline, in simulated time (the lockstep clock by default, `sim.local.timekeeper`):
    start daemons (and relay) → start wallet-rpcs together, wait for each → start agents group by group
    (each start holds time still until the agent connects) → run `duration` → SIGTERM
    `stop: early` agents → `drain` later SIGTERM the rest (SIGKILL after AGENT_GRACE) → stop
    wallet-rpcs (SIGTERM stores the wallet) → stop monerod.
Ctrl-C / SIGTERM stops in that order at once (exit 130 / 143); a second one kills the agents.
An agent that exits non-zero or dies by a signal before it is asked to stop crashed: the run
goes on, and the launcher exits 1 at the end naming it.
"""
from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path

from rpc_client import DaemonClient, RpcError

from sim.report.outcomes import BAD_OUTCOMES, FINISHED
from sim.local.agents import AgentProcess, describe_exit
from sim.local.daemons import RunDaemons
from sim.local.processes import DaemonProcess, ProcessError, Supervisor, cpu_seconds
from sim.report.progress import Display, Progress
from sim.local.runclock import RunClock
from sim.local.startup import RUN_DIRS, Startup, counted, start_offset
from sim.scenario.load import STOP_EARLY, Scenario
from sim.report.summary import short_duration
from sim.report.verdict import EXIT_FAILED, FAILED
from sim.local.walletstops import judge_daemon_stop, judge_wallet_stops

__all__ = ["Launcher", "RUN_DIRS", "AGENT_GRACE", "POLL"]

POLL = 0.5              # seconds between looks at the processes and journals
BOOT_POLL = 0.05        # the same while a wallet-rpc is starting (time stands still meanwhile)
FREE_AFTER = 3.0        # real seconds after the final SIGTERMs before waits are answered at once
STALL_LIMIT = 900.0     # real seconds an agent may hold simulated time in one go before it is killed
AGENT_GRACE = 10.0      # seconds an agent gets between SIGTERM and SIGKILL (the engine needs < 5)


class Launcher(Startup):
    """One local run of `scenario` in `run_dir` (an empty or missing directory)."""

    def __init__(self, scenario: Scenario, run_dir: str | os.PathLike, *,
                 clock: str = "lockstep", time_scale: float | None = None,
                 max_speed: float | None = None, duration: float | None = None,
                 display: Display | None = None, agent_grace: float = AGENT_GRACE,
                 stall_limit: float = STALL_LIMIT, python: str = sys.executable,
                 status_journal: bool = True):
        self.scenario = scenario
        self.run_dir = Path(run_dir).resolve()
        self.clock_kind = clock
        self.time_scale = float(time_scale or scenario.time_scale)
        self.max_speed = max_speed
        self.stall_limit = stall_limit
        self.clock: RunClock | None = None
        self.cpu: dict[str, float] = {}
        self.duration = scenario.duration if duration is None else float(duration)
        self.drain = scenario.drain
        self.display = display or Display()
        self.agent_grace = agent_grace
        self.python = python
        self.status_journal = status_journal     # agents write status/<id>.jsonl
        self.agents: list[AgentProcess] = []
        self.daemon: DaemonProcess | None = None     # the first daemon (height, progress)
        self.net: RunDaemons | None = None
        self.wallet_stops: dict[str, dict] = {}
        self.failures: list[str] = []          # what went wrong outside the agents
        self.verdict: str | None = None        # ok / degraded / failed, once judged
        self.signal: int | None = None         # the signal that interrupted the run
        self.status = "starting"
        self.started_at = time.time()
        self.stopped_at: float | None = None
        self.final_height: int | None = None
        self.progress: Progress | None = None
        self._due: list = []
        self._events = list(getattr(scenario, "events", ()))     # network events still to come
        self._booting: dict[str, tuple] = {}
        self._fatal = False
        self._hurry = False
        self._dead_wallets: set[str] = set()
        self._ready_wallets: set[str] = set()

    # ------------------------------------------------------------ the run
    def run(self) -> int:
        """Start, run, stop; returns the exit code (0, 1 on a crash or failure, 128+signal)."""
        previous = {sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            self._prepare()
            with Supervisor(self.run_dir) as supervisor:
                try:
                    self._start(supervisor)
                    if not self.stopping:
                        self.status = "running"
                        self._write_run_json()
                        self._run_phases()
                except (ProcessError, OSError) as exc:
                    self._fail(f"could not start: {exc}")
                finally:
                    self._stop_agents()
                    self._read_final_height()
                    self.cpu = {"monerod": self.net.cpu() if self.net else 0.0,
                                "wallet_rpc": sum(cpu_seconds(w.pid) for w in supervisor.wallets.values())}
                    self._stop_monero(supervisor)
                    if self.net is not None:
                        self.net.stop_relay()
        finally:
            if self.clock is not None:
                self.clock.close()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            if self.progress is not None:
                self.progress.close()
            self.display.end()
            self.stopped_at = time.time()
            self.status = ("interrupted" if self.signal else
                           "failed" if self.failures or self.crashed() else "stopped")
            self._write_run_json()
        return self.exit_code()

    @property
    def _login(self) -> tuple[str, str] | None:
        login = getattr(self.scenario, "wallet_login", None)
        return login.pair if login is not None else None

    @property
    def stopping(self) -> bool:
        return self.signal is not None or self._fatal

    def exit_code(self) -> int:
        if self.signal is not None:
            return 128 + self.signal
        if self.verdict is not None:
            return EXIT_FAILED if self.verdict == FAILED else 0
        return 1 if self.failures or self.crashed() else 0

    def judged(self, verdict: str) -> int:
        """Record the run's verdict (`sim.report.verdict`) in run.json; the exit code follows it."""
        self.verdict = verdict
        self._write_run_json()
        return self.exit_code()

    def crashed(self) -> list[AgentProcess]:
        """Agents that crashed, ignored SIGTERM, or exited non-zero when stopped."""
        return [a for a in self.agents if a.outcome in BAD_OUTCOMES]

    def _on_signal(self, signum: int, _frame) -> None:
        if self.stopping:
            self._hurry = True          # a second Ctrl-C: no more grace for the agents
        if self.signal is None:
            self.signal = signum

    def _fail(self, message: str) -> None:
        self.failures.append(message)
        self._fatal = True
        self.display.say(f"monerosim: {message}", always=True)

    def _run_phases(self) -> None:
        self._watch(until=self.duration)
        early = [a for a in self.agents if a.spec.stop == STOP_EARLY and a.alive()]
        if self.stopping:
            return
        if early:
            self.display.say(f"stopping {counted(len(early), 'early agent')}; the rest drain "
                             f"{short_duration(self.drain)}")
        for agent in early:
            self.clock.hold(f"stop:{agent.id}")      # until it has gone: no last tick races the signal
            agent.terminate()
        self._watch(until=self.duration + self.drain)

    def _watch(self, until: float) -> None:
        """Look after the processes and show progress until simulated `until` (seconds from the
        start) or a stop. The launcher's own moments (agents due to start, `until`) are turns
        on the run clock: time stands still while the launcher acts."""
        while not self.stopping:
            now = self.clock.elapsed()
            step = min(until, next((o for o in map(start_offset, self._due) if o > now), until),
                       self._events[0].at if self._events else until)
            if self.clock.wait(step, BOOT_POLL if self._booting else POLL):
                self._apply_events()
                self._start_due()
                if step >= until:
                    return
            self._start_due()
            self._reap()
            self._check_monero()
            self._check_stall()
            self._show()

    def _apply_events(self) -> None:
        """The network events due now (the launcher's turn: time stands still meanwhile)."""
        now = self.clock.elapsed()
        while self._events and self._events[0].at <= now and not self.stopping:
            event = self._events.pop(0)
            try:
                self.net.apply(event, now)
            except ProcessError as exc:
                self._fail(f"network event {event.kind} at {short_duration(event.at)}: {exc}")
                return
            self.display.say(f"network: {event.kind} at {short_duration(event.at)}"
                             f" ({self.net.events[-1]['links_cut']} links cut)")

    def _check_stall(self) -> None:
        """An agent that holds simulated time for `stall_limit` real seconds is hung: kill it
        (it counts as crashed), so the run never freezes."""
        for agent_id, seconds in self.clock.busy():
            if seconds < self.stall_limit:
                continue
            for agent in self.agents:
                if agent.id == agent_id and agent.alive():
                    agent.kill(f"held simulated time for {seconds:.0f} s of real time (hung); killed")

    def _reap(self) -> None:
        grace = 0.0 if self._hurry else self.agent_grace
        for agent in self.agents:
            if agent.reap(grace):
                self.clock.unhold(f"agent:{agent.id}")   # died before it connected
                self.clock.unhold(f"stop:{agent.id}")
                if agent.outcome in BAD_OUTCOMES:
                    tail = agent.tail(3)
                    self.display.say(f"monerosim: agent {agent.id} {agent.detail}; log {agent.log_path}"
                                     + ("\n  | " + tail.replace("\n", "\n  | ") if tail else ""),
                                     always=True)
                elif agent.outcome == FINISHED and not agent.term_at:
                    self.display.say(f"agent {agent.id}: its tree finished")

    def _check_monero(self) -> None:
        for daemon in self.net.ended() if self.net is not None else ():
            self._fail(f"monerod {daemon.name} ended ({describe_exit(daemon.popen.returncode)}) during the "
                       f"run; stopping (log {daemon.log_path})")
            break
        if self.net is not None and self.net.relay_ended() and not self._fatal:
            self._fail("the network relay ended during the run; stopping (log logs/relay.log)")
        for agent in self.agents:
            w = agent.wallet
            if w is not None and not w.alive() and agent.id not in self._dead_wallets:
                self._dead_wallets.add(agent.id)
                self.failures.append(f"monero-wallet-rpc of {agent.id} ended "
                                     f"({describe_exit(w.popen.returncode)}) during the run (log {w.log_path})")
                self.display.say(f"monerosim: {self.failures[-1]}", always=True)

    def _show(self) -> None:
        if self.progress is None or self.display.quiet:
            return
        self.progress.poll()
        total = self.duration + self.drain
        elapsed = min(total, self.clock.elapsed()) if self.clock is not None else 0.0
        up = sum(1 for a in self.agents if a.alive())
        line = self.progress.line(elapsed, total, up, len(self.agents))
        slow = [(s, a) for a, s in self.clock.busy() if s >= 10] if self.clock is not None else []
        if slow:
            seconds, agent_id = max(slow)
            line += f" · {agent_id} working {seconds:.0f} s"
        self.display.progress(line)

    # ------------------------------------------------------------ stopping
    def _stop_agents(self) -> None:
        """SIGTERM every agent still running; wait, killing any that outlives the grace period."""
        running = [a for a in self.agents if a.alive()]
        if running:
            self.display.say(f"stopping {counted(len(running), 'agent')}")
        if self.clock is not None:
            self.clock.hold("stopping")   # nobody ticks again while the signals land
        for agent in running:
            agent.terminate()
        since = time.monotonic()
        while any(a.alive() for a in self.agents):
            if self.clock is not None and time.monotonic() - since > FREE_AFTER:
                self.clock.free()             # one still waits mid-tick: let it finish
            self._reap()
            self._show()
            time.sleep(POLL / 5)

    def _read_final_height(self) -> None:
        if self.net is not None:
            self.net.read_tips()
            self.net.write_chain()
        if self.daemon is None or not self.daemon.alive():
            return
        try:
            with DaemonClient(self.daemon.url, timeout=2, retries=0) as rpc:
                self.final_height = int(rpc.get_info()["height"])
        except (RpcError, KeyError, TypeError, ValueError):
            pass

    def _stop_monero(self, supervisor: Supervisor) -> None:
        """Wallet-rpcs (each stores its open wallet on SIGTERM), then the daemon."""
        if supervisor.wallets:
            self.display.say(f"stopping {len(supervisor.wallets)} monero-wallet-rpc, then monerod")
        supervisor.stop_all()
        judged = self._ready_wallets - self._dead_wallets   # the others: reported / interrupted
        result = judge_wallet_stops(supervisor.wallets, judged=judged)
        self.wallet_stops = result.stops
        for note in result.notes:
            self.display.say(note)
        self.failures += result.failures
        for daemon in self.net.all if self.net is not None and not self._fatal else ():
            failure, note = judge_daemon_stop(daemon.name, daemon.popen.returncode if daemon.popen else None,
                                              daemon.tail(5))
            if failure:
                self.failures.append(failure)
            if note:
                self.display.say(note)

    # ------------------------------------------------------------ run.json
    def record(self) -> dict:
        d = self.daemon
        daemon = None if d is None else {
            "name": d.name, "url": d.url, "rpc_port": d.rpc_port, "p2p_port": d.p2p_port,
            "pid": d.pid, "data_dir": str(d.workdir), "exit_code": d.popen.returncode if d.popen else None}
        agents = [a.record() for a in self.agents]
        for entry in agents:
            if entry["wallet"] is not None:
                entry["wallet"].update(self.wallet_stops.get(entry["id"], {}))
        return {"scenario": self.scenario.name, "scenario_file": str(self.scenario.path.resolve()),
                "description": self.scenario.description, "seed": self.scenario.seed,
                "overrides": self.scenario.overrides, "duration": self.duration, "drain": self.drain,
                "clock": self.clock.record() if self.clock is not None else {"kind": self.clock_kind},
                "time_scale": self.time_scale if self.clock_kind == "scaled" else None,
                "clock_origin": self.clock.origin if self.clock is not None else None,
                "simulated": self.clock.elapsed() if self.clock is not None else 0.0,
                "cpu_seconds": self.cpu, "started_at": self.started_at,
                "stopped_at": self.stopped_at, "status": self.status,
                "exit_code": self.exit_code() if self.stopped_at else None,
                "verdict": self.verdict,
                "interrupted_by": signal.Signals(self.signal).name if self.signal else None,
                "final_height": self.final_height, "daemon": daemon, "agents": agents,
                "network": self.net.record() if self.net is not None else None,
                "private_daemons": self.net.record_private() if self.net is not None else None,
                "crashed": [a.id for a in self.crashed()], "failures": self.failures}

    def _write_run_json(self) -> None:
        path = self.run_dir / "run.json"
        tmp = path.with_name(f".run.json.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(self.record(), indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, path)
