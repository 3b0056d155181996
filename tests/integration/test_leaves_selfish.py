"""Selfish-mining leaves (MineWithheld, ReadChains, ReleaseBlocks, AdoptPublicChain,
AcknowledgeSignal) on real regtest daemons: a public one and a pool's private one, offline, with
no peers. Blocks travel between them only through the leaves; what each daemon then holds (its
top, its alternative blocks, the reorganisations in its log) is read back from the daemons.
"""
from __future__ import annotations

import pytest
from py_trees.common import Status

import ipc
from behaviours.mining import AwaitBlock, EmitMiningSignal
from behaviours.selfish import AcknowledgeSignal, AdoptPublicChain, MineWithheld, ReadChains, ReleaseBlocks
from rpc_client import JsonRpcError, to_atomic
from sim.report.daemonlog import log_files, read_daemon_log
from tests.integration.leafkit import START, agents, publish, settle_pool, tall_chain  # noqa: F401

pytestmark = pytest.mark.integration

TO = "4" + "A" * 94     # generateblocks wants an address; nothing here spends the coinbase


@pytest.fixture
def pair(supervisor):
    """(public, private) daemons, both offline, on their own fresh chains."""
    public = supervisor.start_daemon("public", wait=False)
    private = supervisor.start_daemon("pool", home="private", wait=False)
    for proc in (public, private):
        proc.wait_ready(supervisor.ready_timeout)
    yield public, private


@pytest.fixture(scope="module")
def address(chain):
    return chain.miner_address


def pool_agent(agents, public_url: str, private_url: str):
    agent = agents("pool", daemon_url=public_url)
    agent.ctx.private_daemon_url = private_url
    return agent


def run(agent, leaf, max_ticks: int = 50, timeout: float = 120.0) -> Status:
    return agent.run(agent.ready(leaf), max_ticks=max_ticks, timeout=timeout)


def look(agent) -> dict:
    assert run(agent, ReadChains(output="chains")) == Status.SUCCESS
    chains = agent.get("chains")
    assert chains["lead"] == chains["private_height"] - chains["public_height"]
    return chains


def top(rpc) -> str:
    return rpc.get_info()["top_block_hash"]


def known(rpc, block: str) -> dict | None:
    """The daemon's header of `block` (orphan_status: off its main chain), None if unknown."""
    try:
        return rpc.call("get_block_header_by_hash", {"hash": block})["block_header"]
    except JsonRpcError:
        return None


def withhold(agent, address: str, n: int) -> list[str]:
    hashes = []
    for _ in range(n):
        assert run(agent, MineWithheld(to=address, output="block")) == Status.SUCCESS
        hashes.append(agent.get("block")["hash"])
    return hashes


def reorgs(proc) -> list[int]:
    log = read_daemon_log(proc.name, log_files(proc.workdir))
    return [f.depth for f in log.forks if f.kind == "reorg" and f.ok]


def test_withhold_then_win_a_race_then_lose_a_tie_and_adopt(pair, agents, address):
    public, private = pair
    pub, prv = public.client(), private.client()
    pool = pool_agent(agents, public.url, private.url)
    pub.generateblocks(5, address)

    behind = look(pool)
    assert (behind["lead"], behind["fork_height"], behind["public_branch"], behind["private_branch"]) == (-5, 0, 5, 0)
    assert run(pool, AdoptPublicChain(chains="chains")) == Status.SUCCESS
    assert top(prv) == top(pub)
    adopted = pool.event("chain_adopted")
    assert (adopted["blocks"], adopted["from_height"], adopted["height"], adopted["abandoned"]) == (5, 1, 6, 0)
    synced = look(pool)
    assert (synced["lead"], synced["withheld"], synced["public_on_ours"], synced["branch"]) == (0, 0, True, [])

    # two blocks withheld: the public daemon knows neither
    kept = withhold(pool, address, 2)
    assert [r["hash"] for r in pool.events("block_withheld")] == kept
    assert all(known(pub, h) is None for h in kept) and top(prv) == kept[-1]
    ahead = look(pool)
    assert (ahead["lead"], ahead["withheld"], ahead["published"], ahead["matchable"]) == (2, 2, 0, 0)
    assert ahead["public_on_ours"] and [b["hash"] for b in ahead["branch"]] == kept
    assert run(pool, ReleaseBlocks(chains="chains", blocks="match")) == Status.FAILURE   # nothing at its heights
    assert pool.events("blocks_released") == []

    # an honest block: lead 1, so the pool publishes both and the public daemon reorganises
    honest = pub.generateblocks(1, address)["blocks"][0]
    race = look(pool)
    assert (race["lead"], race["public_branch"], race["matchable"], race["public_on_ours"]) == (1, 1, 1, False)
    assert run(pool, ReleaseBlocks(chains="chains", blocks="all")) == Status.SUCCESS
    assert top(pub) == kept[-1] and known(pub, honest)["orphan_status"] is True
    released = pool.event("blocks_released")
    assert (released["hashes"], released["mode"], released["lead"]) == (kept, "all", 1)
    assert reorgs(public) == [1]
    assert look(pool)["public_on_ours"] and look(pool)["lead"] == 0

    # a tie: released at once, the public daemon keeps the honest block it saw first
    mine = withhold(pool, address, 1)[0]
    first = pub.generateblocks(1, address)["blocks"][0]
    tie = look(pool)
    assert (tie["lead"], tie["public_branch"], tie["withheld"]) == (0, 1, 1)
    assert run(pool, ReleaseBlocks(chains="chains")) == Status.SUCCESS
    assert top(pub) == first and known(pub, mine)["orphan_status"] is True
    assert (look(pool)["published"], look(pool)["withheld"]) == (1, 0)

    # the honest side mines again: the pool is behind and drops its block
    second = pub.generateblocks(1, address)["blocks"][0]
    lost = look(pool)
    assert (lost["lead"], lost["public_branch"], lost["private_branch"]) == (-1, 2, 1)
    assert run(pool, AdoptPublicChain(chains="chains")) == Status.SUCCESS
    assert top(prv) == second and known(prv, mine)["orphan_status"] is True
    last = pool.events("chain_adopted")[-1]
    assert (last["blocks"], last["abandoned"]) == (2, 1)
    assert reorgs(private) == [1] and reorgs(public) == [1]


