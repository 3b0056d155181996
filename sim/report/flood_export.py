"""`monerosim export`'s flood tables (`sim.report.flood`), written when the run journaled spam,
mempool or block reads:

  mempool.csv     one row per mempool read: daemon, reader, time, transactions, bytes, fees, height
  spam.csv        one row per spam transaction sent or refused: its block and time to it
  block_fill.csv  one row per block read: transactions, spam among them, weight
  fee_tiers.csv   one row per payment sent: its payer's fee tier, phase of the flood, block, time to it
"""
from __future__ import annotations

import pandas as pd

from lang.events import BLOCK_READ, MEMPOOL_READ, SPAM_FAILED, SPAM_SENT
from sim.report.export import Loaded, _frame, _records, _since
from sim.report.flood import flood_figures
from sim.report.load import number

__all__ = ["FLOOD_TABLES", "flood_tables"]

FLOOD_TABLES = ("mempool", "spam", "block_fill", "fee_tiers")
MEMPOOL_COLUMNS = ["daemon", "agent", "time_s", "t", "txs", "bytes", "fees", "height"]
SPAM_COLUMNS = ["agent", "outcome", "txid", "priority", "amount", "fee", "weight", "code", "error",
                "time_s", "t", "height", "to_block"]
BLOCK_FILL_COLUMNS = ["height", "time_s", "txs", "spam", "weight", "full"]
TIER_COLUMNS = ["txid", "user", "tier", "phase", "sent_s", "height", "to_block", "blocks"]


def _mempool(run: Loaded) -> pd.DataFrame:
    rows = [{"daemon": r.get("daemon"), "agent": agent, "t": number(r.get("t")),
             "time_s": _since(number(r.get("t")), run.origin),
             **{k: r.get(k) for k in ("txs", "bytes", "fees", "height")}}
            for agent, r in _records(run.files, MEMPOOL_READ)]
    rows.sort(key=lambda r: (r["t"] is None, r["t"] or 0, str(r["daemon"])))
    return _frame(rows, MEMPOOL_COLUMNS, ints=("txs", "bytes", "fees", "height"))


def _spam(run: Loaded, flood: dict) -> pd.DataFrame:
    came = {b["height"]: b["t"] for b in flood["blocks"]["series"]}
    holding: dict[str, int] = {}
    for _agent, r in _records(run.files, BLOCK_READ):
        for txid in r.get("tx_hashes") or ():
            holding.setdefault(txid, r.get("height"))
    rows = []
    for agent, r in _records(run.files, SPAM_SENT, SPAM_FAILED):
        t = number(r.get("t"))
        row = {"agent": agent, "outcome": "sent" if r["event"] == SPAM_SENT else "failed", "t": t,
               "time_s": _since(t, run.origin),
               **{k: r.get(k) for k in ("txid", "priority", "amount", "fee", "weight", "code", "error")}}
        row["height"] = holding.get(row["txid"]) if row["txid"] else None
        block_s = came.get(row["height"])
        row["to_block"] = None if block_s is None or t is None else round(block_s - row["time_s"], 6)
        rows.append(row)
    rows.sort(key=lambda r: (r["t"] is None, r["t"] or 0, r["agent"]))
    return _frame(rows, SPAM_COLUMNS, ints=("priority", "amount", "fee", "weight", "code", "height"))


def flood_tables(run: Loaded) -> dict[str, pd.DataFrame]:
    """The four tables of `run`, by name ({} when it has no flood events)."""
    flood = flood_figures(run.files, run.tally, run.origin)
    if flood is None:
        return {}
    fill = [{**b, "time_s": b["t"]} for b in flood["blocks"]["series"]]
    tiers = [{**p, "sent_s": p["sent"]} for p in flood["payments"]]
    return {"mempool": _mempool(run), "spam": _spam(run, flood),
            "block_fill": _frame(fill, BLOCK_FILL_COLUMNS, ints=("height", "txs", "spam", "weight"),
                                 bools=("full",)),
            "fee_tiers": _frame(tiers, TIER_COLUMNS, ints=("height", "blocks"))}
