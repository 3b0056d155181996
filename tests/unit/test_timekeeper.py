"""The lockstep clock: `sim.local.timekeeper.TimeKeeper` and its client `engine.clock.LockstepClock`.

In-process agents are threads, each with its own LockstepClock; they log every release (the
simulated time they were let go at) and whether anybody else was working (not aside) at that
moment. The launcher's side is driven directly (`launcher_wait`, `launcher_turn`, holds, free,
close). Raw sockets and a killed subprocess play clients that leave; the end-to-end tests run
real `tree-runner` processes against a keeper.

Nothing here depends on the machine's speed: every blocking step has a generous bound (BOUND),
"nothing happens" checks watch for a short real interval (QUIET), and the only timing
assertions are one-sided (max_speed can only slow time down; an idle keeper uses little CPU).
"""
from __future__ import annotations

import gc
import os
import select
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path

import pytest

import ipc
from engine.clock import SHADOW_EPOCH, ClockGone, LockstepClock, wire_time
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


@pytest.fixture
def keepers(tmp_path):
    made = Keepers(tmp_path)
    yield made
    for keeper in list(made.open):
        made.close(keeper)


@pytest.fixture
def keeper(keepers):
    return keepers()


# ------------------------------------------------------------------ ordering
def test_time_jumps_to_the_earliest_wake_and_releases_in_time_then_id_order(keeper):
    log = Log()
    plan = {"c": [10, 45.5, 46 + 1 / 3], "a": [30, 90.25], "b": [10, 60.1]}
    agents = start(keeper, log, plan, work=0.01)
    keeper.launcher_wait(ORIGIN + FAR)
    launcher_turn(keeper)
    finish(*agents.values())

    # exact floats: now() after a release is the very time asked for
    assert log.seen() == at((0, "a"), (0, "b"), (0, "c"), (10, "b"), (10, "c"), (30, "a"),
                            (45.5, "c"), (46 + 1 / 3, "c"), (60.1, "b"), (90.25, "a"))
    assert log.overlaps == []                       # one worker at a time
    # straight jumps: one per distinct wake, and the launcher's
    assert (keeper.jumps, keeper.releases, keeper.now) == (7, 10, ORIGIN + FAR)


def test_a_wait_in_the_past_is_answered_at_the_current_time(keeper):
    log = Log()
    agents = start(keeper, log, {"a": [10, 3, 10]})
    keeper.launcher_wait(ORIGIN + FAR)
    launcher_turn(keeper)
    finish(*agents.values())
    assert log.seen() == at((0, "a"), (10, "a"), (10, "a"), (10, "a"))
    assert keeper.jumps == 2          # to 10, then to the launcher's wake


def test_same_instant_goes_by_id_whatever_the_connection_order_one_at_a_time(keeper):
    log = Log()
    gate = threading.Event()
    for agent in "cab":
        keeper.hold(f"agent:{agent}")
    keeper.launcher_wait(ORIGIN + FAR)
    agents = {}
    for agent in "cab":             # connect c, then a, then b
        assert log.seen() == []     # the holds keep everyone waiting until the last hello
        agents[agent] = Agent(keeper.path, agent, [5, 6], log, gates={1: gate} if agent == "a" else None)
        agents[agent].start()
        wait_until(lambda: agent in keeper.connected(), f"{agent} to connect")

    wait_until(lambda: (ORIGIN + 5, "a") in log.seen(), "a's turn at 5")
    assert working(keeper) == ["a"]
    keeper.unhold("nothing")        # wakes the keeper up: it looks at the queue again
    stays_still(keeper, log)        # b and c are due too, but a has not waited again
    assert log.seen()[-1] == (ORIGIN + 5, "a")
    gate.set()

    launcher_turn(keeper)
    finish(*agents.values())
    assert log.seen() == at((0, "a"), (0, "b"), (0, "c"), (5, "a"), (5, "b"), (5, "c"),
                            (6, "a"), (6, "b"), (6, "c"))
    assert log.overlaps == []


