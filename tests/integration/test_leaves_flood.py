"""Flood leaves (SendSpam, MempoolStats, BlockStats) against a real wallet-rpc and the real
daemon's pool and blocks: fees by priority, outputs running out, readings checked against the
daemon's own answers."""
import pytest
from py_trees.common import Status

from behaviours.flood import BlockStats, MempoolStats, SendSpam, daemon_name
from rpc_client import to_atomic
from sim.local.processes import free_port
from tests.integration.leafkit import (LeafAgent, agents, settle_pool,  # noqa: F401
                                       tall_chain, wallet, wallet_url)

pytestmark = pytest.mark.integration

OUTPUTS = 6           # the spammer's unlocked outputs: six spam transactions, the seventh fails


@pytest.fixture(scope="module")
def spammer(tall_chain):
    """A wallet holding exactly OUTPUTS unlocked outputs of 0.05 XMR, nothing else (a fee at
    priority 3 is ~0.03 XMR on this young chain)."""
    chain = tall_chain
    client, address = wallet(chain, "lk-spammer")
    chain.miner.transfer([(address, to_atomic("0.05"))] * OUTPUTS)
    chain.mine(11)                               # mined, then unlocked 10 blocks later
    client.refresh()
    balance = client.get_balance()
    assert balance["unlocked_balance"] == OUTPUTS * to_atomic("0.05"), balance
    yield client, address, wallet_url(chain, "lk-spammer")
    settle_pool(chain)


@pytest.fixture(scope="module")
def flood(chain, spammer, tmp_path_factory):
    """The spammer's OUTPUTS spam transactions (priorities 1, 1, 1, 3, 3, 2), then one more
    (refused), and its journal."""
    settle_pool(chain)
    _, address, url = spammer
    agent = LeafAgent("spammer", tmp_path_factory.mktemp("flood"), wallet_url=url)
    statuses = []
    for priority in (1, 1, 1, 3, 3, 2, 1):
        leaf = agent.ready(SendSpam(to=address, amount=0.0001, priority=priority, output="spam"))
        statuses.append(agent.run(leaf))
    yield agent, statuses
    agent.close()


def test_send_spam_sends_one_transaction_per_output_into_the_pool(chain, flood):
    agent, statuses = flood
    assert statuses == [Status.SUCCESS] * OUTPUTS + [Status.FAILURE]
    sent = agent.events("spam_sent")
    assert [s["priority"] for s in sent] == [1, 1, 1, 3, 3, 2]
    assert {s["amount"] for s in sent} == {to_atomic("0.0001")}
    assert agent.get("spam") == {k: sent[-1][k] for k in ("txid", "amount", "fee", "weight", "priority")}
    txs = chain.rpc.get_transactions([s["txid"] for s in sent])["txs"]
    assert len(txs) == OUTPUTS and all(tx["in_pool"] for tx in txs)
    for s in sent:                               # one input, two outputs: about 1.5 kB
        assert 1400 <= s["weight"] <= 1700, s


def test_send_spam_fees_follow_the_priority(flood):
    agent, _ = flood
    per_byte = {}
    for s in agent.events("spam_sent"):
        per_byte.setdefault(s["priority"], set()).add(round(s["fee"] / s["weight"], -4))
    assert len(per_byte[1]) == 1 and len(per_byte[3]) == 1   # one fee level per priority
    low, normal, high = (min(per_byte[p]) for p in (1, 2, 3))
    assert 3 * low < normal < 5 * low and 12 * low < high < 20 * low     # ×4 and ×16 measured


def test_send_spam_without_an_unlocked_output_fails_and_says_why(flood):
    agent, _ = flood
    failed = agent.event("spam_failed")
    assert (failed["priority"], failed["amount"], failed["code"], failed["error"]) == \
        (1, to_atomic("0.0001"), -37, "NotEnoughUnlockedMoney")
    rpc = agent.event("rpc_failed")
    assert (rpc["type"], rpc["method"], rpc["code"]) == ("SendSpam", "transfer", -37)


