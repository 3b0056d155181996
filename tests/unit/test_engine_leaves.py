"""Core leaves and the Leaf base class, with a hand-made AgentContext and a virtual clock."""
import random

import pytest
from py_trees.common import Status

from behaviours.base import AgentContext, Leaf, MissingEndpoint
from behaviours.core import CheckValue, Fail, RecordEvent, SetValue, Succeed, Wait
from lang.values import BlackboardRef, make_distribution
from engine.clock import VirtualClock
from rpc_client.errors import NotEnoughMoney


@pytest.fixture
def ctx():
    clock = VirtualClock(start=1000.0)
    context = AgentContext("agent-1", clock=clock, rng=random.Random(7))
    yield context
    context.clear_blackboard()


def ready(leaf, ctx):
    leaf.setup(ctx=ctx)
    return leaf


def tick(leaf):
    leaf.tick_once()
    return leaf.status


def test_wait_runs_until_its_duration_and_asks_to_be_woken(ctx):
    wait = ready(Wait(duration=300.0), ctx)
    assert tick(wait) == Status.RUNNING
    assert ctx.next_wake == 1300.0
    ctx.clock.advance(299)
    assert tick(wait) == Status.RUNNING
    ctx.clock.advance(1)
    assert tick(wait) == Status.SUCCESS


def test_wait_redraws_its_distribution_each_start(ctx):
    wait = ready(Wait(duration=make_distribution("uniform", {"low": 1.0, "high": 100.0})), ctx)
    ends = []
    for _ in range(3):
        tick(wait)
        ends.append(wait.until - ctx.now())
        ctx.clock.advance(100)
        assert tick(wait) == Status.SUCCESS
    assert len(set(ends)) == 3 and all(1 <= e <= 100 for e in ends)


def test_succeed_and_fail(ctx):
    assert tick(ready(Succeed(), ctx)) == Status.SUCCESS
    assert tick(ready(Fail(), ctx)) == Status.FAILURE


def test_set_value_then_check_value(ctx):
    assert tick(ready(SetValue(key="tx", value={"amount": 0.5, "to": "shop"}), ctx)) == Status.SUCCESS
    assert ctx.get("tx.amount") == 0.5
    assert tick(ready(CheckValue(key="tx.amount", at_least=0.5, below=1, one_of=[0.5]), ctx)) == Status.SUCCESS
    assert tick(ready(CheckValue(key="tx.amount", above=0.5), ctx)) == Status.FAILURE
    assert tick(ready(CheckValue(key="tx.to", equals="shop", not_equals="other"), ctx)) == Status.SUCCESS
    assert tick(ready(CheckValue(key="tx.to", at_least=3), ctx)) == Status.FAILURE  # str vs int: no crash


def test_check_value_on_missing_key(ctx):
    assert tick(ready(CheckValue(key="nothing", exists=False), ctx)) == Status.SUCCESS
    assert tick(ready(CheckValue(key="nothing", exists=True), ctx)) == Status.FAILURE
    assert tick(ready(CheckValue(key="nothing", equals=1), ctx)) == Status.FAILURE


def test_set_value_copies_a_reference_and_record_event_reads_references(ctx):
    ctx.set("shop", {"address": "4Abc"})
    assert tick(ready(SetValue(key="dest", value=BlackboardRef("shop", ("address",))), ctx)) == Status.SUCCESS
    assert ctx.get("dest") == "4Abc"
    leaf = ready(RecordEvent(event="paid", fields={"to": BlackboardRef("dest"), "n": 1}), ctx)
    assert tick(leaf) == Status.SUCCESS
    assert ctx.journal.records[-1] == {"t": 1000.0, "event": "paid", "agent": "agent-1", "to": "4Abc", "n": 1}


def test_missing_reference_is_failure_and_journaled(ctx):
    leaf = ready(RecordEvent(event="paid", fields={"to": BlackboardRef("shop")}), ctx)
    assert tick(leaf) == Status.FAILURE
    record = ctx.journal.records[-1]
    assert record["event"] == "leaf_failed" and record["error"] == "KeyError"
    assert "blackboard has no 'shop'" in record["message"]


class Raises(Leaf):
    """Raises whatever `exc` is when ticked."""

    def __init__(self, exc, **kw):
        super().__init__(**kw)
        self.exc = exc

    def update(self):
        raise self.exc


def test_exception_becomes_failure_and_leaf_failed(ctx):
    leaf = ready(Raises(RuntimeError("disk full"), name="saver"), ctx)
    assert tick(leaf) == Status.FAILURE
    assert ctx.journal.records[-1] == {"t": 1000.0, "event": "leaf_failed", "agent": "agent-1", "node": "saver",
                                       "type": "Raises", "error": "RuntimeError", "message": "disk full"}


def test_rpc_error_becomes_failure_and_rpc_failed_with_code(ctx):
    leaf = ready(Raises(NotEnoughMoney(-17, "not enough money", method="transfer"), name="pay"), ctx)
    assert tick(leaf) == Status.FAILURE
    record = ctx.journal.records[-1]
    assert (record["event"], record["code"], record["method"], record["error"]) == \
        ("rpc_failed", -17, "transfer", "NotEnoughMoney")


def test_missing_endpoint_is_a_clear_failure(ctx):
    class Ask(Leaf):
        def update(self):
            self.ctx.wallet.get_balance()
            return Status.SUCCESS
    assert tick(ready(Ask(), ctx)) == Status.FAILURE
    assert "pass --wallet URL" in ctx.journal.records[-1]["message"]
    with pytest.raises(MissingEndpoint):
        ctx.daemon  # noqa: B018


def test_leaf_declarations_are_checked_when_built_by_hand():
    with pytest.raises(TypeError, match="Wait needs duration"):
        Wait()
    with pytest.raises(TypeError, match="has no parameter durration"):
        Wait(duration=1, durration=2)
    assert RecordEvent(event="e").params == {"event": "e", "fields": {}}


def test_blackboard_namespaces_are_per_agent(ctx):
    other = AgentContext("agent-2", clock=ctx.clock)
    try:
        tick(ready(SetValue(key="x", value=1), ctx))
        tick(ready(SetValue(key="x", value=2), other))
        assert (ctx.get("x"), other.get("x")) == (1, 2)
    finally:
        other.clear_blackboard()


def test_a_choice_between_references_reads_the_drawn_one(ctx):
    ctx.set("a", "from-a")
    ctx.set("b", "from-b")
    leaf = ready(SetValue(key="pick", value=make_distribution(
        "choice", {"values": [BlackboardRef("a"), BlackboardRef("b")]})), ctx)
    seen = set()
    for _ in range(20):
        assert tick(leaf) == Status.SUCCESS
        seen.add(ctx.get("pick"))
    assert seen == {"from-a", "from-b"}