def test_the_launcher_goes_first_and_time_stands_still_during_its_turn(keeper):
    log = Log()
    agents = start(keeper, log, {"a": [60, 80], "b": [60, 61]})
    keeper.launcher_wait(ORIGIN + 60)
    launcher_turn(keeper)
    # the agents are due at 60 as well, but the launcher goes first and alone
    assert keeper.now == ORIGIN + 60
    assert log.seen() == at((0, "a"), (0, "b"))
    assert working(keeper) == []
    stays_still(keeper, log)
    assert keeper.launcher_turn.is_set()

    keeper.launcher_wait(ORIGIN + 61)           # at 61 the launcher again goes before b
    launcher_turn(keeper)
    assert log.seen() == at((0, "a"), (0, "b"), (60, "a"), (60, "b"))
    stays_still(keeper, log)

    keeper.launcher_wait(ORIGIN + 100)
    launcher_turn(keeper)
    finish(*agents.values())
    assert log.seen() == at((0, "a"), (0, "b"), (60, "a"), (60, "b"), (61, "b"), (80, "a"))
    assert keeper.now == ORIGIN + 100


def test_launcher_wait_in_the_past_is_its_turn_at_once(keeper):
    keeper.launcher_wait(ORIGIN + 10)
    launcher_turn(keeper)
    keeper.launcher_wait(ORIGIN + 5)
    launcher_turn(keeper)
    assert keeper.now == ORIGIN + 10


# ------------------------------------------------------------------ rounds and stepping aside
def test_asking_again_for_the_same_instant_goes_after_everyone_due_then(keeper):
    log = Log()
    agents = start(keeper, log, {"a": [5, 5, 5], "b": [5, 5], "c": [5]})
    keeper.launcher_wait(ORIGIN + FAR)
    launcher_turn(keeper)
    finish(*agents.values())
    assert log.seen() == at((0, "a"), (0, "b"), (0, "c"), (5, "a"), (5, "b"), (5, "c"),
                            (5, "a"), (5, "b"), (5, "a"))
    assert log.overlaps == []


def test_a_newcomer_at_an_instant_goes_before_the_next_round(keeper):
    log = Log()
    gate = threading.Event()
    keeper.hold("agent:z")
    agents = start(keeper, log, {"a": [5, 5]}, gates={1: gate})
    keeper.launcher_wait(ORIGIN + FAR)
    wait_until(lambda: "a" in keeper.connected(), "a to connect")
    late = Agent(keeper.path, "z", [5], log)
    late.start()
    wait_until(lambda: (ORIGIN + 5, "a") in log.seen() and keeper.connected() == {"a", "z"},
               "a's turn at 5 and z's hello")
    gate.set()                                      # a asks for 5 again: round 1, after z
    launcher_turn(keeper)
    finish(late, *agents.values())
    assert log.seen() == at((0, "a"), (0, "z"), (5, "a"), (5, "z"), (5, "a"))


def test_stepping_aside_lets_the_next_of_the_round_go_while_time_stands(keepers):
    keeper = keepers(parallel=4)
    log = Log()
    gates = {agent: threading.Event() for agent in "ab"}
    plan = {"a": [5], "b": [5, 5], "c": [5, 5], "d": [6]}
    for agent in plan:
        keeper.hold(f"agent:{agent}")
    agents = {agent: Agent(keeper.path, agent, wakes, log,
                           aside={1} if agent in gates else set(),
                           gates={1: gates[agent]} if agent in gates else None)
              for agent, wakes in plan.items()}
    for agent in agents.values():
        agent.start()
    keeper.launcher_wait(ORIGIN + FAR)
    # a steps aside at 5: b goes meanwhile, steps aside too, then c; d (at 6) and c's
    # next round (5 again) wait for both to come back
    wait_until(lambda: (ORIGIN + 5, "c") in log.seen(), "c's turn at 5")
    wait_until(lambda: working(keeper) == [], "c to wait again")
    assert log.aside == {"a", "b"}
    stays_still(keeper, log)
    assert log.seen()[-3:] == at((5, "a"), (5, "b"), (5, "c"))
    gates["a"].set()
    wait_until(lambda: "a" not in keeper.connected(), "a to finish")
    stays_still(keeper, log)                        # b is still aside
    gates["b"].set()
    launcher_turn(keeper)
    finish(*agents.values())
    assert log.seen() == at((0, "a"), (0, "b"), (0, "c"), (0, "d"), (5, "a"), (5, "b"), (5, "c"),
                            (5, "b"), (5, "c"), (6, "d"))
    assert log.overlaps == []                       # nobody worked beside a non-aside agent


