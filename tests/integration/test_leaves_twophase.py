"""SendTx's two phases (sign without relaying, then relay_tx) and the settling of an order left
open between them, against a real monerod and real wallet-rpcs that are SIGKILLed and
restarted from their wallet files.

The bad case of tests/integration/test_faults.py made deterministic: the wallet-rpc relays the
payment and dies before it answers (and before it saves its wallet file). The restarted wallet
does not know the transaction; the daemon does. The order must be paid once, with that txid.
"""
from __future__ import annotations

import pytest
from py_trees.common import Status

import ipc
from behaviours.payments import RecoverOrders, SendTx
from rpc_client import ConnectionFailed, to_atomic
from tests.integration.leafkit import (SHOP, agents, publish, settle_pool,  # noqa: F401
                                       shop_wallet, tall_chain, wallet, wallet_url)

pytestmark = pytest.mark.integration

PAYER = "lk-2p"           # several unlocked outputs
SINGLE = "lk-2p-single"   # exactly one unlocked output
RIVAL = "lk-2p-rival"     # exactly one unlocked output


class _Killed(BaseException):
    """The agent's process dying: no leaf turns it into a FAILURE."""


def _killed(*_args, **_kw):
    raise _Killed()


@pytest.fixture(scope="module", autouse=True)
def _spendable(tall_chain):
    """Every transfer below needs a chain tall enough (leafkit.SPENDABLE_HEIGHT)."""


@pytest.fixture(scope="module")
def funded(chain) -> dict[str, str]:
    """Wallet name -> wallet-rpc URL: PAYER with 4 unlocked outputs of 1 XMR, SINGLE and
    RIVAL with one each; saved to their files (a restarted wallet-rpc starts from them)."""
    outputs = {PAYER: 4, SINGLE: 1, RIVAL: 1}
    addresses = {name: wallet(chain, name)[1] for name in outputs}
    chain.miner.refresh()
    chain.miner.transfer([(addresses[n], to_atomic(1)) for n, k in outputs.items() for _ in range(k)])
    chain.mine(11)                                       # a received output unlocks after 10
    for name, count in outputs.items():
        client = chain.wallets[name]
        client.refresh()
        assert client.get_balance()["unlocked_balance"] == to_atomic(count), name
        client.store()
    return {name: wallet_url(chain, name) for name in outputs}


@pytest.fixture
def payer(funded):
    return funded[PAYER]


@pytest.fixture
def single(funded):
    return funded[SINGLE]


@pytest.fixture
def rival(funded):
    return funded[RIVAL]


@pytest.fixture(scope="module")
def shop(chain):
    yield shop_wallet(chain)
    settle_pool(chain)


def kill_wallet_rpc(chain, name: str) -> None:
    chain.supervisor.wallets[name].kill()


def restart_wallet_rpc(chain, name: str):
    """A new wallet-rpc on the same port, its wallet opened from the file (as OpenWallet does)."""
    client = chain.supervisor.start_wallet_rpc(name, chain.daemon).client()
    client.open_wallet(name)
    chain.wallets[name] = client
    return client


def book(shared, user: str) -> list[dict]:
    return ipc.read_journal(ipc.orders_dir(shared) / f"{user}.jsonl")


def outgoing(client) -> dict[str, str]:
    """txid -> kind of the wallet's outgoing transfers (out, pending, pool, failed)."""
    got = client.get_transfers(outgoing=True, pending=True, pool=True, failed=True)
    return {t["txid"]: kind for kind in ("out", "pending", "pool", "failed") for t in got[kind]}


def held(chain, txid: str) -> dict | None:
    return next(iter(chain.rpc.get_transactions([txid])["txs"]), None)


