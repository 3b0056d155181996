"""Daemon leaves (WaitForDaemon, AwaitHeight) against a real regtest monerod."""
import pytest
from py_trees.common import Status

from behaviours.daemon import AwaitHeight, WaitForDaemon
from sim.local.processes import free_port
from tests.integration.leafkit import START, agents, bare_wallet_rpc  # noqa: F401 (fixture)

pytestmark = pytest.mark.integration


def test_wait_for_daemon_succeeds_at_once_when_the_daemon_answers(chain, agents):
    agent = agents("ctl", daemon_url=chain.daemon.url)
    leaf = agent.ready(WaitForDaemon(output="info"))
    assert agent.tick(leaf) == Status.SUCCESS
    info = agent.get("info")
    assert info["nettype"] == "fakechain"
    assert info["height"] == chain.rpc.get_block_count()
    assert agent.events("daemon_waiting") == []


def test_wait_for_daemon_waits_for_a_daemon_that_starts_later(supervisor, agents):
    port = free_port()
    agent = agents("late", daemon_url=f"http://127.0.0.1:{port}")
    leaf = agent.ready(WaitForDaemon(output="info"))   # default poll: 1s

    assert agent.tick(leaf) == Status.RUNNING
    assert agent.ctx.next_wake == START + 1          # polls on the engine clock
    agent.clock.sleep_until(agent.ctx.next_wake)
    assert agent.tick(leaf) == Status.RUNNING
    waiting = agent.events("daemon_waiting")
    assert [w["error"] for w in waiting] == ["ConnectionFailed"]   # journaled once, not per poll

    daemon = supervisor.start_daemon("late", rpc_port=port)
    assert agent.tick(leaf) == Status.SUCCESS
    assert agent.get("info")["height"] == daemon.client().get_block_count() == 1
    assert len(agent.events("daemon_waiting")) == 1
    assert agent.events("rpc_failed") == []


def test_wait_for_daemon_fails_on_an_rpc_error_other_than_no_answer(chain, agents):
    # A wallet-rpc answers, but has no get_info: that is not "daemon not up yet".
    agent = agents("ctl", daemon_url=bare_wallet_rpc(chain).url)
    leaf = agent.ready(WaitForDaemon(output="info"))
    assert agent.tick(leaf) == Status.FAILURE
    failed = agent.event("rpc_failed")
    assert (failed["method"], failed["code"], failed["type"]) == ("get_info", -32601, "WaitForDaemon")
    assert agent.events("daemon_waiting") == []


def test_await_height_succeeds_at_once_when_the_chain_is_tall_enough(chain, agents):
    count = chain.rpc.get_block_count()
    agent = agents("pool", daemon_url=chain.daemon.url)
    leaf = agent.ready(AwaitHeight(height=count, output="count"))
    assert agent.tick(leaf) == Status.SUCCESS
    assert agent.get("count") == count


def test_await_height_runs_until_the_blocks_are_mined(chain, agents):
    count = chain.rpc.get_block_count()
    agent = agents("pool", daemon_url=chain.daemon.url)
    leaf = agent.ready(AwaitHeight(height=count + 2, poll=5.0, output="count"))

    assert agent.run(leaf, max_ticks=3) == Status.RUNNING
    assert agent.clock.now() == START + 15            # three polls, 5 s apart
    assert leaf.feedback_message == f"waiting for {count + 2} blocks: {count}"
    chain.mine(1)
    assert agent.tick(leaf) == Status.RUNNING
    chain.mine(1)
    assert agent.tick(leaf) == Status.SUCCESS
    assert agent.get("count") == count + 2 == chain.rpc.get_block_count()


def test_await_height_fails_when_the_daemon_is_gone(agents):
    agent = agents("pool", daemon_url=f"http://127.0.0.1:{free_port()}")
    leaf = agent.ready(AwaitHeight(height=1))
    assert agent.tick(leaf) == Status.FAILURE
    failed = agent.event("rpc_failed")
    assert (failed["method"], failed["error"], failed["code"]) == \
        ("get_block_count", "ConnectionFailed", None)


def test_await_height_fails_on_a_json_rpc_error(chain, agents):
    agent = agents("pool", daemon_url=bare_wallet_rpc(chain).url)
    leaf = agent.ready(AwaitHeight(height=1))
    assert agent.tick(leaf) == Status.FAILURE
    assert (agent.event("rpc_failed")["code"], agent.event("rpc_failed")["method"]) == \
        (-32601, "get_block_count")
