"""The tally: journal records folded one at a time into counts of blocks, payments and errors.

The launcher's progress line, the final summary and the report count through it, so they agree.
Payment bookkeeping: see `sim.report.summary`.
"""
from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar

from lang.events import (AGENT_STARTED, AGENT_STOPPED, BLOCK_LATE, BLOCK_MINED, BLOCK_WITHHELD, BLOCKS_RELEASED,
                         BOOTSTRAP_MINED, FUNDED,
                         LEAF_FAILED, ORDER_PLACED, PAYMENT_CONFIRMED, PAYMENT_FAILED, PAYMENT_SEEN,
                         PAYMENT_SENT, PEERS_FUNDED, POOL_REGISTERED, RPC_FAILED, SIGNAL_ISSUED,
                         WAITING, WALLET_CREATED, WALLET_OPENED)

__all__ = ["Tally", "AgentTally"]


def _int(value: Any, default: int = 0) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _t(record: dict) -> float:
    """The record's time, 0 when it has none (or not a number)."""
    t = record.get("t", 0)
    return t if isinstance(t, (int, float)) and not isinstance(t, bool) else 0


def _earliest(record: dict) -> tuple:
    """Sort key: by time, records without one last."""
    t = record.get("t")
    timed = isinstance(t, (int, float)) and not isinstance(t, bool)
    return (not timed, t if timed else 0)


_QUIET = (AGENT_STOPPED, LEAF_FAILED, RPC_FAILED)   # do not end a wait
IN_FLIGHT = 300.0   # simulated s: a payment sent this close to its payee's end may not show


@dataclass
class AgentTally:
    role: str | None = None
    tree: str | None = None
    ticks: int | None = None
    status: str | None = None        # the root's status when it stopped
    started: bool = False
    stopped: bool = False
    stop_reason: str | None = None
    leaf_failed: int = 0
    rpc_failed: int = 0
    codes: Counter = field(default_factory=Counter)
    last_error: str | None = None
    waiting: dict | None = None      # its last `waiting` record, while nothing else followed
    events: Counter = field(default_factory=Counter)   # event name -> records
    last_t: float = 0.0              # time of its last record


