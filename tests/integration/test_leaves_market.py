"""Market leaves (SendTx, RecoverOrders, FundPeers, RecordPayment) against real wallet-rpcs, the
real daemon's pool, and real shared files. The peer leaves (PublishAddress, RegisterPool,
AwaitPeers, PickPeer) are in test_leaves_peers.py."""
import zlib

import pytest
from py_trees.common import Status

import ipc
from behaviours.payments import FundPeers, RecoverOrders, SendTx
from behaviours.shop import RecordPayment
from lang.values import BlackboardRef
from engine.runner import make_rng
from rpc_client import MAX_DESTINATIONS, to_atomic
from tests.integration.leafkit import (SEED, SHOP, START, agents, bare_wallet_rpc,  # noqa: F401
                                       miner_url, publish, settle_pool, shop_wallet, tall_chain,
                                       wallet, wallet_url)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module", autouse=True)
def _spendable(tall_chain):
    """Every miner transfer below needs a chain tall enough (leafkit.SPENDABLE_HEIGHT)."""


@pytest.fixture(scope="module")
def shop(chain):
    """The marketplace's wallet: (client, address, wallet-rpc URL)."""
    yield shop_wallet(chain)
    settle_pool(chain)


@pytest.fixture(scope="module")
def poor(chain):
    """A wallet whose only money (1 XMR) is still locked: every spend is -37."""
    client, address = wallet(chain, "lk-poor")
    chain.miner.transfer([(address, to_atomic(1))])
    chain.mine(1)
    return client, address, wallet_url(chain, "lk-poor")


def assert_all_locked(client) -> None:
    client.refresh()
    balance = client.get_balance()
    assert balance["balance"] == to_atomic(1) and balance["unlocked_balance"] == 0


def order_book(shared, user: str) -> list[dict]:
    return ipc.read_journal(ipc.orders_dir(shared) / f"{user}.jsonl")


def split(chain, integrated: str) -> dict:
    return chain.miner.call("split_integrated_address", {"integrated_address": integrated})


def sent_destinations(chain, txid: str) -> list[tuple[str, int]]:
    out = chain.miner.get_transfer_by_txid(txid)["transfer"]
    return [(d["address"], d["amount"]) for d in out["destinations"]]


# ---------------------------------------------------------------- SendTx

def test_send_tx_without_unlocked_money_fails_and_cancels_the_order(chain, shop, poor, agents):
    _, shop_address, _ = shop
    client, _, url = poor
    assert_all_locked(client)
    user = agents("user-9", wallet_url=url)
    record = publish(user.shared, SHOP, "marketplace", shop_address)
    leaf = user.ready(SendTx(to=record, amount=0.5))

    assert user.run(leaf) == Status.FAILURE
    payment_id = f"{make_rng(SEED, 'user-9').getrandbits(64):016x}"
    failed = user.event("payment_failed")
    assert (failed["payment_id"], failed["shop"], failed["amount"], failed["code"]) == \
        (payment_id, SHOP, to_atomic("0.5"), -37)
    rpc = user.event("rpc_failed")
    assert (rpc["method"], rpc["code"], rpc["error"]) == ("transfer", -37, "NotEnoughUnlockedMoney")
    assert user.events("payment_sent") == []
    book = order_book(user.shared, "user-9")
    assert [(o["event"], o["payment_id"]) for o in book] == \
        [("order_placed", payment_id), ("order_cancelled", payment_id)]
    assert book[1]["code"] == -37
    index = ipc.OrderIndex(user.shared)
    index.refresh()
    assert index.get(payment_id)["cancelled"] is True
    leaf.shutdown()


