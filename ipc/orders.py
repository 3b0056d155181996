"""Order books: RUN/shared/orders/<user>.jsonl, one writer each (the paying user).

A user appends `order_placed` before it sends a payment, `order_signed` (txid, fee and the
wallet's `metadata` of the signed transaction) before it relays it, then `order_paid` (with
the txid) or `order_cancelled` when the payment fails, so a marketplace can match an incoming
payment ID to its order and a restarted user can settle an order it left open: a signed one
by asking the daemon for its txid, or by relaying it again.
"""

from pathlib import Path

from .ids import validate_agent_id
from .journal import JournalReader, JournalWriter

__all__ = ["orders_dir", "OrderBookWriter", "OrderIndex"]


def orders_dir(shared_dir) -> Path:
    """Return ``<shared_dir>/orders``."""
    return Path(shared_dir) / "orders"


def OrderBookWriter(shared_dir, agent_id, clock) -> JournalWriter:
    """The journal writer of `agent_id`'s order book (records carry "agent": the user)."""
    return JournalWriter(orders_dir(shared_dir) / f"{validate_agent_id(agent_id)}.jsonl",
                         clock=clock, agent=agent_id)


class OrderIndex:
    """Every order of every user by payment ID, read incrementally from the order books.

    ``refresh()`` reads what was appended since the last call (file reads only). An order is a
    dict with at least ``payment_id``, ``shop``, ``amount`` and ``agent`` (the user); a signed
    one has ``txid`` and ``fee``, and ``metadata`` while it is open; a cancelled order keeps
    ``cancelled: True``, a paid one ``paid: True``.
    """

    def __init__(self, shared_dir):
        self.directory = orders_dir(shared_dir)
        self._readers: dict[str, JournalReader] = {}
        self.orders: dict[str, dict] = {}

    def refresh(self) -> int:
        """Read new order lines; return how many were read."""
        if not self.directory.is_dir():
            return 0
        count = 0
        for path in sorted(self.directory.glob("*.jsonl")):
            reader = self._readers.setdefault(path.name, JournalReader(path))
            for record in reader.read_new():
                count += 1
                payment_id = record.get("payment_id")
                if not isinstance(payment_id, str):
                    continue
                self._apply(record, payment_id)
        return count

    def _apply(self, record: dict, payment_id: str) -> None:
        event, order = record.get("event"), self.orders.get(payment_id)
        if event == "order_placed":
            self.orders[payment_id] = dict(record)
        elif order is None:
            return
        elif event == "order_signed":
            order.update({k: record.get(k) for k in ("txid", "fee", "metadata")})
        elif event in ("order_cancelled", "order_paid"):
            order["cancelled" if event == "order_cancelled" else "paid"] = True
            order.pop("metadata", None)     # ~7.5 kB a signed order: kept only while open

    def get(self, payment_id: str) -> dict | None:
        """The order with `payment_id`, or None."""
        return self.orders.get(payment_id)