class Tally:
    """Counts over journal records, fed in any order of agents, each agent's in journal order."""

    def __init__(self) -> None:
        self.agents: dict[str, AgentTally] = {}
        self.hashrate: dict[str, float] = {}
        self.pool_blocks: Counter = Counter()
        self.bootstrap: Counter = Counter()
        self.signals = 0
        self.late = 0
        self.orders = 0
        self.sent: list[dict] = []
        self.failed: list[dict] = []
        self.seen: dict[tuple, dict] = {}        # (shop, txid, payment id) -> first payment_seen
        self.confirmed: dict[tuple, dict] = {}   # (shop, txid, payment id) -> first payment_confirmed
        self.funding_txids: set[str] = set()
        self.funded = 0
        self.height = 0
        self.wallet_at: dict[str, float] = {}     # agent -> when its wallet was first open
        self.funded_at: dict[str, float] = {}     # agent -> when it was first funded
        self.first_signal: float | None = None
        self.bootstrap_height = 0                 # the top of the controller's bootstrap blocks
        self.block_hashes: dict[str, str] = {}    # hash of a block a pool mined -> the pool
        self.released: set[str] = set()           # withheld blocks handed to the public daemon
        self.finders: list[tuple[float, str]] = []   # (t, pool) of every block a pool mined

    def agent(self, agent_id: str) -> AgentTally:
        return self.agents.setdefault(agent_id, AgentTally())

    @property
    def errors(self) -> int:
        return sum(a.leaf_failed + a.rpc_failed for a in self.agents.values())

    def feed(self, record: dict, agent_id: str | None = None) -> None:
        agent_id = record.get("agent") or agent_id or "?"
        event = record.get("event")
        handler = self.HANDLERS.get(event) if isinstance(event, str) else None
        if handler is not None:
            handler(self, record, agent_id)
        if event not in _QUIET:
            self.agent(agent_id).waiting = record if event == WAITING else None
        if isinstance(event, str):
            tally = self.agent(agent_id)
            tally.events[event] += 1
            tally.last_t = max(tally.last_t, _t(record))
        height = _int(record.get("height"))
        if height > self.height and event in (BLOCK_MINED, BOOTSTRAP_MINED, SIGNAL_ISSUED):
            self.height = height

    # engine
    def _on_agent_started(self, r: dict, a: str) -> None:
        tally = self.agent(a)
        tally.started = True
        tally.role = r.get("role") or tally.role
        tally.tree = r.get("tree") if isinstance(r.get("tree"), str) else tally.tree

    def _on_agent_stopped(self, r: dict, a: str) -> None:
        tally = self.agent(a)
        tally.stopped, tally.stop_reason = True, r.get("reason")
        tally.ticks = _int(r.get("ticks"), tally.ticks)
        tally.status = r.get("status") if isinstance(r.get("status"), str) else tally.status

    def _error(self, r: dict, a: str) -> None:
        tally = self.agent(a)
        code = r.get("code")
        if code is not None or r.get("event") == RPC_FAILED:
            tally.codes[str(code) if code is not None else str(r.get("error") or "none")] += 1
        what = r.get("method") or r.get("node") or ""
        tally.last_error = f"{what}: {r.get('message') or r.get('error') or ''}".strip(": ")

    def _on_leaf_failed(self, r: dict, a: str) -> None:
        self.agent(a).leaf_failed += 1
        self._error(r, a)

    def _on_rpc_failed(self, r: dict, a: str) -> None:
        self.agent(a).rpc_failed += 1
        self._error(r, a)

    # controller and pools
    def _on_bootstrap_mined(self, r: dict, a: str) -> None:
        self.bootstrap[str(r.get("pool") or a)] += _int(r.get("blocks"), 1)
        self.bootstrap_height = max(self.bootstrap_height, _int(r.get("height")))

    def _on_signal_issued(self, r: dict, a: str) -> None:
        self.signals += 1
        if self.first_signal is None:
            self.first_signal = _t(r)

    def _on_block_late(self, r: dict, a: str) -> None:
        self.late += 1

    def _on_pool_registered(self, r: dict, a: str) -> None:
        if isinstance(r.get("hashrate"), (int, float)) and not isinstance(r.get("hashrate"), bool):
            self.hashrate[a] = float(r["hashrate"])

    def _on_block_mined(self, r: dict, a: str) -> None:
        self.pool_blocks[a] += _int(r.get("blocks"), 1)
        if isinstance(r.get("hash"), str):
            self.block_hashes[r["hash"]] = a
        self.finders.append((_t(r), a))

    def _on_blocks_released(self, r: dict, a: str) -> None:
        self.released.update(h for h in r.get("hashes") or () if isinstance(h, str))

    def _on_peers_funded(self, r: dict, a: str) -> None:
        self.funding_txids.update(t for t in r.get("txids") or () if isinstance(t, str))

    # users and marketplaces
    def _on_order_placed(self, r: dict, a: str) -> None:
        self.orders += 1

    def _on_payment_sent(self, r: dict, a: str) -> None:
        self.sent.append({**r, "agent": a})

    def _on_payment_failed(self, r: dict, a: str) -> None:
        self.failed.append({**r, "agent": a})

    def _on_funded(self, r: dict, a: str) -> None:
        self.funded += 1
        self.funded_at.setdefault(a, _t(r))

    def _on_wallet_created(self, r: dict, a: str) -> None:
        self.wallet_at.setdefault(a, _t(r))

    def _on_payment_seen(self, r: dict, a: str) -> None:
        self.seen.setdefault((a, r.get("txid"), r.get("payment_id")), {**r, "agent": a})

    def _on_payment_confirmed(self, r: dict, a: str) -> None:
        self.confirmed.setdefault((a, r.get("txid"), r.get("payment_id")), {**r, "agent": a})

    # event -> handler(tally, record, agent id); events not listed are only counted
    HANDLERS: ClassVar[dict[str, Callable[[Tally, dict, str], None]]] = {
        AGENT_STARTED: _on_agent_started, AGENT_STOPPED: _on_agent_stopped,
        LEAF_FAILED: _on_leaf_failed, RPC_FAILED: _on_rpc_failed,
        BOOTSTRAP_MINED: _on_bootstrap_mined, SIGNAL_ISSUED: _on_signal_issued,
        BLOCK_LATE: _on_block_late, POOL_REGISTERED: _on_pool_registered,
        BLOCK_MINED: _on_block_mined, BLOCK_WITHHELD: _on_block_mined,   # mined, kept private
        BLOCKS_RELEASED: _on_blocks_released, PEERS_FUNDED: _on_peers_funded,
        ORDER_PLACED: _on_order_placed, PAYMENT_SENT: _on_payment_sent,
        PAYMENT_FAILED: _on_payment_failed, FUNDED: _on_funded,
        WALLET_CREATED: _on_wallet_created, WALLET_OPENED: _on_wallet_created,
        PAYMENT_SEEN: _on_payment_seen, PAYMENT_CONFIRMED: _on_payment_confirmed,
    }

    # ------------------------------------------------------------ results
    def blocks(self) -> dict:
        pools = sorted(set(self.hashrate) | set(self.pool_blocks))
        total = sum(self.pool_blocks.values())
        rate_sum = sum(self.hashrate.get(p, 0.0) for p in pools)
        out = {}
        for pool in pools:
            rate = self.hashrate.get(pool)
            share = rate / rate_sum if rate is not None and rate_sum > 0 else None
            out[pool] = {"hashrate": rate, "share": share, "blocks": self.pool_blocks[pool],
                         "actual_share": self.pool_blocks[pool] / total if total else None,
                         "expected": share * total if share is not None else None,
                         "bootstrap": self.bootstrap[pool]}
        return {"total": total, "bootstrap": sum(self.bootstrap.values()), "signals": self.signals,
                "late": self.late, "pools": out}

    def payment_rows(self) -> list[dict]:
        """Each `payment_sent`, in feed order, joined with its shop's records by payment id.

        A row: user, shop, payment_id, txid, amount, fee, t (sent), seen_t (first sighting,
        pool or block), seen_amount, statuses, confirmed_t, height (of the block holding it:
        the confirmation's, else the first sighting in a block) and outcome: matched,
        mismatched, missing or unmatched (seen only as unknown / wrong_shop).
        """
        seen_by: dict[tuple, list[dict]] = {}
        for (shop, _txid, pid), record in self.seen.items():
            seen_by.setdefault((shop, pid), []).append(record)
        confirmed_by: dict[tuple, list[dict]] = {}
        for (shop, _txid, pid), record in self.confirmed.items():
            confirmed_by.setdefault((shop, pid), []).append(record)
        rows = []
        for p in self.sent:
            key = (p.get("shop"), p.get("payment_id"))
            seen = sorted(seen_by.get(key, []), key=_earliest)
            confirmed = sorted(confirmed_by.get(key, []), key=_earliest)
            statuses = sorted({str(r.get("status")) for r in seen})
            amounts_differ = any(r.get("amount") is not None and p.get("amount") is not None
                                 and r.get("amount") != p.get("amount") for r in seen)
            if not seen:
                outcome = "missing"
            elif "matched" in statuses and not amounts_differ:
                outcome = "matched"
            elif "amount_mismatch" in statuses or "matched" in statuses:
                outcome = "mismatched"
            else:
                outcome = "unmatched"
            heights = [_int(r.get("height")) for r in confirmed + seen if _int(r.get("height")) > 0]
            rows.append({"user": p["agent"], "shop": p.get("shop"), "payment_id": p.get("payment_id"),
                         "txid": p.get("txid"), "amount": p.get("amount"), "fee": p.get("fee"),
                         "t": _t(p), "seen_t": _t(seen[0]) if seen else None,
                         "seen_amount": seen[0].get("amount") if seen else None,
                         "statuses": statuses,
                         "confirmed_t": _t(confirmed[0]) if confirmed else None,
                         "height": heights[0] if heights else None, "outcome": outcome})
        return rows

    def payments(self) -> dict:
        rows = self.payment_rows()
        counts = Counter(r["outcome"] for r in rows)
        seen = [r for r in rows if r["seen_t"] is not None]
        to_seen = [r["seen_t"] - r["t"] for r in seen]
        to_confirmed = [r["confirmed_t"] - r["t"] for r in seen if r["confirmed_t"] is not None]
        accounted = {(r["shop"], r["payment_id"]) for r in rows}
        unknown = sum(1 for (shop, txid, pid), r in self.seen.items()
                      if (r.get("status") == "unknown" or (shop, pid) not in accounted)
                      and txid not in self.funding_txids)     # a pool's funding has no order
        failure_codes = Counter(str(f.get("code", f.get("error"))) for f in self.failed)
        by_agent = Counter(r["user"] for r in rows)
        return {"orders": self.orders, "sent": len(self.sent), "failed": len(self.failed),
                "by_agent": dict(sorted(by_agent.items())),
                "seen": len(seen), "confirmed": len(to_confirmed),
                "matched": counts["matched"], "mismatched": counts["mismatched"],
                "missing": counts["missing"], "unknown": unknown,
                "seen_records": len(self.seen), "confirmed_records": len(self.confirmed),
                "failure_codes": dict(sorted(failure_codes.items())),
                "in_flight": self._in_flight(rows),
                "latency": {"seen": _stats(to_seen), "confirmed": _stats(to_confirmed)}}

    def _in_flight(self, rows: list[dict]) -> dict:
        """Missing or unconfirmed payments sent less than IN_FLIGHT before their payee's last
        record: the run ended (or the payee stopped) before it could see or confirm them."""
        late = [r for r in rows if r["t"] > self.agent(r["shop"] or "?").last_t - IN_FLIGHT]
        return {"missing": sum(1 for r in late if r["outcome"] == "missing"),
                "unconfirmed": sum(1 for r in late
                                   if r["seen_t"] is not None and r["confirmed_t"] is None)}

    def transactions(self) -> dict:
        payments = {p["txid"] for p in self.sent if isinstance(p.get("txid"), str)}
        return {"sent": len(payments | self.funding_txids), "payments": len(payments),
                "funding": len(self.funding_txids)}


def _stats(values: list[float]) -> dict | None:
    if not values:
        return None
    return {"n": len(values), "mean": round(statistics.fmean(values), 3),
            "median": round(statistics.median(values), 3), "max": round(max(values), 3)}