def test_send_tx_pays_an_integrated_address_and_journals_the_order(chain, shop, agents):
    _, shop_address, _ = shop
    user = agents("user-1", wallet_url=miner_url(chain))
    record = publish(user.shared, SHOP, "marketplace", shop_address)
    user.ctx.set("shop", record)
    leaf = user.ready(SendTx(to=BlackboardRef("shop"), amount=0.25))   # "{shop}"
    payment_id = f"{make_rng(SEED, 'user-1').getrandbits(64):016x}"

    # one tick: the order goes to the journal and the order book, then the transfer
    assert user.tick(leaf) == Status.SUCCESS
    placed = user.event("order_placed")
    order = {"payment_id": payment_id, "shop": SHOP, "amount": to_atomic("0.25")}
    assert {k: placed[k] for k in order} == order
    assert [r["event"] for r in user.events() if r["event"] in ("order_placed", "payment_sent")] == \
        ["order_placed", "payment_sent"]
    book = order_book(user.shared, "user-1")
    assert {k: book[0][k] for k in ("event", "agent", *order)} == \
        {"event": "order_placed", "agent": "user-1", **order}
    sent = user.event("payment_sent")
    assert {k: sent[k] for k in order} == order and sent["fee"] > 0
    assert user.get("last_tx") == {**order, "fee": sent["fee"], "txid": sent["txid"]}
    assert sent["txid"] in chain.rpc.get_transaction_pool_hashes()
    [(destination, amount)] = sent_destinations(chain, sent["txid"])
    assert amount == to_atomic("0.25")
    assert split(chain, destination) == {"is_subaddress": False, "payment_id": payment_id,
                                         "standard_address": shop_address}
    book = order_book(user.shared, "user-1")              # signed, then paid, not cancelled
    assert [(o["event"], o["payment_id"]) for o in book] == \
        [("order_placed", payment_id), ("order_signed", payment_id), ("order_paid", payment_id)]
    assert (book[1]["txid"], book[1]["fee"]) == (sent["txid"], sent["fee"])
    assert len(book[1]["metadata"]) > 1000                # what relay_tx needs to send it again
    assert (book[2]["txid"], book[2]["fee"]) == (sent["txid"], sent["fee"])
    leaf.shutdown()
    chain.mine(1)


# ---------------------------------------------------------------- RecoverOrders

class _Killed(BaseException):
    """The agent's process dying: no leaf turns it into a FAILURE."""


def _killed(*_args, **_kw):
    raise _Killed()


def test_recover_orders_settles_what_a_killed_run_left_open(chain, shop, agents):
    _, shop_address, _ = shop
    first = agents("user-7", wallet_url=miner_url(chain))
    record = publish(first.shared, SHOP, "marketplace", shop_address)
    assert first.run(first.ready(SendTx(to=record, amount=0.11))) == Status.SUCCESS
    paid = first.event("payment_sent")

    # the restarted agent replays its RNG: its next payment ID must not reuse a booked one
    again = agents("user-7", wallet_url=miner_url(chain), shared=first.shared)
    send = again.ready(SendTx(to=record, amount=0.12))
    again.ctx.wallet.transfer = _killed                  # order placed ... then killed
    with pytest.raises(_Killed):
        again.tick(send)
    never_sent = again.events("order_placed")[-1]["payment_id"]   # (same journal file)
    assert [r for r in again.events("payment_sent") if r["payment_id"] == never_sent] == []
    assert again.events("leaf_failed") == []
    rng = make_rng(SEED, "user-7")
    assert [f"{rng.getrandbits(64):016x}" for _ in range(2)] == [paid["payment_id"], never_sent]
    # ... and an order whose transfer went out before the kill, but not its order_paid
    book = ipc.OrderBookWriter(first.shared, "user-7", lambda: START)
    book.append("order_placed", payment_id="00000000000cafe1", shop=SHOP,
                amount=to_atomic("0.13"))
    book.close()
    integrated = chain.miner.make_integrated_address("00000000000cafe1", shop_address)
    lost_txid = chain.miner.transfer([(integrated["integrated_address"],
                                       to_atomic("0.13"))])["tx_hash"]

    third = agents("user-7", wallet_url=miner_url(chain), shared=first.shared)
    leaf = third.ready(RecoverOrders())
    assert third.tick(leaf) == Status.SUCCESS
    recovered = {r["payment_id"]: r for r in third.events() if r.get("recovered")}
    assert set(recovered) == {never_sent, "00000000000cafe1"}
    assert recovered["00000000000cafe1"]["event"] == "payment_sent"
    assert recovered["00000000000cafe1"]["txid"] == lost_txid
    assert (recovered[never_sent]["event"], recovered[never_sent]["error"]) == \
        ("payment_failed", "lost")
    index = ipc.OrderIndex(first.shared)
    index.refresh()
    assert index.get("00000000000cafe1").get("paid") is True
    assert index.get(never_sent).get("cancelled") is True
    assert index.get(paid["payment_id"]).get("paid") is True
    lines = len(order_book(first.shared, "user-7"))

    assert third.tick(third.ready(RecoverOrders())) == Status.SUCCESS   # nothing open now
    assert len(order_book(first.shared, "user-7")) == lines
    assert len([r for r in third.events() if r.get("recovered")]) == 2
    chain.mine(1)


