"""behaviours/settling.py's decisions, against in-memory stand-ins for the daemon and the wallet
(the real processes: tests/integration/test_leaves_twophase.py)."""
from __future__ import annotations

import pytest

import ipc
from behaviours.base import AgentContext
from behaviours.payments import RecoverOrders
from behaviours.settling import settle_orders
from rpc_client import ConnectionFailed, DaemonUnreachable

TXID = "ab" * 32


class Daemon:
    def __init__(self, *answers):
        self.answers = list(answers)          # one per get_transactions: None or a tx record

    def get_transactions(self, txids):
        tx = self.answers.pop(0)
        if tx is None:
            return {"txs": [], "missed_tx": list(txids)}
        return {"txs": [{"tx_hash": txids[0], **tx}], "missed_tx": []}


class Wallet:
    def __init__(self, relay=None, transfers=None):
        self.relay, self.transfers, self.relayed = relay, transfers, []

    def relay_tx(self, metadata):
        self.relayed.append(metadata)
        if isinstance(self.relay, Exception):
            raise self.relay
        return TXID

    def get_transfers(self, **_):
        assert self.transfers is not None, "get_transfers was not expected"
        return self.transfers


def settle(tmp_path, orders, daemon, wallet):
    ctx = AgentContext("user-0", shared_dir=tmp_path, daemon=daemon, wallet=wallet)
    leaf = RecoverOrders()
    leaf.ctx = ctx
    book = ipc.OrderBookWriter(tmp_path, "user-0", lambda: 1.0)
    settle_orders(leaf, orders, book)
    book.close()
    return ctx.journal.records, ipc.read_journal(ipc.orders_dir(tmp_path) / "user-0.jsonl")


def order(**extra):
    return {"payment_id": "0123456789abcdef", "shop": "shop-0", "amount": 5, **extra}


SIGNED = {"txid": TXID, "fee": 7, "metadata": "0f0f"}


@pytest.mark.parametrize("held, handed", [({"in_pool": False, "block_height": 9}, []),
                                          ({"in_pool": True}, ["0f0f"])],
                         ids=["in-a-block", "in-the-pool"])
def test_a_tx_the_daemon_holds_is_paid_and_only_a_pooled_one_goes_back_to_the_wallet(
        tmp_path, held, handed):
    wallet = Wallet(relay=DaemonUnreachable(-4, "Failed to commit tx.") if handed else None)
    records, book = settle(tmp_path, [order(**SIGNED)], Daemon(held), wallet)
    [sent] = records
    assert (sent["event"], sent["txid"], sent["fee"], sent["settled"]) == \
        ("payment_sent", TXID, 7, "daemon")
    assert wallet.relayed == handed                     # a refused hand-back changes nothing
    assert [(b["event"], b.get("txid")) for b in book] == [("order_paid", TXID)]


def test_a_refusal_after_the_daemon_took_the_tx_is_a_payment(tmp_path):
    refused = DaemonUnreachable(-4, "Failed to commit tx.")
    records, _ = settle(tmp_path, [order(**SIGNED)], Daemon(None, {"in_pool": True}),
                        Wallet(relay=refused))
    assert [(r["event"], r.get("settled")) for r in records] == [("payment_sent", "daemon")]


def test_a_signed_order_without_metadata_is_lost_when_the_daemon_lacks_it(tmp_path):
    wallet = Wallet()
    records, book = settle(tmp_path, [order(txid=TXID, fee=7)], Daemon(None), wallet)
    assert [(r["event"], r["error"]) for r in records] == [("payment_failed", "lost")]
    assert wallet.relayed == [] and book[0]["reason"] == "lost"


def test_no_answer_leaves_the_order_open(tmp_path):
    with pytest.raises(ConnectionFailed):
        settle(tmp_path, [order(**SIGNED)], Daemon(None), Wallet(relay=ConnectionFailed("x")))
    assert ipc.read_journal(ipc.orders_dir(tmp_path) / "user-0.jsonl") == []


def test_only_unsigned_orders_ask_the_wallet_for_its_transfers(tmp_path):
    transfers = {"out": [{"payment_id": "00000000000000aa", "txid": "cd" * 32, "fee": 3}]}
    records, book = settle(tmp_path, [order(payment_id="00000000000000aa"), order(**SIGNED)],
                           Daemon({"in_pool": False}), Wallet(transfers=transfers))
    assert [(r["payment_id"], r["settled"]) for r in records] == \
        [("00000000000000aa", "wallet"), ("0123456789abcdef", "daemon")]
    records, _ = settle(tmp_path, [order(**SIGNED)], Daemon({"in_pool": False}), Wallet(transfers=None))
    assert records[0]["settled"] == "daemon"            # and no get_transfers
