"""Leaves that send money: a user paying a shop, a pool funding users."""
from __future__ import annotations

import zlib

import ipc
from rpc_client import MAX_DESTINATIONS, JsonRpcError, round_to_atomic

from .base import Leaf, Status, anything, boolean, integer, key, number, string
from .peers import ROLE

__all__ = ["SendTx", "FundPeers"]


class SendTx(Leaf):
    """Pay `amount` XMR to `to`, with a fresh payment ID unless `payment_id` is false.

    `to` is an address or a registry record (e.g. "{shop}" from PickPeer). The payment ID
    (16 hex digits) is drawn from the agent's RNG. Tick 1: `make_integrated_address` for the
    payee and the order (`order_placed {payment_id, shop, amount}`) goes to the journal and to
    the agent's order book in shared/orders/. Tick 2: `transfer`; journals `payment_sent
    {payment_id, shop, amount, fee, txid}` and stores it in `output`; SUCCESS. A refused
    transfer (e.g. not enough unlocked money, -37) journals `payment_failed` with its code,
    cancels the order and returns FAILURE. Amounts are journaled in atomic units.
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
    RPC = ("wallet.make_integrated_address", "wallet.transfer")

    def initialise(self) -> None:
        to = self.args.to
        self.address = to["address"] if isinstance(to, dict) else str(to)
        self.shop = to.get("agent") if isinstance(to, dict) else None
        self.amount = round_to_atomic(self.args.amount)
        self.payment_id = (f"{self.ctx.rng.getrandbits(64):016x}"
                           if self.args.payment_id else None)
        self.destination = None if self.payment_id else self.address

    def update(self) -> Status:
        wallet = self.ctx.wallet
        order = {"payment_id": self.payment_id, "shop": self.shop, "amount": self.amount}
        if self.destination is None:
            made = wallet.make_integrated_address(self.payment_id, self.address)
            self.destination = made["integrated_address"]
            self.record("order_placed", **order)
            self._order_book().append("order_placed", **order)
            return self.wake_in(0)
        try:
            sent = wallet.transfer([(self.destination, self.amount)],
                                   priority=self.args.priority)
        except JsonRpcError as exc:
            self.record("payment_failed", **order, code=exc.code, error=type(exc).__name__)
            if self.payment_id:
                self._order_book().append("order_cancelled", payment_id=self.payment_id,
                                          code=exc.code)
            raise
        payment = {**order, "fee": sent["fee"], "txid": sent["tx_hash"]}
        self.record("payment_sent", **payment)
        self.write("output", payment)
        return Status.SUCCESS

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


class FundPeers(Leaf):
    """Pay registered agents of `role` that this agent has not funded yet.

    Each peer gets `outputs` separate outputs of `amount` XMR (several outputs let it pay
    again before its change unlocks). With `partition`, peers are split among the agents of
    this agent's role (peer i goes to the i-th of them, by id), so each peer is funded once.
    A `refresh` first (one tick), then one `transfer` of at most 16 destinations per tick; journals `peers_funded {txids, peers,
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
    SHOWN = ("role", "amount", "outputs")
    RPC = ("wallet.refresh", "wallet.transfer")

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
        self.record("peers_funded", txids=[sent["tx_hash"]], peers=ids, amount=amount,
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