def test_far_ahead_the_pool_matches_then_overtakes(pair, agents, address):
    public, private = pair
    pub, prv = public.client(), private.client()
    pool = pool_agent(agents, public.url, private.url)
    pub.generateblocks(3, address)
    look(pool)
    assert run(pool, AdoptPublicChain()) == Status.SUCCESS
    kept = withhold(pool, address, 3)

    honest = pub.generateblocks(1, address)["blocks"][0]
    assert look(pool)["matchable"] == 1
    assert run(pool, ReleaseBlocks(blocks="match")) == Status.SUCCESS   # only the first: a tie
    assert pool.event("blocks_released")["hashes"] == kept[:1]
    assert top(pub) == honest and known(pub, kept[1]) is None

    pub.generateblocks(1, address)
    close = look(pool)
    assert (close["lead"], close["public_branch"], close["published"], close["withheld"]) == (1, 2, 1, 2)
    assert run(pool, ReleaseBlocks(blocks="all")) == Status.SUCCESS
    assert top(pub) == kept[-1] == top(prv)
    assert reorgs(public) == [2]                   # both honest blocks replaced


def test_an_acknowledged_signal_is_answered_without_a_public_block(pair, agents):
    public, private = pair
    pool = pool_agent(agents, public.url, private.url)
    ctl = agents("ctl", daemon_url=public.url, shared=pool.shared)
    publish(ctl.shared, "pool", "pool", TO, hashrate=1_000_000)
    publish(ctl.shared, "other", "pool", TO, hashrate=1)
    height = public.client().get_block_count()
    signal = ipc.write_mining_signal(ctl.shared, seq=1, pool="pool", blocks=1, issued_at=START, height=height)
    ctl.ctx.set("signal", signal)
    wait = ctl.ready(AwaitBlock(signal="signal", timeout=30))
    assert ctl.tick(wait) == Status.RUNNING

    # unanswered, the pool is passed over next time (however heavy)
    ctl.ctx.set("next", signal)
    assert run(ctl, EmitMiningSignal(output="next")) == Status.SUCCESS
    assert ctl.get("next")["pool"] == "other"

    pool.ctx.set("signal", signal)
    assert run(pool, AcknowledgeSignal(signal="signal")) == Status.SUCCESS
    assert ipc.read_signal_ack(ctl.shared, "pool")["seq"] == 1
    ctl.clock.sleep_until(ctl.clock.now() + 1)         # its next poll
    assert ctl.tick(wait) == Status.SUCCESS and ctl.events("block_late") == []
    assert public.client().get_block_count() == height

    # answered, it is not: the heavy pool is picked again
    ctl.ctx.set("next", signal)
    assert run(ctl, EmitMiningSignal(output="next")) == Status.SUCCESS
    assert ctl.get("next")["pool"] == "pool"


def test_adopting_a_block_with_a_transaction_brings_the_transaction(tall_chain, supervisor, agents):
    chain = tall_chain
    private = supervisor.start_daemon("pool", home="private")
    pool = pool_agent(agents, chain.daemon.url, private.url)
    look(pool)
    blocks = chain.rpc.get_block_count()
    assert run(pool, AdoptPublicChain(), max_ticks=3 * blocks, timeout=600) == Status.SUCCESS
    txid = chain.miner.transfer([(chain.miner_address, to_atomic("0.1"))])["tx_hash"]
    height = chain.mine_until_mined([txid])[txid]
    behind = look(pool)
    assert behind["lead"] < 0
    assert run(pool, AdoptPublicChain()) == Status.SUCCESS
    tx = private.client().get_transactions([txid])["txs"][0]
    assert tx["block_height"] == height and not tx["in_pool"]
    assert top(private.client()) == top(chain.rpc)
    settle_pool(chain)