def test_mempool_stats_reads_what_the_daemon_holds(chain, flood, agents):
    sent = flood[0].events("spam_sent")
    monitor = agents("monitor", daemon_url=chain.daemon.url)
    leaf = monitor.ready(MempoolStats(output="pool"))
    assert monitor.tick(leaf) == Status.RUNNING         # get_info, then the pool's stats
    assert monitor.ctx.next_wake == monitor.clock.now()
    assert monitor.tick(leaf) == Status.SUCCESS
    read = monitor.event("mempool_read")
    stats = chain.rpc.get_transaction_pool_stats()
    assert (read["txs"], read["bytes"], read["fees"]) == \
        (stats["txs_total"], stats["bytes_total"], stats["fee_total"])
    assert read["txs"] >= len(sent) and read["fees"] >= sum(s["fee"] for s in sent)
    assert read["height"] == chain.rpc.get_block_count()
    assert read["daemon"] == daemon_name(chain.daemon.url) == f"127.0.0.1:{chain.daemon.rpc_port}"
    assert monitor.get("pool") == {k: read[k] for k in ("daemon", "txs", "bytes", "fees", "height")}


def test_mempool_stats_of_an_empty_pool_reads_zero(chain, flood, agents):
    chain.mine(1)
    assert chain.rpc.get_transaction_pool_hashes() == []
    monitor = agents("monitor", daemon_url=chain.daemon.url)
    assert monitor.run(monitor.ready(MempoolStats())) == Status.SUCCESS
    read = monitor.event("mempool_read")
    assert (read["txs"], read["bytes"], read["fees"]) == (0, 0, 0)


def test_block_stats_journals_each_new_block_with_its_transactions(chain, flood, agents):
    sent = {s["txid"] for s in flood[0].events("spam_sent")}
    settle_pool(chain)
    mined = {tx["tx_hash"]: tx["block_height"] for tx in chain.rpc.get_transactions(list(sent))["txs"]}
    first = min(mined.values())
    monitor = agents("monitor", daemon_url=chain.daemon.url)
    leaf = monitor.ready(BlockStats(from_height=first - 1))
    chain.mine(2)
    top = chain.rpc.get_block_count() - 1

    assert monitor.run(leaf, max_ticks=50) == Status.SUCCESS
    reads = monitor.events("block_read")
    assert [r["height"] for r in reads] == list(range(first - 1, top + 1))
    assert monitor.ticks == 1 + len(reads)                   # the count, then one block a tick
    for read in reads:
        header = chain.rpc.get_block_header_by_height(read["height"])
        assert (read["hash"], read["txs"], read["weight"]) == \
            (header["hash"], header["num_txes"], header["block_weight"])
        assert len(read["tx_hashes"]) == read["txs"]
        assert read["daemon"] == daemon_name(chain.daemon.url)
    holding = {h for r in reads for h in r["tx_hashes"]}
    assert sent <= holding
    assert all(mined[t] in {r["height"] for r in reads if t in r["tx_hashes"]} for t in sent)
    assert monitor.get("last_block") == {k: reads[-1][k] for k in ("height", "hash", "txs", "weight")}

    # Nothing new: one tick, no record. A new block: only it.
    assert monitor.run(leaf) == Status.SUCCESS and len(monitor.events("block_read")) == len(reads)
    chain.mine(1)
    assert monitor.run(leaf) == Status.SUCCESS
    assert [r["height"] for r in monitor.events("block_read")][len(reads):] == [top + 1]


def test_block_stats_from_beyond_the_top_reads_nothing(chain, agents):
    monitor = agents("monitor", daemon_url=chain.daemon.url)
    leaf = monitor.ready(BlockStats(from_height=chain.rpc.get_block_count() + 5))
    assert monitor.tick(leaf) == Status.SUCCESS
    assert monitor.events() == []
    with pytest.raises(KeyError):
        monitor.get("last_block")


@pytest.mark.parametrize("leaf", [MempoolStats, BlockStats])
def test_reads_of_an_unreachable_daemon_fail_and_are_journaled(agents, leaf):
    monitor = agents("monitor", daemon_url=f"http://127.0.0.1:{free_port()}")
    node = monitor.ready(leaf())
    assert monitor.run(node) == Status.FAILURE
    rpc = monitor.event("rpc_failed")
    assert (rpc["type"], rpc["error"], rpc["code"]) == (leaf.__name__, "ConnectionFailed", None)
    assert monitor.events("mempool_read") == monitor.events("block_read") == []
