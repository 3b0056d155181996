"""Leaves that send money: a user paying a shop, a pool funding users."""
from __future__ import annotations

import zlib

import ipc
from rpc_client import MAX_DESTINATIONS, JsonRpcError, RpcError, round_to_atomic

from lang.events import ORDER_PLACED, PAYMENT_FAILED, PAYMENT_SENT, PEERS_FUNDED

from .base import LOOKS_UP, Leaf, Status, anything, boolean, integer, key, number
from .peers import ROLE
from .settling import known_to_daemon, settle_orders

__all__ = ["SendTx", "RecoverOrders", "FundPeers"]


class SendTx(Leaf):
    """Pay `amount` XMR to `to`, with a fresh payment ID unless `payment_id` is false.

    `to` is an address or a registry record (e.g. "{shop}" from PickPeer). The payment ID
    (16 hex digits) is drawn from the agent's RNG, redrawn while it names an order already in
    the agent's order book (a restarted agent's RNG replays the draws of its previous run).
    In one tick, in two phases: `make_integrated_address` for the payee and the order
    (`order_placed {payment_id, shop, amount}`) to the journal and to the agent's order book in
    shared/orders/; `transfer {do_not_relay, get_tx_metadata}` signs the transaction without
    sending it, and its txid, fee and metadata go to the book (`order_signed`); `relay_tx`
    sends it. Then journals `payment_sent {payment_id, shop, amount, fee, txid}` (and
    `order_paid` in the book), stores it in `output`; SUCCESS. Amounts in atomic units.

    A refused signing (e.g. not enough unlocked money, -37) or one left without an answer (it
    sent nothing) journals `payment_failed` with its code (None without an answer), cancels
    the order and returns FAILURE. A relay left without an answer (the wallet-rpc died or
    timed out) may have sent it: FAILURE, and the next run of the leaf first settles that
    order as RecoverOrders does: paid (`payment_sent {recovered: true, settled}`) when the
    daemon holds the txid or the wallet relays it again, else cancelled. A relay refused
    (-4 after two more asks) is a `payment_failed` with its code unless the daemon holds the
    txid. Without a payment ID there is no order to settle.
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
    RPC = ("wallet.make_integrated_address", "wallet.transfer", "wallet.relay_tx",
           "daemon.get_transactions")
    unsettled: dict | None = None   # a signed order whose relay got no answer

    def initialise(self) -> None:
        to = self.args.to
        self.address = to["address"] if isinstance(to, dict) else str(to)
        self.shop = to.get("agent") if isinstance(to, dict) else None
        self.amount = round_to_atomic(self.args.amount)
        self.payment_id = self._fresh_payment_id() if self.args.payment_id else None
        self.destination = None if self.payment_id else self.address

    def update(self) -> Status:
        if self.unsettled is not None:
            settle_orders(self, [self.unsettled], self._order_book())
            self.unsettled = None
            return self.wake_in(0)
        order = {"payment_id": self.payment_id, "shop": self.shop, "amount": self.amount}
        if self.destination is None:
            # The order is in the book before the transfer (a crash in between leaves it open
            # for RecoverOrders) and in the same tick (a stop between the two would too).
            made = self.ctx.wallet.make_integrated_address(self.payment_id, self.address)
            self.destination = made["integrated_address"]
            self.record(ORDER_PLACED, **order)
            self._order_book().append("order_placed", **order)
        signed = self._sign(order)
        payment = {**order, "fee": signed["fee"], "txid": signed["tx_hash"]}
        self._relay(payment, signed["tx_metadata"])
        self.record(PAYMENT_SENT, **payment)
        if self.payment_id:
            self._order_book().append("order_paid", payment_id=self.payment_id,
                                      txid=payment["txid"], fee=payment["fee"])
        self.write("output", payment)
        return Status.SUCCESS

    def _sign(self, order: dict) -> dict:
        """The signed, unsent transaction (in the book as `order_signed`); a refusal or no
        answer cancels the order (nothing was sent) and is raised."""
        try:
            signed = self.ctx.wallet.transfer([(self.destination, self.amount)],
                                              priority=self.args.priority, do_not_relay=True,
                                              get_tx_metadata=True)
        except RpcError as exc:        # signing never sends: the order is void
            self._fail(order, exc)
            raise
        if self.payment_id:
            self._order_book().append("order_signed", payment_id=self.payment_id,
                                      txid=signed["tx_hash"], fee=signed["fee"],
                                      metadata=signed["tx_metadata"])
        return signed

    def _relay(self, payment: dict, metadata: str) -> None:
        """relay_tx; raises when the payment is not known to have gone out (after booking it
        unsettled or failed)."""
        try:
            self.ctx.wallet.relay_tx(metadata)
            return
        except JsonRpcError as exc:   # it may have reached the daemon before the refusal
            refused = exc
        except RpcError:              # no answer: it may have gone out
            if self.payment_id:
                self.unsettled = {**payment, "metadata": metadata}
            raise
        try:
            held = known_to_daemon(self.ctx.daemon, payment["txid"])
        except RpcError:
            if self.payment_id:
                self.unsettled = {**payment, "metadata": metadata}
            raise refused from None
        if held is None:
            self._fail({k: payment[k] for k in ("payment_id", "shop", "amount")}, refused)
            raise refused

    def _fail(self, order: dict, exc: Exception) -> None:
        """`payment_failed` with the error's code (None: no answer); the order cancelled."""
        code = exc.code if isinstance(exc, JsonRpcError) else None
        self.record(PAYMENT_FAILED, **order, code=code, error=type(exc).__name__)
        if self.payment_id:
            self._order_book().append("order_cancelled", payment_id=self.payment_id, code=code)

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

    Reads the agent's own order book (file) for orders neither paid nor cancelled. A signed
    one (`order_signed`: txid and metadata) is paid when the daemon holds its txid
    (`/get_transactions`; in the pool it is also handed back to the wallet with `relay_tx`,
    so that a wallet restarted from an older file books the spend) or when the wallet relays
    it again; cancelled when the wallet refuses it (e.g. its inputs went into another
    transaction). Orders never signed were never sent: one `get_transfers {out, pending,
    pool}` (for orders booked before SendTx signed first), else cancelled as lost. Paid
    orders are journaled `payment_sent {…, recovered: true, settled: daemon|relayed|wallet}`
    and marked `order_paid`; the others `payment_failed {recovered: true, error: refused|lost}`
    and `order_cancelled`. Never pays anything not signed for that order. Returns SUCCESS (at
    once when nothing is open), FAILURE on an RPC error (the orders not settled stay open).
    """

    RPC = ("daemon.get_transactions", "wallet.relay_tx", "wallet.get_transfers")

    def update(self) -> Status:
        index = ipc.OrderIndex(self.ctx.shared_dir)
        index.refresh()
        open_orders = [o for o in index.orders.values()
                       if o.get("agent") == self.ctx.agent_id and not o.get("cancelled")
                       and not o.get("paid")]
        if not open_orders:
            return Status.SUCCESS
        book = ipc.OrderBookWriter(self.ctx.shared_dir, self.ctx.agent_id, self.ctx.now)
        try:
            settle_orders(self, open_orders, book)
        finally:
            book.close()
        return Status.SUCCESS


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
