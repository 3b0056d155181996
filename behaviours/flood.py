"""Leaves of floods and fee tiers: spam at a fee priority, the daemon's pool and blocks read."""
from __future__ import annotations

from urllib.parse import urlsplit

from rpc_client import JsonRpcError, round_to_atomic

from lang.events import BLOCK_READ, MEMPOOL_READ, SPAM_FAILED, SPAM_SENT

from .base import Leaf, Status, anything, integer, key, number

__all__ = ["SendSpam", "MempoolStats", "BlockStats"]


def daemon_name(url: str | None) -> str:
    """The daemon an agent reads, as `host:port` of its RPC URL (unique per daemon of a run)."""
    parts = urlsplit(url or "")
    return parts.netloc or str(url)


class SendSpam(Leaf):
    """Send `amount` XMR to `to` in one transfer at fee `priority`: one spam transaction.

    One `transfer` (no payment ID, no order): journals `spam_sent {txid, amount, fee, weight,
    priority}` and stores it in `output`; SUCCESS. A refused transfer (e.g. -37 when every
    output is spent or still locked) journals `spam_failed {amount, priority, code, error}`
    and is FAILURE. Each transaction spends one unlocked output of the wallet (its change is
    locked for 10 blocks), so a flood of n transactions needs about n outputs of at least
    `amount` plus the fee. Sending at a rate is the tree's job (RateLimit, Repeat, Timeout).
    Amounts are journaled in atomic units.
    """

    PARAMS = {
        "to": anything("payee: an address, or a registry record with `address` (e.g. the "
                       "agent's own \"{address}\")", random=False),
        "amount": number("XMR per transaction", exclusive_minimum=0, default=0.0001),
        "priority": integer("wallet fee priority: 1 low, 2 normal, 3 high (0: the wallet's "
                            "default)", minimum=0, maximum=3, default=1),
        "output": key("blackboard key for the last spam record"),
    }
    REQUIRED = ("to",)
    OUTPUTS = {"output": "{txid, amount, fee, weight, priority}"}
    SHOWN = ("amount", "priority")
    RPC = ("wallet.transfer",)

    def update(self) -> Status:
        to = self.args.to
        address = to["address"] if isinstance(to, dict) else str(to)
        amount, priority = round_to_atomic(self.args.amount), self.args.priority
        try:
            sent = self.ctx.wallet.transfer([(address, amount)], priority=priority)
        except JsonRpcError as exc:
            self.record(SPAM_FAILED, amount=amount, priority=priority, code=exc.code,
                        error=type(exc).__name__)
            raise
        spam = {"txid": sent["tx_hash"], "amount": amount, "fee": sent["fee"],
                "weight": sent.get("weight"), "priority": priority}
        self.record(SPAM_SENT, **spam)
        self.write("output", spam)
        return Status.SUCCESS


class MempoolStats(Leaf):
    """Read the daemon's transaction pool: how many transactions, bytes and fees it holds.

    Tick 1: `get_info` for the chain height (RUNNING). Tick 2: `get_transaction_pool_stats`;
    journals `mempool_read {daemon, txs, bytes, fees, height}` (`daemon`: host:port of the
    agent's daemon RPC, fees in atomic units), stores it in `output`; SUCCESS. An RPC error
    is FAILURE. Reading at an interval is the tree's job (RateLimit or Wait in a Repeat).
    """

    PARAMS = {"output": key("blackboard key for the reading {daemon, txs, bytes, fees, height}")}
    OUTPUTS = {"output": "{daemon, txs, bytes, fees, height}"}
    RPC = ("daemon.get_info", "daemon.get_transaction_pool_stats")

    def initialise(self) -> None:
        self.height: int | None = None

    def update(self) -> Status:
        daemon = self.ctx.daemon
        if self.height is None:
            self.height = int(daemon.get_info()["height"])
            return self.wake_in(0)
        stats = daemon.get_transaction_pool_stats()
        reading = {"daemon": daemon_name(self.ctx.daemon_url),
                   "txs": int(stats.get("txs_total", 0)), "bytes": int(stats.get("bytes_total", 0)),
                   "fees": int(stats.get("fee_total", 0)), "height": self.height}
        self.record(MEMPOOL_READ, **reading)
        self.write("output", reading)
        return Status.SUCCESS


class BlockStats(Leaf):
    """Journal every block of the daemon's main chain not read yet: its transactions and weight.

    Tick 1: `get_block_count` (RUNNING, or SUCCESS when nothing is new). Then one `get_block`
    per tick (RUNNING between) for each height
    above the last one read (from `from_height` on the first look), each journaled `block_read
    {daemon, height, hash, txs, weight, tx_hashes}` (the coinbase left out of `txs` and
    `tx_hashes`); the last block read goes to `output` (durable, so a restarted agent goes
    on where it stopped). SUCCESS once caught up, FAILURE on an RPC error. A block replaced by
    a reorganisation after it was read is not read again.
    """

    PARAMS = {
        "from_height": integer("first height read by the first look", minimum=0, default=1),
        "output": key("blackboard key for the last block read", default="last_block"),
    }
    OUTPUTS = {"output": "{height, hash, txs, weight} of the last block read"}
    DURABLE = ("output",)
    RPC = ("daemon.get_block_count", "daemon.get_block")

    def initialise(self) -> None:
        self.count: int | None = None

    def update(self) -> Status:
        daemon = self.ctx.daemon
        if self.count is None:
            self.count = daemon.get_block_count()
            return self.wake_in(0) if self._next() < self.count else Status.SUCCESS
        height = self._next()
        block = daemon.get_block(height=height)
        header = block["block_header"]
        read = {"height": height, "hash": header["hash"], "txs": int(header["num_txes"]),
                "weight": int(header["block_weight"])}
        self.record(BLOCK_READ, daemon=daemon_name(self.ctx.daemon_url), **read,
                    tx_hashes=list(block["tx_hashes"]))
        self.write("output", read)
        return self.wake_in(0) if height + 1 < self.count else Status.SUCCESS

    def _next(self) -> int:
        """The next height to read: above the last one read, else `from_height`."""
        last = self.bb.get(self.args.output) if self.bb.exists(self.args.output) else None
        return last["height"] + 1 if last else self.args.from_height