def test_recover_orders_fails_without_a_wallet_and_leaves_the_book(chain, agents):
    agent = agents("user-8", wallet_url=bare_wallet_rpc(chain).url)
    book = ipc.OrderBookWriter(agent.shared, "user-8", lambda: START)
    book.append("order_placed", payment_id="00000000000cafe2", shop=SHOP, amount=1)
    book.close()
    leaf = agent.ready(RecoverOrders())
    assert agent.tick(leaf) == Status.FAILURE
    failed = agent.event("rpc_failed")
    assert (failed["method"], failed["code"]) == ("get_transfers", -13)
    assert [o["event"] for o in order_book(agent.shared, "user-8")] == ["order_placed"]


# ---------------------------------------------------------------- FundPeers

@pytest.fixture
def users(tmp_path, shop):
    """Five users registered with addresses (subaddresses of the shop's wallet)."""
    client, _, _ = shop
    shared = tmp_path / "shared"
    for i in range(5):
        publish(shared, f"user-{i}", "user", client.create_address()["address"])
    return ipc.Registry(shared).all(role="user")


def test_fund_peers_batches_outputs_per_transfer_and_funds_each_user_once(chain, users, agents):
    pool = agents("pool-a", wallet_url=miner_url(chain), role="pool")
    leaf = pool.ready(FundPeers(role="user", amount=0.01, outputs=4, partition=False))
    per_transfer = MAX_DESTINATIONS // 4                  # users per transfer

    assert pool.run(leaf) == Status.SUCCESS
    funded = pool.events("peers_funded")
    ids = [u["agent"] for u in users]
    assert [f["peers"] for f in funded] == [ids[:per_transfer], ids[per_transfer:]]
    assert len(funded) == 2                               # 5 users × 4 outputs: two transfers
    assert pool.ticks == 1 + 2                            # refresh, then one transfer a tick
    assert pool.get("funded") == ids
    pooled = chain.rpc.get_transaction_pool_hashes()
    for record in funded:
        [txid] = record["txids"]
        assert txid in pooled
        assert (record["amount"], record["outputs"]) == (to_atomic("0.01"), 4)
        got = sent_destinations(chain, txid)
        expected = [(u["address"], to_atomic("0.01")) for u in users if u["agent"] in record["peers"]
                    for _ in range(4)]
        assert sorted(got) == sorted(expected) and len(got) <= 16

    again = pool.ready(FundPeers(role="user", amount=0.01, outputs=4, partition=False))
    assert pool.tick(again) == Status.SUCCESS             # everyone funded: no RPC at all
    assert len(pool.events("peers_funded")) == 2
    assert set(chain.rpc.get_transaction_pool_hashes()) == set(pooled)
    chain.mine(1)


def test_fund_peers_partitions_users_between_pools_by_crc32(chain, users, agents):
    a = agents("pool-a", wallet_url=miner_url(chain), role="pool")
    b = agents("pool-b", wallet_url=miner_url(chain), role="pool", shared=a.shared)
    publish(a.shared, "pool-a", "pool", chain.miner_address, hashrate=1)
    publish(a.shared, "pool-b", "pool", chain.miner_address, hashrate=1)
    ids = [u["agent"] for u in users]
    share = {0: [i for i in ids if zlib.crc32(i.encode()) % 2 == 0],
             1: [i for i in ids if zlib.crc32(i.encode()) % 2 == 1]}
    assert share[0] and share[1]                          # the ids split both ways

    for index, agent in enumerate((a, b)):
        leaf = agent.ready(FundPeers(role="user", amount=0.01, outputs=1))
        assert agent.run(leaf) == Status.SUCCESS
        [funded] = agent.events("peers_funded")
        assert funded["peers"] == share[index]
        got = sent_destinations(chain, funded["txids"][0])
        assert sorted(got) == sorted((u["address"], to_atomic("0.01")) for u in users
                                     if u["agent"] in share[index])

    # a late user goes to exactly one pool; the others are not paid twice
    client = chain.wallets[SHOP]
    publish(a.shared, "user-late", "user", client.create_address()["address"])
    owner = zlib.crc32(b"user-late") % 2
    for index, agent in enumerate((a, b)):
        leaf = agent.ready(FundPeers(role="user", amount=0.01, outputs=1))
        assert agent.run(leaf) == Status.SUCCESS
    assert [f["peers"] for f in (a, b)[owner].events("peers_funded")][-1] == ["user-late"]
    assert len((a, b)[1 - owner].events("peers_funded")) == 1
    chain.mine(1)


