"""The lockstep clock when clients leave, the keeper stops, or real time matters (see test_timekeeper.py)."""
from __future__ import annotations

import gc
import os
import select
import socket
import stat
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path

import pytest

from engine.clock import ClockGone, LockstepClock, wire_time
from sim.local.timekeeper import TimeKeeper
from tests.unit.timekit import (Agent, BOUND, FAR, Log, ORIGIN, REPO, at, env, finish, launcher_turn,
                                start, stays_still, wait_until, working)


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