def test_relayed_then_the_answer_lost_and_the_wallet_killed_is_paid_once_from_the_daemon(
        chain, shop, payer, agents):
    user = agents("user-2p", daemon_url=chain.daemon.url, wallet_url=payer)
    record = publish(user.shared, SHOP, "marketplace", shop[1])
    leaf = user.ready(SendTx(to=record, amount=0.1))
    relay = user.ctx.wallet.relay_tx

    def relay_then_die(metadata):                        # relayed; dies before it answers
        relay(metadata)
        kill_wallet_rpc(chain, PAYER)
        raise ConnectionFailed("connection reset", method="relay_tx", url=payer)
    user.ctx.wallet.relay_tx = relay_then_die

    assert user.tick(leaf) == Status.FAILURE
    [signed] = [o for o in book(user.shared, "user-2p") if o["event"] == "order_signed"]
    txid, payment_id = signed["txid"], signed["payment_id"]
    assert held(chain, txid)["in_pool"] is True          # the payment went out ...
    assert user.events("payment_sent") == user.events("payment_failed") == []
    assert user.event("rpc_failed")["method"] == "relay_tx"
    assert [o["event"] for o in book(user.shared, "user-2p")] == ["order_placed", "order_signed"]
    assert len(signed["metadata"]) > 1000 and signed["fee"] > 0
    restarted = restart_wallet_rpc(chain, PAYER)
    restarted.refresh()
    assert txid not in outgoing(restarted)               # ... and the wallet forgot it

    del user.ctx.wallet.relay_tx
    assert user.tick(leaf) == Status.RUNNING             # next run: settle first
    [sent] = user.events("payment_sent")
    assert (sent["payment_id"], sent["txid"], sent["recovered"], sent["settled"]) == \
        (payment_id, txid, True, "daemon")
    assert (sent["amount"], sent["fee"], sent["shop"]) == (to_atomic("0.1"), signed["fee"], SHOP)
    assert user.events("payment_failed") == []
    assert [(o["event"], o.get("txid")) for o in book(user.shared, "user-2p")] == \
        [("order_placed", None), ("order_signed", txid), ("order_paid", txid)]
    assert outgoing(restarted).get(txid) == "pending"    # handed back: the wallet booked it

    assert user.run(leaf) == Status.SUCCESS              # and it pays on, another tx
    later = user.events("payment_sent")[-1]
    assert later["txid"] != txid and later["payment_id"] != payment_id
    assert "recovered" not in later and held(chain, later["txid"])["in_pool"] is True
    again = agents("user-2p", daemon_url=chain.daemon.url, wallet_url=payer, shared=user.shared)
    lines = len(book(user.shared, "user-2p"))
    assert again.tick(again.ready(RecoverOrders())) == Status.SUCCESS
    assert len(book(user.shared, "user-2p")) == lines    # nothing left open
    assert len([r for r in again.events("payment_sent") if r["txid"] == txid]) == 1
    leaf.shutdown()
    chain.mine(1)


def test_signed_never_relayed_then_agent_and_wallet_killed_is_relayed_once_by_recover(
        chain, shop, payer, agents):
    first = agents("user-2q", daemon_url=chain.daemon.url, wallet_url=payer)
    record = publish(first.shared, SHOP, "marketplace", shop[1])
    send = first.ready(SendTx(to=record, amount=0.07))
    first.ctx.wallet.relay_tx = _killed                  # signed, booked ... then killed
    with pytest.raises(_Killed):
        first.tick(send)
    [signed] = [o for o in book(first.shared, "user-2q") if o["event"] == "order_signed"]
    txid = signed["txid"]
    assert held(chain, txid) is None
    kill_wallet_rpc(chain, PAYER)                        # the wallet-rpc dies too
    restart_wallet_rpc(chain, PAYER)

    again = agents("user-2q", daemon_url=chain.daemon.url, wallet_url=payer, shared=first.shared)
    assert again.tick(again.ready(RecoverOrders())) == Status.SUCCESS
    [sent] = again.events("payment_sent")
    assert (sent["payment_id"], sent["txid"], sent["recovered"], sent["settled"]) == \
        (signed["payment_id"], txid, True, "relayed")
    assert again.events("payment_failed") == []
    assert held(chain, txid)["in_pool"] is True
    assert [(o["event"], o.get("txid")) for o in book(first.shared, "user-2q")] == \
        [("order_placed", None), ("order_signed", txid), ("order_paid", txid)]

    assert again.tick(again.ready(RecoverOrders())) == Status.SUCCESS   # once only
    assert len(again.events("payment_sent")) == 1 and len(book(first.shared, "user-2q")) == 3
    mined = chain.mine_until_mined([txid])
    shop_client = shop[0]
    shop_client.refresh()
    paid = [t for t in shop_client.get_transfers(incoming=True)["in"]
            if t["payment_id"] == signed["payment_id"]]
    assert [(t["txid"], t["amount"], t["height"]) for t in paid] == \
        [(txid, to_atomic("0.07"), mined[txid])]


