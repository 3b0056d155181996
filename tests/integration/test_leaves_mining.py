"""Controller and pool leaves (Bootstrap, EmitMiningSignal, AwaitBlock, AwaitMiningSignal,
GenerateBlocks) against the real regtest daemon; coinbase owners checked in real wallets."""
import py_trees
import pytest
from py_trees.common import Status

import ipc
from behaviours.mining import (AwaitBlock, AwaitMiningSignal, Bootstrap, EmitMiningSignal,
                               GenerateBlocks)
from behaviours.peers import weighted_pick
from engine.runner import make_rng
from tests.integration.leafkit import (SEED, START, agents, bare_wallet_rpc,  # noqa: F401
                                       publish, settle_pool, wallet)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def pools(chain):
    """Two pool addresses whose coinbase we can see: the miner's wallet and one of its own."""
    client, address = wallet(chain, "lk-pool")
    yield {"pool-a": (chain.miner, chain.miner_address), "pool-b": (client, address)}
    settle_pool(chain)


def coinbase_heights(client, first: int, last: int) -> set[int]:
    """Heights in [first, last] whose coinbase paid `client`'s wallet."""
    client.refresh()
    found = client.get_transfers(incoming=True, min_height=first - 1, max_height=last)["in"]
    return {t["height"] for t in found if t["type"] == "block"}


def register(shared, pools, hashrates: dict) -> None:
    for agent_id, hashrate in hashrates.items():
        publish(shared, agent_id, "pool", pools[agent_id][1], hashrate=hashrate)


# ---------------------------------------------------------------- Bootstrap

def test_bootstrap_mines_to_the_pools_interleaved_by_hashrate(chain, pools, agents):
    ctl = agents("ctl", daemon_url=chain.daemon.url)
    register(ctl.shared, pools, {"pool-a": 1, "pool-b": 2})
    first = chain.rpc.get_block_count()
    leaf = ctl.ready(Bootstrap(blocks=first + 9, chunk=5))

    assert ctl.run(leaf, max_ticks=20) == Status.SUCCESS
    assert chain.rpc.get_block_count() == first + 9
    mined = ctl.events("bootstrap_mined")
    # smooth weighted round robin 1:2 → b a b b a b b a b; runs of one pool share a call
    assert [(m["pool"], m["blocks"]) for m in mined] == [
        ("pool-b", 1), ("pool-a", 1), ("pool-b", 2), ("pool-a", 1), ("pool-b", 2),
        ("pool-a", 1), ("pool-b", 1)]
    assert [m["height"] for m in mined] == [first + i for i in (0, 1, 3, 4, 6, 7, 8)]
    assert ctl.ticks == 1 + len(mined)                  # one RPC per tick: count, then each call

    # the coinbase of every block went to the pool the plan named, in proportion 1:2
    last = first + 8
    owners = {h: "a" for h in coinbase_heights(pools["pool-a"][0], first, last)}
    owners.update({h: "b" for h in coinbase_heights(pools["pool-b"][0], first, last)})
    assert "".join(owners.get(h, "?") for h in range(first, last + 1)) == "babbabbab"


def test_bootstrap_on_a_tall_chain_succeeds_without_mining(chain, pools, agents):
    ctl = agents("ctl", daemon_url=chain.daemon.url)
    register(ctl.shared, pools, {"pool-a": 1})
    count = chain.rpc.get_block_count()
    leaf = ctl.ready(Bootstrap(blocks=count))
    assert ctl.tick(leaf) == Status.SUCCESS
    assert chain.rpc.get_block_count() == count
    assert ctl.events() == []


def test_bootstrap_without_pools_fails_without_mining(chain, agents):
    ctl = agents("ctl", daemon_url=chain.daemon.url)
    count = chain.rpc.get_block_count()
    leaf = ctl.ready(Bootstrap(blocks=count + 5))
    assert ctl.tick(leaf) == Status.FAILURE
    assert leaf.feedback_message == "no pool registered"
    assert chain.rpc.get_block_count() == count
    assert ctl.events() == []


# ---------------------------------------------------------------- EmitMiningSignal