def test_at_most_parallel_agents_are_aside_at_once(keepers):
    keeper = keepers(parallel=1)
    log = Log()
    gate = threading.Event()
    agents = start(keeper, log, {"a": [5], "b": [5]}, aside={1}, gates={1: gate})
    keeper.launcher_wait(ORIGIN + FAR)
    wait_until(lambda: (ORIGIN + 5, "a") in log.seen() and "a" in log.aside, "a aside at 5")
    stays_still(keeper, log)                        # one aside is all parallel=1 allows
    assert log.seen()[-1] == (ORIGIN + 5, "a")
    gate.set()
    launcher_turn(keeper)
    finish(*agents.values())
    assert log.seen() == at((0, "a"), (0, "b"), (5, "a"), (5, "b"))


def test_real_time_is_charged_to_one_agent_alone_several_together_or_none(keepers):
    keeper = keepers(parallel=2)
    log = Log()
    gates = {agent: threading.Event() for agent in "ab"}
    agents = {agent: Agent(keeper.path, agent, [5], log, aside={1}, gates={1: gates[agent]})
              for agent in "ab"}
    for agent in "ab":
        keeper.hold(f"agent:{agent}")
        agents[agent].start()
    keeper.launcher_wait(ORIGIN + FAR)
    wait_until(lambda: log.aside == {"a", "b"}, "a and b aside at 5")
    time.sleep(QUIET)                               # both work (aside): together
    gates["a"].set()
    wait_until(lambda: "a" not in keeper.connected(), "a to finish")
    time.sleep(QUIET)                               # b alone
    gates["b"].set()
    launcher_turn(keeper)
    finish(*agents.values())
    time.sleep(QUIET)                               # nobody
    keeper.launcher_wait(ORIGIN + FAR)              # one more look charges the quiet interval
    wait_until(lambda: keeper.real_seconds()["none"] >= QUIET * 0.8, "the quiet interval")
    shape = keeper.real_seconds()
    assert shape["together"] >= QUIET * 0.8 and shape["alone"] >= QUIET * 0.8


# ------------------------------------------------------------------ holds
def test_time_stands_still_while_a_hold_exists(keeper):
    log = Log()
    keeper.hold("wallet:a")
    agents = start(keeper, log, {"a": [10]})
    keeper.launcher_wait(ORIGIN + FAR)
    wait_until(lambda: "a" in keeper.connected(), "a to connect")
    assert keeper.holds() == {"wallet:a"}       # a's own hold ended with its hello
    stays_still(keeper, log)
    assert (log.seen(), keeper.now) == ([], ORIGIN)

    keeper.unhold("wallet:a")
    launcher_turn(keeper)
    finish(*agents.values())
    assert log.seen() == at((0, "a"), (10, "a"))


def test_an_agent_hold_ends_when_that_agent_says_hello(keeper):
    log = Log()
    keeper.hold("agent:b")
    agents = start(keeper, log, {"a": [10]})
    keeper.launcher_wait(ORIGIN + FAR)
    wait_until(lambda: "a" in keeper.connected(), "a to connect")
    assert keeper.holds() == {"agent:b"}
    stays_still(keeper, log)                    # b has not connected: a waits, time stands
    assert log.seen() == []

    late = Agent(keeper.path, "b", [5], log)
    late.start()
    launcher_turn(keeper)
    finish(late, *agents.values())
    assert keeper.holds() == set()
    assert log.seen() == at((0, "a"), (0, "b"), (5, "b"), (10, "a"))


# ------------------------------------------------------------------ clients that leave
def _raw_client(keeper: TimeKeeper, agent: str) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(BOUND)
    sock.connect(str(keeper.path))
    sock.sendall(f"hello {agent}\n".encode())
    return sock


