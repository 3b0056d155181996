"""The marketplace's leaf: see incoming payments, match them to orders, confirm them."""
from __future__ import annotations

import ipc

from .base import Leaf, Status, integer, key
from lang.events import PAYMENT_CONFIRMED, PAYMENT_SEEN

__all__ = ["RecordPayment"]


class RecordPayment(Leaf):
    """One look at the wallet's incoming payments: match, journal, confirm.

    Tick 1: `refresh` (RUNNING). Tick 2: `get_transfers {in, pool}` from the lowest height
    still unconfirmed. Each transfer seen for the first time is matched by payment ID against
    the users' order books and journaled `payment_seen {txid, payment_id, amount, user,
    status, height}` with status matched, amount_mismatch, wrong_shop or unknown; once it has
    `confirmations` confirmations, `payment_confirmed`. The record of every payment is kept in
    `output` (txid → record). Returns SUCCESS after the look, FAILURE on an RPC error.
    """

    PARAMS = {
        "confirmations": integer("confirmations before a payment is confirmed", minimum=1,
                                 default=3),
        "output": key("blackboard key for the payments seen (txid → record)",
                      default="payments"),
    }
    OUTPUTS = {"output": "txid → {payment_id, amount, user, status, height, confirmed}"}
    DURABLE = ("output",)
    SHOWN = ("confirmations",)
    RPC = ("wallet.refresh", "wallet.get_transfers")

    def initialise(self) -> None:
        self.refreshed = False

    def update(self) -> Status:
        wallet = self.ctx.wallet
        if not self.refreshed:
            wallet.refresh()
            self.refreshed = True
            return self.wake_in(0)
        payments = dict(self.bb.get(self.args.output)) if self.bb.exists(self.args.output) else {}
        pending = [p["height"] for p in payments.values() if not p["confirmed"] and p["height"]]
        floor = min(pending) if pending else max([p["height"] for p in payments.values()] or [0])
        transfers = wallet.get_transfers(incoming=True, pool=True,
                                         min_height=max(0, floor - 1))
        orders = self._orders()
        # In an order that does not depend on txids (random): by block, payment ID, amount.
        for transfer in sorted(transfers["pool"] + transfers["in"], key=_arrival):
            txid = transfer["txid"]
            if txid not in payments:
                payments[txid] = self._seen(transfer, orders)
            payment = payments[txid]
            payment["height"] = transfer.get("height") or payment["height"]
            if not payment["confirmed"] and transfer.get("confirmations", 0) >= \
                    self.args.confirmations:
                payment["confirmed"] = True
                self.record(PAYMENT_CONFIRMED, txid=txid, payment_id=payment["payment_id"],
                            user=payment["user"], amount=payment["amount"],
                            confirmations=transfer["confirmations"], height=payment["height"])
        self.write("output", payments)
        return Status.SUCCESS

    def _orders(self) -> ipc.OrderIndex:
        index = getattr(self, "_index", None)
        if index is None:
            index = self._index = ipc.OrderIndex(self.ctx.shared_dir)
        index.refresh()
        return index

    def _seen(self, transfer: dict, orders: ipc.OrderIndex) -> dict:
        payment_id = transfer.get("payment_id") or ""
        order = orders.get(payment_id) if payment_id.strip("0") else None
        if order is None:
            status, user = "unknown", None
        elif order.get("shop") != self.ctx.agent_id:
            status, user = "wrong_shop", order.get("agent")
        elif order.get("amount") != transfer["amount"]:
            status, user = "amount_mismatch", order.get("agent")
        else:
            status, user = "matched", order.get("agent")
        payment = {"payment_id": payment_id, "amount": transfer["amount"], "user": user,
                   "status": status, "height": transfer.get("height") or 0,
                   "confirmed": False}
        fields = {k: payment[k] for k in ("payment_id", "amount", "user", "status", "height")}
        if order is not None and status == "amount_mismatch":
            fields["expected"] = order.get("amount")
        self.record(PAYMENT_SEEN, txid=transfer["txid"], **fields)
        return payment


def _arrival(transfer: dict) -> tuple:
    height = transfer.get("height") or float("inf")      # 0: still in the pool
    return (height, transfer.get("payment_id") or "", transfer.get("amount") or 0, transfer["txid"])