def test_emit_mining_signal_writes_numbered_hashrate_weighted_signals(chain, pools, agents):
    ctl = agents("ctl", daemon_url=chain.daemon.url)
    register(ctl.shared, pools, {"pool-a": 1, "pool-b": 3})
    ipc.write_mining_signal(ctl.shared, seq=41, pool="pool-a", blocks=1, issued_at=0.0)
    height = chain.rpc.get_block_count()

    picks = []
    for i in range(40):
        ctl.ctx.clear_blackboard()                       # no previous signal: a free pick
        ctl.clock.advance(7)
        leaf = ctl.ready(EmitMiningSignal(blocks=2))
        assert ctl.tick(leaf) == Status.SUCCESS
        signal = ipc.read_mining_signal(ctl.shared)
        assert signal == ctl.get("signal")
        assert (signal["seq"], signal["blocks"], signal["height"], signal["issued_at"]) == \
            (42 + i, 2, height, ctl.clock.now())
        picks.append(signal["pool"])

    issued = ctl.events("signal_issued")
    assert [(s["seq"], s["pool"]) for s in issued] == list(zip(range(42, 82), picks))
    # the agent's seeded RNG, weighted by hashrate: the same picks every run
    rng = make_rng(SEED, "ctl")
    records = ipc.Registry(ctl.shared).all(role="pool")
    assert picks == [weighted_pick(rng, records, "hashrate")["agent"] for _ in picks]
    assert picks.count("pool-b") > 2 * picks.count("pool-a") > 0


def test_emit_mining_signal_passes_over_a_late_pool(chain, pools, agents):
    ctl = agents("ctl", daemon_url=chain.daemon.url)
    register(ctl.shared, pools, {"pool-a": 1, "pool-b": 1000})
    leaf = ctl.ready(EmitMiningSignal())

    assert ctl.tick(leaf) == Status.SUCCESS
    first = ctl.get("signal")
    for _ in range(6):                                   # no block came: never the same pool twice
        previous = ctl.get("signal")["pool"]
        assert ctl.tick(leaf) == Status.SUCCESS
        assert ctl.get("signal")["pool"] != previous
    assert ctl.get("signal")["seq"] == first["seq"] + 6

    # once the signalled block exists, the heavy pool is picked again freely
    picks = []
    for _ in range(4):
        chain.mine(1)
        assert ctl.tick(leaf) == Status.SUCCESS
        picks.append(ctl.get("signal")["pool"])
    assert picks == ["pool-b"] * 4                       # 1000:1, nobody excluded


def test_emit_mining_signal_keeps_a_lone_late_pool(chain, pools, agents):
    ctl = agents("ctl", daemon_url=chain.daemon.url)
    register(ctl.shared, pools, {"pool-b": 5})
    leaf = ctl.ready(EmitMiningSignal())
    assert ctl.tick(leaf) == Status.SUCCESS
    assert ctl.tick(leaf) == Status.SUCCESS              # late, but there is no other
    assert [s["pool"] for s in ctl.events("signal_issued")] == ["pool-b", "pool-b"]


def test_emit_mining_signal_without_pools_fails_and_writes_nothing(chain, agents):
    ctl = agents("ctl", daemon_url=chain.daemon.url)
    leaf = ctl.ready(EmitMiningSignal())
    assert ctl.tick(leaf) == Status.FAILURE
    assert ipc.read_mining_signal(ctl.shared) is None
    assert ctl.events() == []


# ---------------------------------------------------------------- AwaitBlock

def test_await_block_succeeds_once_the_signalled_blocks_exist(chain, pools, agents):
    ctl = agents("ctl", daemon_url=chain.daemon.url)
    register(ctl.shared, pools, {"pool-a": 1})
    ctl.run(ctl.ready(EmitMiningSignal(blocks=2)))
    wait = ctl.ready(AwaitBlock(timeout=30.0, poll=2.0))

    assert ctl.tick(wait) == Status.RUNNING
    assert ctl.ctx.next_wake == START + 2
    chain.mine(1)
    assert ctl.run(wait, max_ticks=2) == Status.RUNNING  # one of two
    chain.mine(1)
    assert ctl.tick(wait) == Status.SUCCESS
    assert ctl.events("block_late") == []


