"""Leaves that send money: a user paying a shop, a pool funding users."""
from __future__ import annotations

import zlib

import ipc
from rpc_client import MAX_DESTINATIONS, JsonRpcError, TransportError, round_to_atomic

from lang.events import ORDER_PLACED, PAYMENT_FAILED, PAYMENT_SENT, PEERS_FUNDED

from .base import LOOKS_UP, Leaf, Status, anything, boolean, integer, key, number
from .peers import ROLE

__all__ = ["SendTx", "RecoverOrders", "FundPeers"]


class SendTx(Leaf):
    """Pay `amount` XMR to `to`, with a fresh payment ID unless `payment_id` is false.

    `to` is an address or a registry record (e.g. "{shop}" from PickPeer). The payment ID
    (16 hex digits) is drawn from the agent's RNG, redrawn while it names an order already in
    the agent's order book (a restarted agent's RNG replays the draws of its previous run).
    In one tick: `make_integrated_address` for the
    payee, the order (`order_placed {payment_id, shop, amount}`) to the journal and to the
    agent's order book in shared/orders/, then `transfer`; journals `payment_sent
    {payment_id, shop, amount, fee, txid}` (and `order_paid` in the order book) and stores it
    in `output`; SUCCESS. A refused
    transfer (e.g. not enough unlocked money, -37) journals `payment_failed` with its code,
    cancels the order and returns FAILURE. A transfer left without an answer (the wallet-rpc
    died or timed out) may have gone out: FAILURE, and the next run of the leaf first settles
    that order from one `get_transfers` as RecoverOrders does. Amounts are journaled in atomic
    units.
    """

    PARAMS = {
        "to": anything("payee: an address, or a registry record with `address` and `agent`",
                       random=False),
        "amount": number("XMR to send (may be a distribution)", exclusive_minimum=0),
        "payment_id": boolean("pay an integrated address with a fresh payment ID",
                              default=True),
        "priority": integer("transfer priority 0-3", minimum=0, maximum=3, default=0),
        "output": key("blackboard key for the payment record", default="last_tx"),
    }
    REQUIRED = ("to", "amount")
    OUTPUTS = {"output": "{payment_id, shop, amount, fee, txid}"}
    SHOWN = ("to", "amount")
    RPC = ("wallet.make_integrated_address", "wallet.transfer", "wallet.get_transfers")
    unsettled: dict | None = None   # an order whose transfer got no answer

    def initialise(self) -> None:
        to = self.args.to
        self.address = to["address"] if isinstance(to, dict) else str(to)
        self.shop = to.get("agent") if isinstance(to, dict) else None
        self.amount = round_to_atomic(self.args.amount)
        self.payment_id = self._fresh_payment_id() if self.args.payment_id else None
        self.destination = None if self.payment_id else self.address

    def update(self) -> Status:
        wallet = self.ctx.wallet
        if self.unsettled is not None:
            transfers = wallet.get_transfers(outgoing=True, pending=True, pool=True)
            settle_orders(self, [self.unsettled], transfers, self._order_book())
            self.unsettled = None
            return self.wake_in(0)
        order = {"payment_id": self.payment_id, "shop": self.shop, "amount": self.amount}
        if self.destination is None:
            # The order is in the book before the transfer (a crash in between leaves it open
            # for RecoverOrders) and in the same tick (a stop between the two would too).
            made = wallet.make_integrated_address(self.payment_id, self.address)
            self.destination = made["integrated_address"]
            self.record(ORDER_PLACED, **order)
            self._order_book().append("order_placed", **order)
        try:
            sent = wallet.transfer([(self.destination, self.amount)],
                                   priority=self.args.priority)
        except JsonRpcError as exc:
            self.record(PAYMENT_FAILED, **order, code=exc.code, error=type(exc).__name__)
            if self.payment_id:
                self._order_book().append("order_cancelled", payment_id=self.payment_id,
                                          code=exc.code)
            raise
        except TransportError:
            if self.payment_id:
                self.unsettled = order
            raise
        payment = {**order, "fee": sent["fee"], "txid": sent["tx_hash"]}
        self.record(PAYMENT_SENT, **payment)
        if self.payment_id:
            self._order_book().append("order_paid", payment_id=self.payment_id,
                                      txid=sent["tx_hash"], fee=sent["fee"])
        self.write("output", payment)
        return Status.SUCCESS

    def _fresh_payment_id(self) -> str:
        """A payment ID from the RNG that no order in this agent's order book carries."""
        reader = getattr(self, "_placed_reader", None)
        if reader is None:
            path = ipc.orders_dir(self.ctx.shared_dir) / f"{self.ctx.agent_id}.jsonl"
            reader = self._placed_reader = ipc.JournalReader(path)
            self._placed: set = set()
        self._placed.update(r.get("payment_id") for r in reader.read_new()
                            if r.get("event") == "order_placed")
        while True:
            payment_id = f"{self.ctx.rng.getrandbits(64):016x}"
            if payment_id not in self._placed:
                return payment_id

    def _order_book(self):
        book = getattr(self, "_book", None)
        if book is None:
            book = self._book = ipc.OrderBookWriter(self.ctx.shared_dir, self.ctx.agent_id,
                                                    self.ctx.now)
        return book

    def shutdown(self) -> None:
        book = getattr(self, "_book", None)
        if book is not None:
            book.close()