def test_fund_peers_without_unlocked_money_fails(chain, users, poor, agents):
    client, _, url = poor
    assert_all_locked(client)
    pool = agents("pool-p", wallet_url=url, role="pool")
    leaf = pool.ready(FundPeers(role="user", amount=0.01, outputs=2, partition=False))
    assert pool.run(leaf) == Status.FAILURE
    failed = pool.event("rpc_failed")
    assert (failed["method"], failed["code"], failed["type"]) == ("transfer", -37, "FundPeers")
    assert pool.events("peers_funded") == []
    with pytest.raises(KeyError):
        pool.get("funded")


# ---------------------------------------------------------------- RecordPayment

def confirmed_txids(agent) -> list[str]:
    return [c["txid"] for c in agent.events("payment_confirmed")]


def look(agent, leaf) -> Status:
    """One RecordPayment run: refresh, then get_transfers."""
    return agent.run(leaf, max_ticks=3)


def test_record_payment_matches_an_order_then_confirms_it(chain, shop, agents):
    _, shop_address, url = shop
    user = agents("user-2", wallet_url=miner_url(chain))
    shopkeeper = agents(SHOP, wallet_url=url, shared=user.shared)
    record = publish(user.shared, SHOP, "marketplace", shop_address)
    assert user.run(user.ready(SendTx(to=record, amount=0.3))) == Status.SUCCESS
    sent = user.event("payment_sent")
    watch = shopkeeper.ready(RecordPayment(confirmations=2))

    assert look(shopkeeper, watch) == Status.SUCCESS      # seen in the pool
    assert shopkeeper.ticks == 2
    seen = [s for s in shopkeeper.events("payment_seen") if s["txid"] == sent["txid"]]
    assert len(seen) == 1
    assert {k: seen[0][k] for k in ("payment_id", "amount", "user", "status", "height")} == \
        {"payment_id": sent["payment_id"], "amount": to_atomic("0.3"), "user": "user-2",
         "status": "matched", "height": 0}

    mined = chain.mine(1)
    assert look(shopkeeper, watch) == Status.SUCCESS      # one confirmation of two
    payment = shopkeeper.get("payments")[sent["txid"]]
    assert (payment["height"], payment["confirmed"], payment["status"]) == \
        (mined["height"], False, "matched")
    assert sent["txid"] not in confirmed_txids(shopkeeper)   # (older payments may confirm)

    chain.mine(1)
    assert look(shopkeeper, watch) == Status.SUCCESS
    [confirmed] = [c for c in shopkeeper.events("payment_confirmed") if c["txid"] == sent["txid"]]
    assert {k: confirmed[k] for k in ("txid", "payment_id", "user", "amount", "height")} == \
        {"txid": sent["txid"], "payment_id": sent["payment_id"], "user": "user-2",
         "amount": to_atomic("0.3"), "height": mined["height"]}
    assert confirmed["confirmations"] >= 2
    assert shopkeeper.get("payments")[sent["txid"]]["confirmed"] is True

    before = len(shopkeeper.events("payment_confirmed"))
    assert look(shopkeeper, watch) == Status.SUCCESS      # nothing journaled twice
    assert len(shopkeeper.events("payment_confirmed")) == before
    assert len([s for s in shopkeeper.events("payment_seen") if s["txid"] == sent["txid"]]) == 1