def test_await_block_times_out_with_block_late(chain, pools, agents):
    ctl = agents("ctl", daemon_url=chain.daemon.url)
    register(ctl.shared, pools, {"pool-b": 1})
    ctl.run(ctl.ready(EmitMiningSignal()))
    signal = ctl.get("signal")
    wait = ctl.ready(AwaitBlock(timeout=30.0, poll=4.0))

    assert ctl.run(wait, max_ticks=20) == Status.FAILURE
    assert ctl.clock.now() == START + 30                 # woken at the deadline, not past it
    assert ctl.ticks == 1 + 9                            # polls at 0,4,…,28 then the deadline
    late = ctl.event("block_late")
    assert (late["seq"], late["pool"]) == (signal["seq"], "pool-b")
    assert chain.rpc.get_block_count() == signal["height"]


# ---------------------------------------------------------------- pools: signal → blocks

def pool_tree(address: str):
    """The pool tree's mining step: await my signal, then mine what it asks to my address."""
    return py_trees.composites.Sequence("mine on signal", memory=True, children=[
        AwaitMiningSignal(output="signal", poll=0.5),
        GenerateBlocks(to=address, signal="signal")])


def test_a_pool_mines_on_its_own_signal_only(chain, pools, agents):
    a = agents("pool-a", daemon_url=chain.daemon.url)
    b = agents("pool-b", daemon_url=chain.daemon.url, shared=a.shared)
    tree_a, tree_b = a.ready(pool_tree(pools["pool-a"][1])), b.ready(pool_tree(pools["pool-b"][1]))
    count = chain.rpc.get_block_count()

    for agent, tree in ((a, tree_a), (b, tree_b)):       # no signal yet
        assert agent.tick(tree) == Status.RUNNING
        assert agent.ctx.next_wake == START + 0.5
    ipc.write_mining_signal(a.shared, seq=7, pool="pool-b", blocks=2, issued_at=START,
                            height=count)
    assert a.tick(tree_a) == Status.RUNNING              # not addressed to pool-a
    assert b.tick(tree_b) == Status.SUCCESS              # signal, then generateblocks
    assert a.tick(tree_a) == Status.RUNNING
    assert chain.rpc.get_block_count() == count + 2

    mined = b.event("block_mined")
    assert (mined["seq"], mined["blocks"], mined["height"]) == (7, 2, count + 1)
    assert chain.rpc.get_block_header_by_height(count + 1)["hash"] == mined["hash"]
    assert coinbase_heights(pools["pool-b"][0], count, count + 1) == {count, count + 1}
    assert a.events() == []

    assert b.tick(tree_b) == Status.RUNNING              # seq 7 is handled: no second time
    assert chain.rpc.get_block_count() == count + 2
    ipc.write_mining_signal(a.shared, seq=8, pool="pool-a", blocks=1, issued_at=START,
                            height=count + 2)
    assert b.tick(tree_b) == Status.RUNNING
    assert a.tick(tree_a) == Status.SUCCESS
    assert (a.event("block_mined")["seq"], a.event("block_mined")["height"]) == (8, count + 2)
    assert coinbase_heights(pools["pool-a"][0], count + 2, count + 2) == {count + 2}
    assert len(b.events("block_mined")) == 1


def test_generate_blocks_without_a_signal_mines_its_own_count(chain, pools, agents):
    pool = agents("pool-b", daemon_url=chain.daemon.url)
    count = chain.rpc.get_block_count()
    leaf = pool.ready(GenerateBlocks(to=pools["pool-b"][1], blocks=3))
    assert pool.tick(leaf) == Status.SUCCESS
    mined = pool.event("block_mined")
    assert (mined["seq"], mined["blocks"], mined["height"]) == (None, 3, count + 2)
    assert chain.rpc.get_last_block_header()["hash"] == mined["hash"]


def test_generate_blocks_to_a_subaddress_fails_with_the_daemon_code(chain, pools, agents):
    sub = pools["pool-b"][0].create_address()["address"]
    pool = agents("pool-b", daemon_url=chain.daemon.url)
    count = chain.rpc.get_block_count()
    leaf = pool.ready(GenerateBlocks(to=sub))
    assert pool.tick(leaf) == Status.FAILURE
    failed = pool.event("rpc_failed")
    assert (failed["method"], failed["code"]) == ("generateblocks", -12)
    assert pool.events("block_mined") == []
    assert chain.rpc.get_block_count() == count


