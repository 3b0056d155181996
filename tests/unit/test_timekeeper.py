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

import threading
import time

from tests.unit.timekit import (Agent, FAR, Log, ORIGIN, QUIET, at, finish, launcher_turn, start,
                                stays_still, wait_until, working)


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
