"""Peer leaves (PublishAddress, RegisterPool, AwaitPeers, PickPeer) against real wallet-rpcs
and real shared files (the market leaves are in test_leaves_market.py)."""
import json

import pytest
from py_trees.common import Status

import ipc
from behaviours.peers import AwaitPeers, PickPeer, PublishAddress, RegisterPool, weighted_pick
from engine.runner import make_rng
from tests.integration.leafkit import (SEED, SHOP, START, agents, bare_wallet_rpc,  # noqa: F401
                                       miner_url, publish, settle_pool, shop_wallet, tall_chain)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module", autouse=True)
def _spendable(tall_chain):
    """The chain grown to leafkit.SPENDABLE_HEIGHT before the shop's wallet is used, as in
    test_leaves_market.py."""


@pytest.fixture(scope="module")
def shop(chain):
    """The marketplace's wallet: (client, address, wallet-rpc URL)."""
    yield shop_wallet(chain)
    settle_pool(chain)


# ---------------------------------------------------------------- the registry

def test_publish_address_writes_the_registry_record(shop, agents):
    client, address, url = shop
    agent = agents(SHOP, wallet_url=url, role="marketplace")
    leaf = agent.ready(PublishAddress(fields={"name": "the shop"}))
    assert agent.tick(leaf) == Status.SUCCESS

    on_disk = json.loads((agent.shared / "registry" / f"{SHOP}.json").read_text())
    assert on_disk == {"agent": SHOP, "role": "marketplace", "address": address,
                       "name": "the shop"}
    assert agent.get("address") == address
    published = agent.event("address_published")
    assert (published["role"], published["address"]) == ("marketplace", address)


def test_register_pool_publishes_its_hashrate(chain, agents):
    agent = agents("pool-a", wallet_url=miner_url(chain), role="pool")
    leaf = agent.ready(RegisterPool(hashrate=60))
    assert agent.tick(leaf) == Status.SUCCESS
    assert agent.registry.all() == [{"agent": "pool-a", "role": "pool",
                                     "address": chain.miner_address, "hashrate": 60}]
    registered = agent.event("pool_registered")
    assert (registered["hashrate"], registered["address"]) == (60, chain.miner_address)


@pytest.mark.parametrize("leaf", [PublishAddress(role="user"), RegisterPool(hashrate=1)],
                         ids=["PublishAddress", "RegisterPool"])
def test_publishing_without_a_wallet_fails_and_publishes_nothing(chain, agents, leaf):
    agent = agents("walletless", wallet_url=bare_wallet_rpc(chain).url)
    agent.ready(leaf)
    assert agent.tick(leaf) == Status.FAILURE
    failed = agent.event("rpc_failed")
    assert (failed["method"], failed["code"]) == ("get_address", -13)
    assert agent.registry.all() == []
    assert agent.events("address_published") == agent.events("pool_registered") == []


# ---------------------------------------------------------------- AwaitPeers / PickPeer

def test_await_peers_waits_for_enough_of_a_role(shop, agents):
    _, address, _ = shop
    agent = agents("ctl")
    leaf = agent.ready(AwaitPeers(role="user", count=2, poll=3.0, output="users"))
    publish(agent.shared, "user-b", "user", address)
    publish(agent.shared, "shop-x", "marketplace", address)

    assert agent.run(leaf, max_ticks=3) == Status.RUNNING
    assert agent.clock.now() == START + 9
    assert leaf.feedback_message == "waiting for 2 agents of role user: 1"
    publish(agent.shared, "user-a", "user", address)
    assert agent.tick(leaf) == Status.SUCCESS
    assert [p["agent"] for p in agent.get("users")] == ["user-a", "user-b"]


def test_await_peers_says_why_it_waits_and_gives_up_at_its_timeout(shop, agents):
    _, address, _ = shop
    agent = agents("ctl")
    leaf = agent.ready(AwaitPeers(role="pool", count=2, poll=1.0, timeout=10.0,
                                  report_every=4.0))
    publish(agent.shared, "pool-a", "pool", address)

    assert agent.run(leaf, max_ticks=30) == Status.FAILURE
    assert agent.clock.now() == START + 10                       # the timeout, not a poll later
    waiting = agent.events("waiting")
    assert [(w["t"] - START, w["have"], w["waiting_for"]) for w in waiting] == [
        (4.0, 1, "2 agents of role pool"), (8.0, 1, "2 agents of role pool")]
    gave_up = agent.event("wait_timed_out")
    assert (gave_up["t"] - START, gave_up["waited"], gave_up["have"]) == (10.0, 10.0, 1)


@pytest.fixture
def shops(tmp_path, shop):
    """Three shops and the picking user itself registered as a marketplace too."""
    shared = tmp_path / "shared"
    _, address, _ = shop
    for agent_id, weight in (("shop-a", 1), ("shop-b", 0), ("shop-c", 3), ("user-1", 50)):
        publish(shared, agent_id, "marketplace", address, weight=weight)
    return ipc.Registry(shared).all(role="marketplace")


def picks(agent, leaf, n: int) -> list[str]:
    out = []
    for _ in range(n):
        assert agent.tick(leaf) == Status.SUCCESS
        out.append(agent.get("shop")["agent"])
    return out


def test_pick_peer_random_is_the_seeded_uniform_choice(shops, agents):
    agent = agents("user-1")
    got = picks(agent, agent.ready(PickPeer(role="marketplace", output="shop")), 30)
    others = [s for s in shops if s["agent"] != "user-1"]
    rng = make_rng(SEED, "user-1")
    assert got == [rng.choice(others)["agent"] for _ in got]
    assert set(got) == {"shop-a", "shop-b", "shop-c"}                # never itself


def test_pick_peer_weighted_follows_the_weight_field(shops, agents):
    agent = agents("user-1")
    got = picks(agent, agent.ready(PickPeer(role="marketplace", strategy="weighted",
                                            output="shop")), 40)
    rng = make_rng(SEED, "user-1")
    others = [s for s in shops if s["agent"] != "user-1"]
    assert got == [weighted_pick(rng, others, "weight")["agent"] for _ in got]
    assert "shop-b" not in got                                       # weight 0
    assert got.count("shop-c") > got.count("shop-a") > 0


def test_pick_peer_round_robin_goes_in_id_order(shops, agents):
    agent = agents("user-1")
    leaf = agent.ready(PickPeer(role="marketplace", strategy="round_robin", output="shop"))
    assert picks(agent, leaf, 7) == ["shop-a", "shop-b", "shop-c"] * 2 + ["shop-a"]
    again = agents("user-1", shared=agent.shared)
    assert again.ctx.rng.random() == agent.ctx.rng.random()          # RNG untouched
    with_self = agent.ready(PickPeer(role="marketplace", strategy="round_robin",
                                     exclude_self=False, output="mine"))
    assert [agent.tick(with_self) and agent.get("mine")["agent"] for _ in range(4)] == \
        ["shop-a", "shop-b", "shop-c", "user-1"]


def test_pick_peer_fails_when_nobody_else_is_registered(shop, agents):
    _, address, _ = shop
    agent = agents("user-1")
    leaf = agent.ready(PickPeer(role="marketplace", output="shop"))
    assert agent.tick(leaf) == Status.FAILURE                        # no registry at all
    publish(agent.shared, "user-1", "marketplace", address)
    assert agent.tick(leaf) == Status.FAILURE                        # only itself
    assert leaf.feedback_message == "no marketplace registered"
    with pytest.raises(KeyError):
        agent.get("shop")