def test_a_client_closing_its_socket_mid_wait_no_longer_blocks_time(keeper):
    log = Log()
    gate = threading.Event()
    keeper.hold("agent:raw")
    agents = start(keeper, log, {"a": [10, 30, 700]}, gates={2: gate})
    keeper.launcher_wait(ORIGIN + FAR)
    raw = _raw_client(keeper, "raw")
    try:
        assert raw.recv(100) == f"go 0 {wire_time(ORIGIN)}\n".encode()
        # raw works: a is due at 10 but time stands still
        wait_until(lambda: log.seen() == at((0, "a")) and working(keeper) == ["raw"], "a to wait")
        stays_still(keeper, log)
        raw.sendall(f"wait 1 {wire_time(ORIGIN + 500)}\n".encode())
        wait_until(lambda: (ORIGIN + 30, "a") in log.seen(), "a's turn at 30")
    finally:
        raw.close()                                 # mid-wait, before its turn at 500
    wait_until(lambda: keeper.connected() == {"a"}, "the keeper to see raw go")
    gate.set()
    launcher_turn(keeper)
    finish(*agents.values())
    assert log.seen() == at((0, "a"), (10, "a"), (30, "a"), (700, "a"))
    assert keeper.jumps == 4                        # 10, 30, 700, FAR: never stopped at 500


def test_an_agent_thread_whose_socket_shuts_mid_wait_gets_clock_gone(keeper):
    log = Log()
    agents = start(keeper, log, {"a": [10], "b": [500]})
    keeper.launcher_wait(ORIGIN + 100)
    launcher_turn(keeper)                           # b waits for 500 now
    agents["b"].clock.sock.shutdown(socket.SHUT_RDWR)
    agents["b"].join(BOUND)
    assert isinstance(agents["b"].error, ClockGone)
    wait_until(lambda: keeper.connected() == set(), "the keeper to see b go")
    keeper.launcher_wait(ORIGIN + 1000)
    launcher_turn(keeper)
    finish(agents["a"])
    assert log.seen() == at((0, "a"), (0, "b"), (10, "a"))
    assert keeper.jumps == 3                        # 10, 100, 1000


_WORKER = """
import sys, time
from engine.clock import LockstepClock
clock = LockstepClock(sys.argv[1], sys.argv[2], connect_timeout=30)
print(repr(clock.now()), flush=True)
time.sleep(120)                                     # "works" and never waits again
"""