def test_record_payment_flags_mismatch_unknown_and_wrong_shop(chain, shop, agents):
    _, shop_address, url = shop
    shared = agents("ctl").shared
    shopkeeper = agents(SHOP, wallet_url=url, shared=shared)
    txids = {}

    # an order for 0.3 XMR paid with 0.2 XMR
    ipc.OrderBookWriter(shared, "user-3", lambda: START).append(
        "order_placed", payment_id="00000000000abc01", shop=SHOP, amount=to_atomic("0.3"))
    integrated = chain.miner.make_integrated_address("00000000000abc01", shop_address)
    txids["amount_mismatch"] = chain.miner.transfer(
        [(integrated["integrated_address"], to_atomic("0.2"))])["tx_hash"]
    # a payment ID nobody ordered with
    integrated = chain.miner.make_integrated_address("00000000000abc02", shop_address)
    txids["unknown"] = chain.miner.transfer(
        [(integrated["integrated_address"], to_atomic("0.1"))])["tx_hash"]
    # an order placed with another shop, paid to this one
    user = agents("user-4", wallet_url=miner_url(chain), shared=shared)
    assert user.run(user.ready(SendTx(to={"agent": "shop-z", "address": shop_address},
                                      amount=0.15))) == Status.SUCCESS
    txids["wrong_shop"] = user.event("payment_sent")["txid"]
    # no payment ID at all
    plain = agents("user-5", wallet_url=miner_url(chain), shared=shared)
    assert plain.run(plain.ready(SendTx(to=shop_address, amount=0.05, payment_id=False))) == \
        Status.SUCCESS
    assert plain.events("order_placed") == [] and plain.ticks == 1
    txids["no_id"] = plain.event("payment_sent")["txid"]
    height = chain.mine_until_mined(txids.values())

    watch = shopkeeper.ready(RecordPayment(confirmations=5))
    assert look(shopkeeper, watch) == Status.SUCCESS
    seen = {s["txid"]: s for s in shopkeeper.events("payment_seen")}
    got = {case: (seen[txid]["status"], seen[txid]["user"], seen[txid]["amount"],
                  seen[txid]["height"]) for case, txid in txids.items()}
    assert got == {
        "amount_mismatch": ("amount_mismatch", "user-3", to_atomic("0.2"), height[txids["amount_mismatch"]]),
        "unknown": ("unknown", None, to_atomic("0.1"), height[txids["unknown"]]),
        "wrong_shop": ("wrong_shop", "user-4", to_atomic("0.15"), height[txids["wrong_shop"]]),
        "no_id": ("unknown", None, to_atomic("0.05"), height[txids["no_id"]]),
    }
    assert seen[txids["amount_mismatch"]]["expected"] == to_atomic("0.3")
    assert seen[txids["unknown"]]["payment_id"] == "00000000000abc02"
    assert seen[txids["no_id"]]["payment_id"].strip("0") == ""
    assert not set(confirmed_txids(shopkeeper)) & set(txids.values())


# ---------------------------------------------------------------- no wallet open

@pytest.mark.parametrize("make, method", [
    (lambda: SendTx(to="4" * 95, amount=0.1), "make_integrated_address"),
    (lambda: SendTx(to="4" * 95, amount=0.1, payment_id=False), "transfer"),
    (lambda: FundPeers(role="user", partition=False), "refresh"),
    (lambda: RecordPayment(), "refresh"),
], ids=["SendTx", "SendTx-noid", "FundPeers", "RecordPayment"])
def test_market_leaves_fail_with_the_rpc_code_when_no_wallet_is_open(chain, shop, agents,
                                                                     make, method):
    agent = agents("walletless", wallet_url=bare_wallet_rpc(chain).url, role="pool")
    publish(agent.shared, "user-0", "user", shop[1])
    leaf = agent.ready(make())
    assert agent.run(leaf) == Status.FAILURE
    failed = agent.event("rpc_failed")
    assert (failed["method"], failed["code"], failed["type"]) == (method, -13, leaf.type_name())
    assert agent.events("order_placed") == agent.events("payment_sent") == []
    assert agent.events("peers_funded") == agent.events("payment_seen") == []
    assert order_book(agent.shared, "walletless") == []
    leaf.shutdown()
