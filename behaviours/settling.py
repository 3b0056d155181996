"""Settling a user's open orders: paid or cancelled, once, never paid twice.

An order is open when a payment got no answer (SendTx) or a killed run left it (RecoverOrders).
A signed order (`order_signed` in the book: txid, fee, the wallet's metadata of the signed
transaction) is settled from the daemon and by relaying it again: one signed transaction is
one payment however often it is relayed (same txid, same key images). An order never signed
was never sent; the wallet's outgoing transfers are still asked, for orders booked before
SendTx signed first.
"""
from __future__ import annotations

from rpc_client import JsonRpcError, RpcError

from lang.events import PAYMENT_FAILED, PAYMENT_SENT

__all__ = ["settle_orders", "known_to_daemon", "mark_paid", "mark_cancelled"]


def settle_orders(leaf, orders: list[dict], book) -> None:
    """Settle each open order of `orders` (OrderIndex dicts) in the order book `book`.

    Signed: `settle_signed`. Not signed: one `get_transfers {out, pending, pool}` for all of
    them; an order whose payment ID is there is paid (`settled: wallet`), the others are
    cancelled (`order_cancelled {reason: lost}`, `payment_failed {error: lost}`). Raises the
    RPC error that stops it (orders not reached stay open)."""
    unsigned = [o for o in orders if not o.get("txid")]
    sent: dict = {}
    if unsigned:
        transfers = leaf.ctx.wallet.get_transfers(outgoing=True, pending=True, pool=True)
        sent = {t.get("payment_id"): t for kind in ("out", "pending", "pool")
                for t in transfers.get(kind, ())}
    for order in orders:
        if order.get("txid"):
            settle_signed(leaf, order, book)
        elif order["payment_id"] in sent:
            paid = sent[order["payment_id"]]
            mark_paid(leaf, book, order, paid["txid"], paid.get("fee"), "wallet")
        else:
            mark_cancelled(leaf, book, order, code=None, error="lost")


def settle_signed(leaf, order: dict, book) -> str:
    """Settle a signed order; returns how: "daemon" (the daemon holds its txid, in the pool or
    a block), "relayed" (the wallet relayed it again) or "refused" (the wallet refused to relay
    it, e.g. another transaction spent its inputs, and the daemon still does not hold it: the
    order is cancelled, `payment_failed {code, error: refused}`); "lost" when the daemon does
    not hold it and the book has no metadata to relay.

    A tx the daemon holds in its pool is handed to the wallet too (`relay_tx`, accepted again):
    a wallet-rpc restarted from a file saved before the relay does not book its own spend
    from the pool and would spend those inputs again (measured on 0.18.0.0)."""
    wallet, txid, metadata = leaf.ctx.wallet, order["txid"], order.get("metadata")
    held = known_to_daemon(leaf.ctx.daemon, txid)
    if held is None and not metadata:   # (a book line without it): nothing can send it now
        mark_cancelled(leaf, book, order, code=None, error="lost")
        return "lost"
    if held is None:
        try:
            wallet.relay_tx(metadata)
            how = "relayed"
        except JsonRpcError as exc:   # it may have reached the daemon before the refusal
            if known_to_daemon(leaf.ctx.daemon, txid) is None:
                mark_cancelled(leaf, book, order, code=exc.code, error="refused")
                return "refused"
            how = "daemon"
    else:
        how = "daemon"
        if held.get("in_pool") and metadata:
            _hand_to_wallet(leaf, metadata)
    mark_paid(leaf, book, order, txid, order.get("fee"), how)
    return how


def known_to_daemon(daemon, txid: str) -> dict | None:
    """The daemon's record of `txid` (`in_pool`, `block_height`), or None if it has none."""
    answer = daemon.get_transactions([txid])
    return next((tx for tx in answer["txs"] if tx.get("tx_hash") == txid), None)


def _hand_to_wallet(leaf, metadata: str) -> None:
    """relay_tx of a tx the daemon already holds, so that the wallet books the spend; the
    order is paid whatever the wallet answers."""
    try:
        leaf.ctx.wallet.relay_tx(metadata)
    except RpcError as exc:
        leaf.ctx.logger.info("the wallet did not take back its pooled tx: %s", exc)


def _fields(order: dict) -> dict:
    return {k: order.get(k) for k in ("payment_id", "shop", "amount")}


def mark_paid(leaf, book, order: dict, txid: str, fee, how: str) -> None:
    """`order_paid` in the book, `payment_sent {…, recovered: true, settled: how}` journaled."""
    book.append("order_paid", payment_id=order["payment_id"], txid=txid, fee=fee)
    leaf.record(PAYMENT_SENT, **_fields(order), fee=fee, txid=txid, recovered=True, settled=how)


def mark_cancelled(leaf, book, order: dict, *, code, error: str) -> None:
    """`order_cancelled {reason: error}` in the book, `payment_failed {…, recovered: true}`."""
    book.append("order_cancelled", payment_id=order["payment_id"], reason=error,
                **({"code": code} if code is not None else {}))
    leaf.record(PAYMENT_FAILED, **_fields(order), code=code, error=error, recovered=True)
