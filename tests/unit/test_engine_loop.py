"""The tick loop on the virtual clock: event-driven waking, clock-aware decorators, seeded
determinism, failures that do not kill the agent, stop and shutdown."""
import textwrap
from pathlib import Path

import pytest
from py_trees.common import Status

import ipc
from behaviours.base import AgentContext
from engine import runner as runner_module
from engine.clock import SHADOW_EPOCH, VirtualClock
from engine import Factory
from engine.runner import make_rng

REPO = Path(__file__).resolve().parents[2]


def make_agent(tmp_path, text, *, agent_id="a1", seed=1, factory=None, journal=None, idle=5.0, params=None):
    path = tmp_path / "tree.yaml"
    path.write_text(textwrap.dedent(text))
    factory = factory or Factory.for_plugins()
    tree = factory.load(path, params)
    clock = VirtualClock()
    ctx = AgentContext(agent_id, clock=clock, rng=make_rng(seed, agent_id), journal=journal)
    return factory.agent(tree, ctx, clock, idle=idle, seed=seed)


@pytest.fixture(autouse=True)
def clean_blackboard():
    yield
    import py_trees
    py_trees.blackboard.Blackboard.storage.clear()
    py_trees.blackboard.Blackboard.metadata.clear()
    py_trees.blackboard.Blackboard.clients.clear()


def events(agent):
    return [r["event"] for r in agent.ctx.journal.records]


def test_five_minute_wait_costs_at_most_three_ticks(tmp_path):
    agent = make_agent(tmp_path, "root:\n  Wait: {duration: 5m}\n")
    assert agent.run() == Status.SUCCESS
    assert agent.ticks <= 3
    assert agent.clock.now() == SHADOW_EPOCH + 300


def test_running_leaf_without_wake_sleeps_the_idle_period(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(REPO / "tests" / "engine"))
    plugins = Factory.for_plugins(["plugin_leaves"], entry_points=False)
    agent = make_agent(tmp_path, "root:\n  ShutdownProbe: {}\n", factory=plugins, idle=7.0)
    agent.run(until=SHADOW_EPOCH + 70)
    assert agent.ticks == 11 and agent.stop_reason == "until"


def test_timeout_fires_at_its_deadline_while_child_sleeps(tmp_path):
    agent = make_agent(tmp_path, "root:\n  Timeout:\n    after: 1m\n    child: {Wait: {duration: 1h}}\n")
    assert agent.run() == Status.FAILURE
    assert agent.clock.now() == SHADOW_EPOCH + 60
    assert agent.ticks == 2


def test_timeout_passes_child_result_when_in_time(tmp_path):
    agent = make_agent(tmp_path, "root:\n  Timeout:\n    after: 1h\n    child: {Wait: {duration: 1m}}\n")
    assert agent.run() == Status.SUCCESS
    assert agent.clock.now() == SHADOW_EPOCH + 60


def test_retry_waits_its_delay_between_attempts(tmp_path):
    agent = make_agent(tmp_path, """\
        root:
          Retry:
            attempts: 3
            delay: 10s
            child: {RecordEvent: {event: attempt}}
        """)
    assert agent.run() == Status.SUCCESS
    assert events(agent).count("attempt") == 1
    agent = make_agent(tmp_path, """\
        root:
          Retry:
            attempts: 3
            delay: 10s
            child:
              Sequence:
                children: [{RecordEvent: {event: attempt}}, {Fail: }]
        """)
    assert agent.run() == Status.FAILURE
    times = [r["t"] - SHADOW_EPOCH for r in agent.ctx.journal.records if r["event"] == "attempt"]
    assert times == [0, 10, 20]


def test_repeat_counts_successes_and_stops_on_failure(tmp_path):
    agent = make_agent(tmp_path, """\
        root:
          Repeat:
            times: 4
            child: {Sequence: {children: [{Wait: {duration: 1s}}, {RecordEvent: {event: beat}}]}}
        """)
    assert agent.run() == Status.SUCCESS
    assert events(agent).count("beat") == 4 and agent.clock.now() == SHADOW_EPOCH + 4
    agent = make_agent(tmp_path, "root:\n  Repeat: {child: {Fail: }}\n")
    assert agent.run() == Status.FAILURE and agent.ticks == 1


