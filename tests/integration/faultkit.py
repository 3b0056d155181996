"""A small world of real agents on a real regtest chain, with faults injected by hand.

`World` owns one run directory laid out as the launcher lays it out (shared/, journals/,
state/, wallets/, ringdb/, daemons/, logs/), one monerod, a monero-wallet-rpc per agent with a
wallet, and one tree-runner per agent, each started with the launcher's own command line
(`sim.local.agents.agent_argv`). Unlike the launcher it lets a test kill and restart any of them:
the daemon and the wallet-rpcs on the same ports (`Supervisor` reuses them), an agent with the
very same argv. Nothing here sleeps without a bound.

Time is the launcher's lockstep clock: one `sim.local.timekeeper.TimeKeeper` per world (socket
`clock.sock` in the run directory), every agent a client (`--lockstep`). Simulated time moves
only while every connected agent waits, then jumps to the earliest wake. The World has no
schedule of its own: the keeper's launcher participant waits for the end of time, so only the
agents drive it, and the test acts on real time between their turns (`now()` is the keeper's
time). An agent's start holds time still until it connects (hold `agent:<id>`, as the launcher
does), so every agent starts at the same instant; `kill_agent(..., hold=True)` makes a kill and
the restart that follows one instant.
"""
from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import ipc
from sim import REPO_ROOT
from sim.local.agents import agent_argv, agent_env
from sim.local.processes import LOOPBACK, Supervisor, _die_with_parent, free_port
from sim.scenario.load import AgentSpec
from sim.local.timekeeper import TimeKeeper

TREES = REPO_ROOT / "trees"
DAEMON = "node"
END_OF_TIME = 100 * 365 * 86400.0     # simulated seconds: the World's own (never reached) turn
SEED = int(os.environ.get("FAULT_SEED", "6"))     # the seeds of test_faults*.py


def spec(agent_id: str, tree: str, *, wallet: bool = True, **params: Any) -> AgentSpec:
    """An AgentSpec for one of the shipped role trees."""
    group, _, index = agent_id.rpartition("-")
    return AgentSpec(id=agent_id, group=group or agent_id, index=int(index) if index.isdigit() else 0,
                     tree=TREES / f"{tree}.yaml", params=params, wallet=wallet, stop="late")


@dataclass
class Runner:
    """One tree-runner: its argv never changes, each start is a new process."""

    spec: AgentSpec
    argv: list[str]
    log: Path
    popen: subprocess.Popen | None = None
    starts: list[float] = field(default_factory=list)      # unix times
    exits: list[int] = field(default_factory=list)         # exit codes of past processes

    @property
    def id(self) -> str:
        return self.spec.id

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None