class RecoverOrders(Leaf):
    """Settle the orders a previous run of this agent left open (it was killed mid-payment).

    Reads the agent's own order book (file) for orders neither paid nor cancelled; if there
    are any, one `get_transfers {out, pending, pool}` tells which were sent: those are
    journaled `payment_sent {…, recovered: true}` and marked `order_paid`, the others
    `order_cancelled {reason: lost}` and `payment_failed {recovered: true}`. Never pays
    anything. Returns SUCCESS (at once when nothing is open), FAILURE on an RPC error.
    """

    RPC = ("wallet.get_transfers",)

    def update(self) -> Status:
        index = ipc.OrderIndex(self.ctx.shared_dir)
        index.refresh()
        open_orders = [o for o in index.orders.values()
                       if o.get("agent") == self.ctx.agent_id and not o.get("cancelled")
                       and not o.get("paid")]
        if not open_orders:
            return Status.SUCCESS
        transfers = self.ctx.wallet.get_transfers(outgoing=True, pending=True, pool=True)
        book = ipc.OrderBookWriter(self.ctx.shared_dir, self.ctx.agent_id, self.ctx.now)
        try:
            settle_orders(self, open_orders, transfers, book)
        finally:
            book.close()
        return Status.SUCCESS


def settle_orders(leaf: Leaf, orders: list[dict], transfers: dict, book) -> None:
    """Mark each open order paid (journal `payment_sent {recovered: true}`) when the wallet's
    outgoing `transfers` carry its payment ID, else cancelled (`payment_failed {recovered:
    true, error: lost}`)."""
    sent = {t.get("payment_id"): t for kind in ("out", "pending", "pool")
            for t in transfers.get(kind, ())}
    for order in orders:
        fields = {k: order.get(k) for k in ("payment_id", "shop", "amount")}
        paid = sent.get(order["payment_id"])
        if paid is not None:
            book.append("order_paid", payment_id=order["payment_id"],
                        txid=paid["txid"], fee=paid.get("fee"))
            leaf.record(PAYMENT_SENT, **fields, fee=paid.get("fee"),
                        txid=paid["txid"], recovered=True)
        else:
            book.append("order_cancelled", payment_id=order["payment_id"], reason="lost")
            leaf.record(PAYMENT_FAILED, **fields, code=None, error="lost", recovered=True)


class FundPeers(Leaf):
    """Pay registered agents of `role` that this agent has not funded yet.

    Each peer gets `outputs` separate outputs of `amount` XMR (several outputs let it pay
    again before its change unlocks). With `partition`, peers are split among the agents of
    this agent's role (peer i goes to the i-th of them, by id), so each peer is funded once.
    A `refresh` first (one tick), then one `transfer` of at most 15 destinations per tick; journals `peers_funded {txids, peers,
    amount, outputs}`; the funded ids accumulate in `output`. Returns RUNNING while peers are
    left, SUCCESS when none are, FAILURE on an RPC error (e.g. not enough unlocked money).
    """

    PARAMS = {
        "role": ROLE | {"default": "user"},
        "amount": number("XMR per output", exclusive_minimum=0, default=1),
        "outputs": integer("outputs per peer", minimum=1, maximum=MAX_DESTINATIONS, default=4),
        "partition": boolean("share the peers among agents of my role", default=True),
        "output": key("blackboard key for the list of funded agent ids", default="funded"),
    }
    OUTPUTS = {"output": "ids of the agents funded so far"}
    DURABLE = ("output",)
    SHOWN = ("role", "amount", "outputs")
    RPC = ("wallet.refresh", "wallet.transfer")
    ROLES = {"role": LOOKS_UP}

    def initialise(self) -> None:
        self.refreshed = False

    def update(self) -> Status:
        registry = self.ctx.registry
        funded = list(self.bb.get(self.args.output)) if self.bb.exists(self.args.output) else []
        peers = [p for p in registry.all(role=self.args.role)
                 if p["agent"] != self.ctx.agent_id and p["agent"] not in funded]
        if self.args.partition:
            peers = self._my_share(peers)
        if not peers:
            return Status.SUCCESS
        if not self.refreshed:  # the wallet must see its latest rewards before it spends
            self.ctx.wallet.refresh()
            self.refreshed = True
            return self.wake_in(0)
        batch = peers[:max(1, MAX_DESTINATIONS // self.args.outputs)]
        amount = round_to_atomic(self.args.amount)
        sent = self.ctx.wallet.transfer(
            [(p["address"], amount) for p in batch for _ in range(self.args.outputs)])
        ids = [p["agent"] for p in batch]
        self.record(PEERS_FUNDED, txids=[sent["tx_hash"]], peers=ids, amount=amount,
                    outputs=self.args.outputs, fee=sent["fee"])
        self.write("output", funded + ids)
        if len(peers) > len(batch):
            return self.wake_in(0)
        return Status.SUCCESS

    def _my_share(self, peers: list[dict]) -> list[dict]:
        """The peers whose id hashes to this agent's place among the funders (stable as
        peers and funders come and go in any order)."""
        funders = sorted(p["agent"] for p in self.ctx.registry.all(role=self.ctx.role))
        if self.ctx.agent_id not in funders:
            return peers
        index, count = funders.index(self.ctx.agent_id), len(funders)
        return [p for p in peers if zlib.crc32(p["agent"].encode()) % count == index]