def test_signed_never_relayed_whose_inputs_went_elsewhere_is_cancelled_as_refused(
        chain, shop, single, agents):
    first = agents("user-2r", daemon_url=chain.daemon.url, wallet_url=single)
    record = publish(first.shared, SHOP, "marketplace", shop[1])
    send = first.ready(SendTx(to=record, amount=0.05))
    first.ctx.wallet.relay_tx = _killed
    with pytest.raises(_Killed):
        first.tick(send)
    [signed] = [o for o in book(first.shared, "user-2r") if o["event"] == "order_signed"]
    # the wallet's only output goes into another transaction
    other = chain.wallets[SINGLE].transfer([(chain.miner_address, to_atomic("0.5"))])["tx_hash"]
    assert held(chain, other)["in_pool"] is True

    again = agents("user-2r", daemon_url=chain.daemon.url, wallet_url=single, shared=first.shared)
    assert again.tick(again.ready(RecoverOrders())) == Status.SUCCESS
    [failed] = again.events("payment_failed")
    assert (failed["payment_id"], failed["error"], failed["code"], failed["recovered"]) == \
        (signed["payment_id"], "refused", -4, True)
    assert again.events("payment_sent") == []
    assert held(chain, signed["txid"]) is None and held(chain, other)["in_pool"] is True
    assert [(o["event"], o.get("reason")) for o in book(first.shared, "user-2r")] == \
        [("order_placed", None), ("order_signed", None), ("order_cancelled", "refused")]
    index = ipc.OrderIndex(first.shared)
    index.refresh()
    order = index.get(signed["payment_id"])
    assert order["cancelled"] is True and "metadata" not in order
    chain.mine(1)


def test_a_relay_refused_at_once_fails_the_payment_with_its_code(chain, shop, rival, agents):
    """Signing picks an output another tx of the wallet spends meanwhile (relayed through the
    daemon behind the wallet's back): relay_tx is -4 and the daemon does not hold the txid."""
    user = agents("user-2s", daemon_url=chain.daemon.url, wallet_url=rival)
    client = chain.wallets[RIVAL]
    client.refresh()
    record = publish(user.shared, SHOP, "marketplace", shop[1])
    leaf = user.ready(SendTx(to=record, amount=0.02))
    relay = user.ctx.wallet.relay_tx

    def spent_meanwhile(metadata):
        rival = client.transfer([(chain.miner_address, to_atomic("0.01"))], do_not_relay=True,
                                get_tx_hex=True)
        answer = chain.rpc.call_path("/send_raw_transaction", {"tx_as_hex": rival["tx_blob"]})
        assert answer["status"] == "OK" and not answer["double_spend"]
        return relay(metadata)
    user.ctx.wallet.relay_tx = spent_meanwhile

    assert user.tick(leaf) == Status.FAILURE
    [failed] = user.events("payment_failed")
    assert (failed["code"], failed["error"]) == (-4, "DaemonUnreachable")
    assert "recovered" not in failed and user.events("payment_sent") == []
    rpc = user.event("rpc_failed")
    assert (rpc["method"], rpc["code"]) == ("relay_tx", -4)
    assert [o["event"] for o in book(user.shared, "user-2s")] == \
        ["order_placed", "order_signed", "order_cancelled"]
    assert held(chain, book(user.shared, "user-2s")[1]["txid"]) is None
    leaf.shutdown()
    chain.mine(1)
