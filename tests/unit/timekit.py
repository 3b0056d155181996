"""Helpers of the lockstep clock tests (test_timekeeper*.py): in-process agents as threads that
log every release, a keeper factory closed after each test, and bounds that hold on a loaded
machine."""
from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from engine.clock import SHADOW_EPOCH, LockstepClock
from sim.local.timekeeper import TimeKeeper

REPO = Path(__file__).resolve().parents[2]
ORIGIN = SHADOW_EPOCH           # the keeper's default origin
FAR = 1e6                       # the launcher's wake when it only watches
BOUND = 30.0                    # real seconds any one blocking step may take on a loaded machine
QUIET = 0.25                    # real seconds we watch for something that must not happen


# ------------------------------------------------------------------ helpers
class Log:
    """What the in-process agents saw: every release in order, and any two working at once."""

    def __init__(self):
        self.lock = threading.Lock()
        self.releases: list[tuple[float, str]] = []     # (simulated time, agent)
        self.real: list[tuple[float, float]] = []       # (monotonic, simulated time)
        self.working: set[str] = set()             # released, not stepped aside
        self.aside: set[str] = set()
        self.overlaps: list[tuple[str, list[str], float]] = []

    def enter(self, agent: str, t: float) -> None:
        with self.lock:
            if self.working:
                self.overlaps.append((agent, sorted(self.working), t))
            self.working.add(agent)
            self.releases.append((t, agent))
            self.real.append((time.monotonic(), t))

    def step_aside(self, agent: str) -> None:
        with self.lock:
            self.working.discard(agent)
            self.aside.add(agent)

    def leave(self, agent: str) -> None:
        with self.lock:
            self.working.discard(agent)
            self.aside.discard(agent)

    def seen(self) -> list[tuple[float, str]]:
        with self.lock:
            return list(self.releases)


class Agent(threading.Thread):
    """An agent in a thread: connects as `agent`, then sleeps until ORIGIN + each of `wakes` in
    turn and disconnects. Each turn (0: the hello) works `work` real seconds, steps aside if the
    turn is in `aside`, then waits for `gates[turn]` if there is one. An exception ends up in
    `error`."""

    def __init__(self, path, agent: str, wakes, log: Log, *, work: float = 0.005,
                 gates: dict[int, threading.Event] | None = None, aside: set[int] = frozenset()):
        super().__init__(name=f"agent-{agent}", daemon=True)
        self.path, self.agent, self.wakes, self.log = path, agent, list(wakes), log
        self.work, self.gates, self.aside = work, gates or {}, aside
        self.error: BaseException | None = None
        self.clock: LockstepClock | None = None

    def run(self) -> None:
        try:
            self.clock = LockstepClock(self.path, self.agent, connect_timeout=BOUND)
            self._turn(0)
            for turn, wake in enumerate(self.wakes, 1):
                self.clock.sleep_until(ORIGIN + wake)
                self._turn(turn)
        except BaseException as exc:  # noqa: BLE001 - the test looks at it
            self.error = exc
        finally:
            if self.clock is not None:
                self.clock.close()

    def _turn(self, turn: int) -> None:
        self.log.enter(self.agent, self.clock.now())
        try:
            time.sleep(self.work)
            if turn in self.aside:
                self.log.step_aside(self.agent)
                self.clock.step_aside()
            gate = self.gates.get(turn)
            if gate is not None and not gate.wait(BOUND):
                raise AssertionError(f"{self.agent}: gate {turn} never opened")
        finally:
            self.log.leave(self.agent)


def start(keeper: TimeKeeper, log: Log, plan: dict[str, list[float]], **options) -> dict[str, Agent]:
    """Hold time until every planned agent said hello (as the launcher does), then start them."""
    for agent in plan:
        keeper.hold(f"agent:{agent}")
    agents = {agent: Agent(keeper.path, agent, wakes, log, **options) for agent, wakes in plan.items()}
    for agent in agents.values():
        agent.start()
    return agents


def finish(*agents: Agent) -> None:
    for agent in agents:
        agent.join(BOUND)
        assert not agent.is_alive(), f"{agent.agent} still runs"
        if agent.error is not None:
            raise agent.error


def wait_until(condition, what: str, bound: float = BOUND) -> None:
    """Poll `condition` every 10 ms (never spin) for at most `bound` real seconds."""
    deadline = time.monotonic() + bound
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def launcher_turn(keeper: TimeKeeper) -> None:
    assert keeper.launcher_turn.wait(BOUND), "the launcher never got its turn"


def stays_still(keeper: TimeKeeper, log: Log) -> None:
    """For QUIET real seconds: simulated time does not move and nobody is released."""
    now, seen = keeper.now, log.seen()
    time.sleep(QUIET)
    assert (keeper.now, log.seen()) == (now, seen)


def working(keeper: TimeKeeper) -> list[str]:
    return [agent for agent, _ in keeper.busy()]


def at(*pairs: tuple[float, str]) -> list[tuple[float, str]]:
    """Expected releases as (absolute simulated time, agent)."""
    return [(ORIGIN + offset, agent) for offset, agent in pairs]


def env() -> dict:
    """For subprocesses: this checkout, none of the caller's MONEROSIM_* options."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("MONEROSIM_")}
    base["PYTHONPATH"] = str(REPO)
    return base


class Keepers:
    """Started TimeKeepers, each closed once after the test (close() is not idempotent)."""

    def __init__(self, tmp_path: Path):
        self.tmp_path = tmp_path
        self.open: list[TimeKeeper] = []
        self.count = 0

    def __call__(self, path=None, **options) -> TimeKeeper:
        keeper = TimeKeeper(path or self.tmp_path / f"clock{self.count}.sock", **options).start()
        self.count += 1
        self.open.append(keeper)
        return keeper

    def close(self, keeper: TimeKeeper) -> None:
        self.open.remove(keeper)
        keeper.close()