class World:
    """`max_speed`: at most this many simulated seconds per real second (the keeper's limit),
    for tests whose faults last a stretch of real time; `extra_args`: more tree-runner options
    per agent id (e.g. `--rpc-timeout 2s`)."""

    def __init__(self, root: Path, specs: list[AgentSpec], *, seed: int,
                 max_speed: float | None = None, extra_args: dict[str, list[str]] | None = None):
        self.root = Path(root).resolve()
        for sub in ("shared/registry", "shared/signals", "journals", "state", "logs"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        self.supervisor = Supervisor(self.root, ready_timeout=120.0)
        self.seed = seed
        self.specs = {s.id: s for s in specs}
        # The daemon's ports are fixed before it exists: wallets and agents may start first.
        self.rpc_port, self.p2p_port = free_port(), free_port()
        self.daemon_url = f"http://{LOOPBACK}:{self.rpc_port}"
        self.keeper = TimeKeeper(self.root / "clock.sock", max_speed=max_speed).start()
        # No launcher: the World's own turn is at the end of time, so the agents alone drive it;
        # until the first agent starts, a hold keeps time at the origin.
        self.keeper.hold("world")
        self.keeper.launcher_wait(self.keeper.origin + END_OF_TIME)
        self.runners: dict[str, Runner] = {}
        self.events: list[tuple[float, str]] = []            # (unix time, what the test did)
        for s in specs:
            wallet_url = None
            if s.wallet:
                wallet_url = f"http://{LOOPBACK}:{free_port()}"
            argv = agent_argv(s, daemon_url=self.daemon_url, wallet_url=wallet_url,
                              shared=self.root / "shared", journals=self.root / "journals",
                              seed=seed, clock=["--lockstep", str(self.keeper.path)])
            argv += (extra_args or {}).get(s.id, [])
            self.runners[s.id] = Runner(s, argv, self.root / "logs" / f"agent-{s.id}.log")

    # ------------------------------------------------------------ bookkeeping
    def note(self, what: str) -> None:
        self.events.append((time.time(), what))

    def now(self) -> float:
        """Simulated time now (the keeper's): every record journaled from now on has `t` at
        least this, and every record journaled before has `t` at most this."""
        return self.keeper.now

    @property
    def origin(self) -> float:
        return self.keeper.origin

    def wallet_port(self, agent_id: str) -> int:
        argv = self.runners[agent_id].argv
        return int(argv[argv.index("--wallet") + 1].rsplit(":", 1)[1])

    # ------------------------------------------------------------ monero processes
    def start_daemon(self):
        self.note("daemon started")
        return self.supervisor.start_daemon(DAEMON, rpc_port=self.rpc_port, p2p_port=self.p2p_port)

    @property
    def daemon(self):
        return self.supervisor.daemons[DAEMON]

    def kill_daemon(self) -> None:
        self.note("daemon SIGKILL")
        self.daemon.kill()

    def restart_daemon(self):
        proc = self.supervisor.start_daemon(DAEMON)
        assert proc.rpc_port == self.rpc_port
        self.note("daemon restarted")
        return proc

    def start_wallets(self, wait: bool = True) -> None:
        procs = [self.supervisor.start_wallet_rpc(a, self.daemon_url, wait=False,
                                                  rpc_port=self.wallet_port(a))
                 for a, s in self.specs.items() if s.wallet]
        if wait:
            for proc in procs:
                proc.wait_ready(self.supervisor.ready_timeout)
        self.note("wallets started")

    def kill_wallet(self, agent_id: str) -> None:
        self.note(f"wallet-rpc {agent_id} SIGKILL")
        self.supervisor.wallets[agent_id].kill()

    def restart_wallet(self, agent_id: str):
        proc = self.supervisor.start_wallet_rpc(agent_id, self.daemon_url)
        assert proc.rpc_port == self.wallet_port(agent_id)
        self.note(f"wallet-rpc {agent_id} restarted")
        return proc

    # ------------------------------------------------------------ agents
    def start_agent(self, agent_id: str) -> None:
        runner = self.runners[agent_id]
        assert not runner.alive(), f"{agent_id} is running"
        # With every agent gone the keeper would have run to the World's turn at the end of time.
        assert not self.keeper.launcher_turn.is_set(), "simulated time ran out: every agent had gone"
        # (every path that leaves no agent running holds "world"; the hold below replaces it)
        self.keeper.hold(f"agent:{agent_id}")        # time stands still until it connects
        self.keeper.unhold("world")
        with open(runner.log, "ab") as out:
            runner.popen = subprocess.Popen(runner.argv, cwd=self.root, env=agent_env(),
                                            stdin=subprocess.DEVNULL, stdout=out,
                                            stderr=subprocess.STDOUT, start_new_session=True,
                                            preexec_fn=_die_with_parent)
        runner.starts.append(time.time())
        self.note(f"agent {agent_id} started")

    def start_agents(self) -> None:
        for agent_id in self.runners:                # every agent starts at the same instant
            self.keeper.hold(f"agent:{agent_id}")
        for agent_id in self.runners:
            self.start_agent(agent_id)

    def kill_agent(self, agent_id: str, *, hold: bool = False) -> None:
        """SIGKILL the agent. `hold`: time stands still from the kill until the agent's next
        start connects (a crash and its restart at one instant); without it the dead agent
        simply leaves the keeper and the others go on."""
        runner = self.runners[agent_id]
        if hold:
            self.keeper.hold(f"agent:{agent_id}")
        self._hold_if_last([runner])
        runner.popen.kill()
        runner.exits.append(runner.popen.wait(30))
        self.note(f"agent {agent_id} SIGKILL")

    def stop_agents(self, ids: list[str] | None = None, timeout: float = 30.0) -> dict[str, int]:
        """SIGTERM the agents, wait (bounded); their exit codes (None: had to be killed)."""
        runners = [self.runners[a] for a in (ids or self.runners)]
        live = [r for r in runners if r.alive()]
        self._hold_if_last(live)
        for runner in live:
            runner.popen.send_signal(signal.SIGTERM)
        self.note(f"SIGTERM {[r.id for r in live]}")
        codes = {}
        deadline = time.monotonic() + timeout
        for runner in live:
            try:
                codes[runner.id] = runner.popen.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                runner.popen.kill()
                runner.popen.wait(10)
                codes[runner.id] = None
            runner.exits.append(runner.popen.returncode)
        return codes

    def _hold_if_last(self, leaving: list[Runner]) -> None:
        """With no agent left the keeper would run to the World's turn at the end of time:
        keep time where the last agents leave it (until an agent starts again)."""
        if not [r for r in self.runners.values() if r.alive() and r not in leaving]:
            self.keeper.hold("world")

    def crashed(self) -> list[str]:
        """Agents whose process ended without being asked to."""
        return [f"{r.id}: exit {r.popen.returncode}\n{self.tail(r.id)}"
                for r in self.runners.values() if r.popen is not None
                and r.popen.poll() is not None and len(r.exits) < len(r.starts)]

    def close(self) -> None:
        for runner in self.runners.values():
            if runner.alive():
                runner.popen.kill()
                runner.popen.wait(10)
        self.supervisor.stop_all()
        self.keeper.close()

    # ------------------------------------------------------------ files
    def journal_path(self, agent_id: str) -> Path:
        return ipc.journal_path(self.root / "journals", agent_id)

    def journal(self, agent_id: str) -> list[dict]:
        return ipc.read_journal(self.journal_path(agent_id))

    def events_of(self, agent_id: str, event: str) -> list[dict]:
        return [r for r in self.journal(agent_id) if r.get("event") == event]

    def order_book(self, agent_id: str) -> Path:
        return ipc.orders_dir(self.root / "shared") / f"{agent_id}.jsonl"

    def tail(self, agent_id: str, lines: int = 8) -> str:
        try:
            text = self.runners[agent_id].log.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def wait_for(self, what: str, predicate: Callable[[], Any], timeout: float,
                 interval: float = 0.25) -> Any:
        """Poll `predicate` until truthy; AssertionError naming `what` (and crashed agents)
        after `timeout` seconds or as soon as an agent dies unasked."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            dead = self.crashed()
            if dead:
                raise AssertionError(f"waiting for {what}: agents died:\n" + "\n".join(dead))
            if time.monotonic() > deadline:
                raise AssertionError(f"{what}: not within {timeout:.0f} s; events so far "
                                     f"{[e for _, e in self.events]}")
            time.sleep(interval)


# ---------------------------------------------------------------- moments of a faulted run

def payment_ids(records: list[dict], *events: str) -> list[str]:
    return [r["payment_id"] for r in records if r.get("event") in events]


def open_orders(world: World, user: str) -> set[str]:
    """Orders the user's journal placed and neither paid nor failed."""
    records = world.journal(user)
    return set(payment_ids(records, "order_placed")) - \
        set(payment_ids(records, "payment_sent", "payment_failed"))


@dataclass
class Mark:
    """A moment of the run: real and simulated time (the keeper's now: no record journaled
    after the mark has an earlier `t`), each journal's length, and notes."""

    unix: float
    t: float
    lengths: dict[str, int]
    info: dict = field(default_factory=dict)

    def after(self, world: World, agent: str, event: str) -> list[dict]:
        """`event` records `agent` journaled after this moment."""
        return [r for r in world.journal(agent)[self.lengths[agent]:] if r.get("event") == event]


def mark(world: World, **info) -> Mark:
    return Mark(time.time(), world.now(), {a: len(world.journal(a)) for a in world.runners}, info)


def kill_mid_payment(world: World, user: str, kill, timeout: float = 90.0) -> Mark:
    """Kill (`kill()`) while `user` has an order placed and not yet paid; falls back to any
    moment after `timeout` seconds (noted in the mark)."""
    deadline = time.monotonic() + timeout
    while not open_orders(world, user) and time.monotonic() < deadline:
        time.sleep(0.01)
    before = open_orders(world, user)
    kill()
    return mark(world, open=sorted(before), caught=bool(before))


def scan_journal(path: Path) -> dict:
    """Parse a journal strictly: its records, complete lines that are not JSON objects, and
    whether it ends in a partial line."""
    reader = ipc.JournalReader(path)
    records = reader.read_new()
    size = path.stat().st_size if path.exists() else 0
    return {"records": records, "corrupt": reader.skipped, "torn": size > reader.offset}


def processes_alive(pids: list[int]) -> list[int]:
    """The pids in `pids` that are live processes (not zombies)."""
    alive = []
    for pid in pids:
        if not pid:
            continue
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            continue
        except PermissionError:
            alive.append(pid)
            continue
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if state != "Z":
            alive.append(pid)
    return alive