# ---------------------------------------------------------------- daemon RPC errors

@pytest.mark.parametrize("make, method", [
    (lambda: Bootstrap(blocks=10_000), "get_block_count"),
    (lambda: EmitMiningSignal(), "get_block_count"),
    (lambda: AwaitBlock(), "get_block_count"),
    (lambda: GenerateBlocks(to="{address}"), "generateblocks"),
], ids=["Bootstrap", "EmitMiningSignal", "AwaitBlock", "GenerateBlocks"])
def test_mining_leaves_fail_with_the_rpc_code(chain, pools, agents, make, method):
    # The "daemon" is a wallet-rpc: it answers, without these methods (-32601).
    ctl = agents("ctl", daemon_url=bare_wallet_rpc(chain).url)
    register(ctl.shared, pools, {"pool-a": 1})
    ctl.ctx.set("signal", {"seq": 1, "pool": "pool-a", "blocks": 1, "height": 1})
    ctl.ctx.set("address", pools["pool-a"][1])
    leaf = ctl.ready(make())
    assert ctl.tick(leaf) == Status.FAILURE
    failed = ctl.event("rpc_failed")
    assert (failed["method"], failed["code"], failed["type"]) == (method, -32601, leaf.type_name())
    assert ipc.read_mining_signal(ctl.shared) is None


def test_a_race_tells_two_pools_who_mine_at_the_same_instant(chain, pools, agents):
    """`race: 2`: every `race_every`-th signal names two different pools; each waits for the
    signal's `at` and mines then (on one shared daemon here: one block lands on top of the
    other; with a daemon each, the network forks)."""
    ctl = agents("ctl", daemon_url=chain.daemon.url)
    register(ctl.shared, pools, {"pool-a": 1, "pool-b": 1})
    ipc.write_mining_signal(ctl.shared, seq=5, pool="pool-a", blocks=1, issued_at=0.0)
    leaf = ctl.ready(EmitMiningSignal(race=2, race_every=2, race_lead=3.0))
    assert ctl.tick(leaf) == Status.SUCCESS                   # seq 6: a race
    race = ipc.read_mining_signal(ctl.shared)
    assert race["seq"] == 6 and {race["pool"], *race["rivals"]} == {"pool-a", "pool-b"}
    assert race["at"] == pytest.approx(ctl.clock.now() + 3.0)
    assert ctl.event("signal_issued")["rivals"] == race["rivals"]

    a = agents("pool-a", daemon_url=chain.daemon.url, shared=ctl.shared)
    b = agents("pool-b", daemon_url=chain.daemon.url, shared=ctl.shared)
    for agent in (a, b):
        agent.clock.advance(ctl.clock.now() - agent.clock.now() + 1.0)   # they see it 1 s later
    tree_a, tree_b = a.ready(pool_tree(pools["pool-a"][1])), b.ready(pool_tree(pools["pool-b"][1]))
    count = chain.rpc.get_block_count()
    assert a.tick(tree_a) == Status.RUNNING and b.tick(tree_b) == Status.RUNNING
    assert a.ctx.next_wake == b.ctx.next_wake == race["at"]   # both mine at the race's instant
    assert chain.rpc.get_block_count() == count               # nothing mined before it
    for agent, tree in ((a, tree_a), (b, tree_b)):
        agent.clock.sleep_until(race["at"])
        assert agent.tick(tree) == Status.SUCCESS
    assert chain.rpc.get_block_count() == count + 2
    assert a.event("block_mined")["seq"] == b.event("block_mined")["seq"] == 6

    ctl.clock.advance(10)
    ctl.ctx.clear_blackboard()
    assert ctl.tick(ctl.ready(EmitMiningSignal(race=2, race_every=2))) == Status.SUCCESS
    single = ipc.read_mining_signal(ctl.shared)               # seq 7: not a race
    assert single["seq"] == 7 and "rivals" not in single and "at" not in single