def test_rate_limit_waits_for_the_next_slot(tmp_path):
    agent = make_agent(tmp_path, """\
        root:
          Repeat:
            times: 3
            child:
              RateLimit: {every: 30s, child: {RecordEvent: {event: go}}}
        """)
    assert agent.run() == Status.SUCCESS
    times = [r["t"] - SHADOW_EPOCH for r in agent.ctx.journal.records if r["event"] == "go"]
    assert times == [0, 30, 60]


def test_rate_limit_fail_mode_skips(tmp_path):
    agent = make_agent(tmp_path, """\
        root:
          Sequence:
            children:
              - RateLimit: {every: 1m, when_limited: fail, child: {RecordEvent: {event: first}}}
        """)
    rl = agent.root.children[0]
    assert agent.tick() == Status.SUCCESS
    rl.status = Status.INVALID
    agent.clock.advance(30)
    assert agent.tick() == Status.FAILURE
    agent.clock.advance(30)
    assert agent.tick() == Status.SUCCESS
    assert events(agent).count("first") == 2


def test_once_runs_child_until_success_then_bounces(tmp_path):
    agent = make_agent(tmp_path, """\
        root:
          Repeat:
            times: 3
            child:
              Once:
                child: {RecordEvent: {event: boot}}
        """)
    assert agent.run() == Status.SUCCESS
    assert events(agent).count("boot") == 1


def test_a_leaf_that_raises_fails_and_the_agent_lives(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(REPO / "tests" / "engine"))
    plugins = Factory.for_plugins(["plugin_leaves"], entry_points=False)
    agent = make_agent(tmp_path, """\
        root:
          Selector:
            children:
              - Explode: {name: bomb}
              - RecordEvent: {event: survived}
        """, factory=plugins)
    assert agent.run() == Status.SUCCESS
    failed = [r for r in agent.ctx.journal.records if r["event"] == "leaf_failed"]
    assert failed and failed[0]["node"] == "bomb" and failed[0]["message"] == "boom"
    assert events(agent)[-2:] == ["survived", "agent_stopped"]


def test_busy_tree_never_spins_without_sleeping(tmp_path):
    agent = make_agent(tmp_path, "root:\n  Repeat: {child: {Succeed: }}\n")
    agent.run(max_ticks=runner_module.BUSY_LIMIT + 50)
    assert agent.clock.sleeps >= 50
    assert agent.clock.now() > SHADOW_EPOCH


def test_journal_brackets_the_run_and_shutdown_runs_hooks(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(REPO / "tests" / "engine"))
    plugins = Factory.for_plugins(["plugin_leaves"], entry_points=False)
    path = ipc.journal_path(tmp_path / "journals", "a1")
    journal = ipc.JournalWriter(path, clock=lambda: 0.0, agent="a1")
    agent = make_agent(tmp_path, "root:\n  ShutdownProbe: {label: x}\n", factory=plugins, journal=journal)
    agent.run(max_ticks=3)
    records = ipc.read_journal(path)
    assert [r["event"] for r in records] == ["agent_started", "agent_stopped", "probe_shutdown"]
    assert records[1]["reason"] == "max_ticks" and records[1]["ticks"] == 3
    assert journal.closed


def run_user_like(seed, agent_id="user-1", hours=24):
    factory = Factory.for_plugins()
    tree = factory.load(REPO / "tests" / "trees" / "valid" / "user-like.yaml")
    clock = VirtualClock()
    ctx = AgentContext(agent_id, clock=clock, rng=make_rng(seed, agent_id))
    agent = factory.agent(tree, ctx, clock, seed=seed)
    try:
        agent.run(until=SHADOW_EPOCH + hours * 3600)
    finally:
        ctx.clear_blackboard()
    return ctx.journal.records, agent


def test_same_seed_same_journal_different_seed_different():
    first, agent = run_user_like(42)
    second, _ = run_user_like(42)
    other, _ = run_user_like(43)
    payments = [r for r in first if r["event"] == "payment"]
    assert len(payments) > 100            # mean 5 min over a day: ~288
    assert first == second
    assert [r["t"] for r in other] != [r["t"] for r in first]
    assert {r["order"] for r in payments} == {"a", "b", "c"}
    assert all(0.01 <= r["amount"] <= 0.2 for r in payments)
    assert agent.ticks < 3 * len(payments) + 10   # event-driven: about two ticks per payment


def test_rng_depends_on_seed_and_agent_only():
    assert make_rng(1, "a").random() == make_rng(1, "a").random()
    assert make_rng(1, "a").random() != make_rng(1, "b").random()
    assert make_rng(1, "a").random() != make_rng(2, "a").random()