def test_a_killed_agent_frees_time_and_a_reconnect_joins_at_the_current_time(keeper):
    log = Log()
    gate = threading.Event()
    keeper.hold("agent:w")
    agents = start(keeper, log, {"a": [10, 20]}, gates={1: gate})
    keeper.launcher_wait(ORIGIN + FAR)
    proc = subprocess.Popen([sys.executable, "-c", _WORKER, str(keeper.path), "w"], cwd=REPO,
                            env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_until(lambda: working(keeper) == ["w"], "w to work", bound=60)
        stays_still(keeper, log)                    # a is due at 10, w works: time stands
        assert log.seen() == at((0, "a"))
        proc.kill()
        proc.wait(BOUND)
    finally:
        if proc.poll() is None:
            proc.kill()
        out, _ = proc.communicate(timeout=BOUND)
    assert float(out) == ORIGIN                     # w's hello was answered at the origin
    wait_until(lambda: (ORIGIN + 10, "a") in log.seen(), "a's turn at 10")
    assert keeper.connected() == {"a"}

    again = Agent(keeper.path, "w", [15], log)      # same id, while a works at 10
    again.start()
    wait_until(lambda: keeper.connected() == {"a", "w"}, "w to reconnect")
    gate.set()
    launcher_turn(keeper)
    finish(again, *agents.values())
    assert log.seen() == at((0, "a"), (10, "a"), (10, "w"), (15, "w"), (20, "a"))
    assert log.overlaps == []


# ------------------------------------------------------------------ stopping
def test_free_answers_every_pending_and_later_wait_at_once_at_the_current_time(keeper):
    log = Log()
    agents = start(keeper, log, {"a": [5000, 6000], "b": [7000]})
    keeper.launcher_wait(ORIGIN + 100)
    launcher_turn(keeper)                           # time stands at 100: the launcher works
    stays_still(keeper, log)
    assert log.seen() == at((0, "a"), (0, "b"))

    keeper.free()
    late = Agent(keeper.path, "c", [9000], log)     # even a newcomer waits for nobody
    late.start()
    finish(late, *agents.values())
    keeper.launcher_wait(ORIGIN + FAR)
    launcher_turn(keeper)
    released = {agent: [t - ORIGIN for t, who in log.seen() if who == agent] for agent in "abc"}
    assert released == {"a": [0, 100, 100], "b": [0, 100], "c": [100, 100]}   # time no longer moves
    assert keeper.now == ORIGIN + 100


def test_close_makes_a_waiting_client_raise_clock_gone(keepers):
    keeper = keepers()
    log = Log()
    agents = start(keeper, log, {"a": [5000]})
    keeper.launcher_wait(ORIGIN + 100)
    launcher_turn(keeper)                           # a's wait was read: it waits for 5000
    keepers.close(keeper)
    agents["a"].join(BOUND)
    assert isinstance(agents["a"].error, ClockGone)
    assert not keeper.path.exists()


def test_a_keeper_gone_with_the_wait_unread_still_means_clock_gone(tmp_path):
    """TimeKeeper.close() stops its thread, then closes the sockets: a `wait` sent in between is
    never read (so is one in flight when the launcher is killed). Linux then resets the socket."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(tmp_path / "fake.sock"))
    listener.listen(1)
    listener.settimeout(BOUND)
    result: dict[str, BaseException | None] = {}

    def agent():
        clock = LockstepClock(tmp_path / "fake.sock", "a", connect_timeout=BOUND)
        try:
            clock.sleep_until(ORIGIN + 10)
            result["error"] = None
        except BaseException as exc:  # noqa: BLE001 - the test looks at it
            result["error"] = exc
        finally:
            clock.close()

    thread = threading.Thread(target=agent, daemon=True)
    thread.start()
    conn, _ = listener.accept()
    try:
        conn.settimeout(BOUND)
        assert conn.recv(100) == b"hello a\n"
        conn.sendall(f"go 0 {wire_time(ORIGIN)}\n".encode())
        readable, _, _ = select.select([conn], [], [], BOUND)
        assert readable, "the agent never sent its wait"
    finally:
        conn.close()                                # with `wait 1 ...` unread
        listener.close()
    thread.join(BOUND)
    assert not thread.is_alive()
    assert isinstance(result["error"], ClockGone), repr(result["error"])


def test_no_keeper_raises_clock_gone_after_the_connect_timeout(tmp_path):
    started = time.monotonic()
    with pytest.raises(ClockGone, match="no time keeper at"):
        LockstepClock(tmp_path / "nobody.sock", "a", connect_timeout=0.3)
    assert 0.3 <= time.monotonic() - started < BOUND


def test_a_failed_connect_leaves_no_socket_open(tmp_path):
    gc.collect()                                    # earlier tests' garbage is not ours
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        try:
            LockstepClock(tmp_path / "nobody.sock", "a", connect_timeout=0.1)
        except ClockGone:
            pass
        gc.collect()
    assert [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)] == []


def test_a_client_started_before_the_keeper_connects_once_it_listens(tmp_path):
    log = Log()
    path = tmp_path / "clock.sock"
    early = Agent(path, "a", [10], log)
    early.start()
    time.sleep(0.3)                                 # the client retries meanwhile
    keeper = TimeKeeper(path)
    keeper.hold("agent:a")                          # before start(): a may connect at once
    keeper.start()
    try:
        keeper.launcher_wait(ORIGIN + FAR)
        finish(early)
        launcher_turn(keeper)
    finally:
        keeper.close()
    assert log.seen() == at((0, "a"), (10, "a"))


def _eventpolls() -> set[str]:
    found = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            if "eventpoll" in os.readlink(f"/proc/self/fd/{fd}"):
                found.add(fd)
        except OSError:
            pass
    return found


def test_close_releases_every_file_descriptor(tmp_path):
    before = _eventpolls()
    keeper = TimeKeeper(tmp_path / "clock.sock").start()
    keeper.close()
    assert _eventpolls() - before == set()


def test_a_second_close_leaves_other_files_alone(tmp_path):
    keeper = TimeKeeper(tmp_path / "clock.sock").start()
    wake_fds = {keeper._wake_r, keeper._wake_w}
    keeper.close()
    pipes = [os.pipe() for _ in range(16)]          # reuse the lowest free numbers, the keeper's too
    try:
        assert wake_fds <= {fd for pair in pipes for fd in pair}
        keeper.close()
        closed = [fd for pair in pipes for fd in pair if not _is_open(fd)]
        assert closed == []
    finally:
        for pair in pipes:
            for fd in pair:
                if _is_open(fd):
                    os.close(fd)


def _is_open(fd: int) -> bool:
    try:
        os.fstat(fd)
        return True
    except OSError:
        return False


# ------------------------------------------------------------------ real time
def test_max_speed_never_runs_faster_than_allowed(keepers):
    speed = 40.0
    started = time.monotonic()
    keeper = keepers(max_speed=speed)
    log = Log()
    agents = start(keeper, log, {"a": [5, 10, 15, 20], "b": [7.5, 12.5, 17.5]})
    keeper.launcher_wait(ORIGIN + 25)
    launcher_turn(keeper)
    real = time.monotonic() - started
    finish(*agents.values())
    slack = 0.5                                     # simulated seconds: timer rounding
    for mono, t in log.real:
        assert t - ORIGIN <= speed * (mono - started) + slack
    assert keeper.elapsed <= speed * real + slack
    assert [t - ORIGIN for t, _ in log.seen()] == [0, 0, 5, 7.5, 10, 12.5, 15, 17.5, 20]


def _switches(thread: threading.Thread) -> int:
    """Context switches of one thread so far: each sleep in select that ends is one."""
    fields = dict(line.split(":", 1) for line in
                  Path(f"/proc/self/task/{thread.native_id}/status").read_text().splitlines())
    return int(fields["voluntary_ctxt_switches"]) + int(fields["nonvoluntary_ctxt_switches"])


@pytest.mark.parametrize("case", ["sleeping toward a far wake", "one agent working"])
def test_the_keeper_does_not_busy_wait(keepers, case):
    keeper = keepers(max_speed=10.0) if case.startswith("sleeping") else keepers()
    log = Log()
    gate = threading.Event()
    agents = start(keeper, log, {"a": [1000], "b": [2000], "c": [3000]},
                   gates={0: gate} if case == "one agent working" else None)
    keeper.launcher_wait(ORIGIN + 5000)
    if case == "one agent working":
        wait_until(lambda: working(keeper) == ["a"] and keeper.connected() == set("abc"), "a to work")
    else:
        wait_until(lambda: keeper.connected() == set("abc") and working(keeper) == [], "all to wait")
    try:
        cpu, wall, woken = time.process_time(), time.monotonic(), _switches(keeper._thread)
        threading.Event().wait(1.0)
        cpu, wall = time.process_time() - cpu, time.monotonic() - wall
        woken = _switches(keeper._thread) - woken
        assert keeper.now == ORIGIN                 # 1000 s at x10 is 100 real seconds away
        assert cpu < 0.3, f"{cpu:.3f} s of CPU in {wall:.2f} s of wall time"
        assert woken < 20, f"the keeper thread woke {woken} times in {wall:.2f} s (polling?)"
    finally:
        gate.set()
        keeper.free()
    finish(*agents.values())


def test_a_socket_path_longer_than_107_bytes_works(keepers, tmp_path):
    deep = tmp_path / ("d" * 60) / ("e" * 60) / "clock.sock"
    assert len(os.fsencode(deep)) > 107
    keeper = keepers(deep)
    assert stat.S_ISSOCK(deep.stat().st_mode)
    log = Log()
    agents = start(keeper, log, {"a": [10], "b": [5]})
    keeper.launcher_wait(ORIGIN + FAR)
    launcher_turn(keeper)
    finish(*agents.values())
    assert log.seen() == at((0, "a"), (0, "b"), (5, "b"), (10, "a"))
    keepers.close(keeper)
    assert not deep.exists()


# ------------------------------------------------------------------ real tree-runner processes
FIXED_TREE = """\
root:
  Repeat:
    times: 3
    child:
      Sequence:
        children:
          - Wait: {duration: 5m}
          - RecordEvent: {event: tick}
"""

RANDOM_TREE = """\
root:
  Repeat:
    times: 6
    child:
      Sequence:
        children:
          - Wait: {duration: {uniform: {low: 10s, high: 10m}}}
          - RecordEvent: {event: tick, fields: {n: {uniform: {low: 0, high: 100}}}}
"""

WAIT_TREE = "root:\n  Wait: {duration: 1h}\n"


def tree_runner(tree: Path, agent: str, journal: Path, sock: Path, *extra) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "engine", "run", str(tree), "--agent", agent,
                             "--journal", str(journal), "--lockstep", str(sock), *map(str, extra)],
                            cwd=REPO, env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def ended(proc: subprocess.Popen) -> tuple[int, str]:
    try:
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    return proc.returncode, err


def journal(directory: Path, agent: str) -> list[tuple[str, float]]:
    return [(r["event"], r["t"]) for r in ipc.read_journal(directory / f"{agent}.jsonl")]


def test_tree_runner_journal_times_are_the_waited_durations(keeper, tmp_path):
    tree = tmp_path / "t.yaml"
    tree.write_text(FIXED_TREE)
    keeper.hold("agent:a")
    keeper.launcher_wait(ORIGIN + FAR)
    code, err = ended(tree_runner(tree, "a", tmp_path, keeper.path))
    assert (code, "Traceback" in err) == (0, False), err
    assert journal(tmp_path, "a") == [("agent_started", ORIGIN), ("tick", ORIGIN + 300),
                                      ("tick", ORIGIN + 600), ("tick", ORIGIN + 900),
                                      ("agent_stopped", ORIGIN + 900)]
    launcher_turn(keeper)                           # gone: it holds nobody up


@pytest.mark.parametrize("stop", ["SIGTERM", "keeper closed"])
def test_tree_runner_stops_cleanly_while_it_waits(keepers, tmp_path, stop):
    keeper = keepers()
    tree = tmp_path / "t.yaml"
    tree.write_text(WAIT_TREE)
    keeper.hold("agent:s")
    keeper.launcher_wait(ORIGIN + 60)
    proc = tree_runner(tree, "s", tmp_path, keeper.path)
    try:
        launcher_turn(keeper)                       # so s waits for its hour
    finally:
        if stop == "SIGTERM":
            proc.send_signal(signal.SIGTERM)
        else:
            keepers.close(keeper)
    code, err = ended(proc)
    assert (code, "Traceback" in err) == (0, False), err
    records = ipc.read_journal(tmp_path / "s.jsonl")
    assert [r["event"] for r in records] == ["agent_started", "agent_stopped"]
    assert records[-1]["reason"] == ("SIGTERM" if stop == "SIGTERM" else "clock_gone")
    assert records[-1]["t"] == ORIGIN               # its last release: time stood still for it


def test_two_runs_side_by_side_write_identical_journals(keepers, tmp_path):
    tree = tmp_path / "t.yaml"
    tree.write_text(RANDOM_TREE)
    runs = []
    for run in ("one", "two"):
        keeper = keepers(tmp_path / run / "clock.sock")
        for agent in ("a", "b"):
            keeper.hold(f"agent:{agent}")
        keeper.launcher_wait(ORIGIN + FAR)
        procs = [tree_runner(tree, agent, tmp_path / run, keeper.path, "--seed", 7) for agent in ("a", "b")]
        runs.append((keeper, procs))
    for keeper, procs in runs:
        for proc in procs:
            code, err = ended(proc)
            assert (code, "Traceback" in err) == (0, False), err
        launcher_turn(keeper)
    for agent in ("a", "b"):
        first, second = journal(tmp_path / "one", agent), journal(tmp_path / "two", agent)
        assert first == second
        ticks = [t for event, t in first if event == "tick"]
        assert len(ticks) == 6 and all(10 <= b - a <= 600 for a, b in zip([ORIGIN] + ticks, ticks))
    assert journal(tmp_path / "one", "a") != journal(tmp_path / "one", "b")
