"""`monerosim export RUN -o DIR`: one run directory as CSV tables for pandas (or any tool).

  payments.csv  one row per payment or order: every time, user, shop, amounts, txid, outcome
  blocks.csv    one row per block journaled by a pool (on a signal) or by the controller (bootstrap)
  events.csv    one row per journal record of every agent, whatever its role or event
  agents.csv    one row per agent: role, group, start / stop, how it ended
when two or more daemons left a log (`sim.report.propagation`):
  propagation.csv  one row per transaction or block and daemon that saw it: its delay after the origin
  forks.csv        one row per alternative block a daemon added and per reorganisation
  spies.csv        with spy nodes: one row per transaction scored by the first-spy estimator
                   (`sim.report.spies`): origin, its Dandelion++ mode, first spy, guess, right
when a pool withheld blocks (`sim.report.selfish`):
  selfish.csv      one row per pool: hashrate share, blocks mined, main-chain blocks, orphaned, test

The run is read by `sim.report.load` and counted by `sim.report.summary.Tally`, so the tables agree
with the summary and the report. Times are simulated: `*_t` is the journal's `t` (engine
clock), `*_s` is seconds since the origin, the first `agent_started` (`sim.report.metrics`);
in the two daemon tables, seconds of the daemons' clocks since the first line of any daemon log.
Every table is built before anything is written; each file is replaced atomically.
"""
from __future__ import annotations

import errno
import json
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from lang.errors import InputError
from lang.events import (AGENT_STARTED, AGENT_STOPPED, BLOCK_MINED, BLOCK_WITHHELD, BOOTSTRAP_MINED, ORDER_PLACED,
                         SIGNAL_ISSUED)
from rpc_client.amounts import ATOMIC_PER_XMR as XMR
from sim.report.load import NotARunDirectory, RunFiles, number, read_run
from sim.report.metrics import block_times, origin_of
from sim.report.spies import GUESS_COLUMNS, first_spy, spy_names
from sim.report.summary import Tally, build_summary, run_propagation, tally_journals

__all__ = ["ExportError", "Loaded", "load", "tables", "export", "TABLES", "NETWORK_TABLES", "XMR"]

TIMES = ("placed", "sent", "seen", "mined", "confirmed", "failed")
LATENCIES = ("seen", "mined", "confirmed")
PAYMENT_COLUMNS = (["user", "shop", "payment_id", "txid", "outcome", "shop_statuses", "amount_xmr",
                    "amount", "fee_xmr", "fee", "seen_amount", "height", "recovered", "code", "error"]
                   + [f"{w}_s" for w in TIMES] + [f"{w}_t" for w in TIMES]
                   + [f"sent_to_{w}" for w in LATENCIES])
BLOCK_COLUMNS = ["height", "time_s", "t", "pool", "kind", "agent", "seq", "hash", "signal_s",
                 "signal_t", "signal_to_block"]
EVENT_COLUMNS = ["agent", "role", "event", "t", "time_s", "record"]     # + fields, then `data`
AGENT_COLUMNS = ["agent", "role", "group", "tree", "stop_order", "started", "stopped", "start_s",
                 "stop_s", "last_s", "start_t", "stop_t", "last_t", "stop_reason", "status",
                 "ticks", "outcome", "exit_code", "detail", "records", "corrupt_lines", "torn",
                 "leaf_failed", "rpc_failed", "payments_sent", "blocks"]
PROPAGATION_COLUMNS = ["kind", "hash", "height", "origin", "origin_rpc", "daemon", "region", "delay_s",
                       "seen_s", "from_peer", "from_daemon"]
FORK_COLUMNS = ["kind", "daemon", "region", "time_s", "at", "height", "depth", "top", "size", "ok", "hash",
                "orphaned", "miner"]
TABLES = ("payments", "blocks", "events", "agents")
NETWORK_TABLES = ("propagation", "forks")     # written when two or more daemons left a log


class ExportError(InputError):
    """The output directory or one of its files cannot be written."""


@dataclass
class Loaded:
    """A run directory read and counted once for all tables."""

    files: RunFiles
    tally: Tally
    summary: dict
    origin: float
    network: dict | None = None     # sim.report.propagation's result, items included


def load(run_dir: str | Path) -> Loaded:
    """Read and count `run_dir` (raises `sim.report.load.NotARunDirectory`), as the report does."""
    files = read_run(run_dir)
    tally = tally_journals(files.journals, [r for r in files.registry if r.get("role") == "pool"])
    for journal in files.journals:     # an empty journal still names an agent (that never started)
        tally.agent(journal.agent)
    network = run_propagation(files.dir, tally, files.run)
    return Loaded(files, tally, build_summary(files.dir, tally, files.run, network=network),
                  origin_of(files)[0], network)


def _atomic(value: Any) -> int | None:
    """An atomic amount, code or height: an int (not a bool), else None."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _xmr(value: Any) -> float | None:
    return None if _atomic(value) is None else value / XMR


def _since(t: float | None, origin: float) -> float | None:
    return None if t is None else round(t - origin, 6)


def _records(files: RunFiles, *names: str):
    """(agent, record) for every journal record whose event is one of `names`, in journal order."""
    for journal in files.journals:
        for record in journal.records:
            if record.get("event") in names:
                yield record.get("agent") or journal.agent, record


def _times(row: dict, origin: float, **times: float | None) -> None:
    """Add `<what>_t` (journal time) and `<what>_s` (since the origin) for each given time."""
    for what, t in times.items():
        row[f"{what}_t"], row[f"{what}_s"] = t, _since(t, origin)


def _payment_row(run: Loaded, sent: dict, paid: dict, placed: dict, blocks: dict) -> dict:
    """One `Tally.payment_rows()` row (`paid`) of the `payment_sent` record `sent`, with times."""
    t = number(paid["t"])
    mined = [b for b in blocks.get(paid["height"], ()) if t is not None and b >= t]
    row = {"user": paid["user"], "shop": paid["shop"], "payment_id": paid["payment_id"],
           "txid": paid["txid"], "outcome": paid["outcome"], "shop_statuses": "|".join(paid["statuses"]),
           "amount": _atomic(paid["amount"]), "fee": _atomic(paid["fee"]),
           "seen_amount": _atomic(paid["seen_amount"]), "height": paid["height"],
           "recovered": bool(sent.get("recovered"))}
    _times(row, run.origin, placed=placed.get((paid["user"], paid["payment_id"])), sent=t,
           seen=number(paid["seen_t"]), mined=mined[0] if mined else None,
           confirmed=number(paid["confirmed_t"]))
    for what in LATENCIES:
        end = row[f"{what}_t"]
        row[f"sent_to_{what}"] = None if end is None or t is None else round(end - t, 6)
    return row


def payments_table(run: Loaded) -> pd.DataFrame:
    """Every `payment_sent` (outcome matched / mismatched / missing / unmatched, as the summary's),
    every `payment_failed` (outcome failed) and every order that became neither (open)."""
    placed: dict[tuple, float | None] = {}
    for agent, record in _records(run.files, ORDER_PLACED):
        placed.setdefault((agent, record.get("payment_id")), number(record.get("t")))
    blocks = block_times(run.files)
    rows = [_payment_row(run, sent, paid, placed, blocks)
            for sent, paid in zip(run.tally.sent, run.tally.payment_rows())]
    for failed in run.tally.failed:
        row = {"user": failed["agent"], "shop": failed.get("shop"), "outcome": "failed",
               "payment_id": failed.get("payment_id"), "amount": _atomic(failed.get("amount")),
               "code": _atomic(failed.get("code")), "error": failed.get("error"),
               "recovered": bool(failed.get("recovered"))}
        _times(row, run.origin, placed=placed.get((failed["agent"], failed.get("payment_id"))),
               failed=number(failed.get("t")))
        rows.append(row)
    done = {(r["user"], r["payment_id"]) for r in rows}
    for agent, record in _records(run.files, ORDER_PLACED):
        if (agent, record.get("payment_id")) not in done:
            done.add((agent, record.get("payment_id")))
            row = {"user": agent, "shop": record.get("shop"), "payment_id": record.get("payment_id"),
                   "amount": _atomic(record.get("amount")), "outcome": "open", "recovered": False}
            _times(row, run.origin, placed=number(record.get("t")))
            rows.append(row)
    for row in rows:
        row["amount_xmr"], row["fee_xmr"] = _xmr(row.get("amount")), _xmr(row.get("fee"))
    rows.sort(key=lambda r: next((r[f"{w}_t"] for w in ("placed", "sent", "failed")
                                  if r.get(f"{w}_t") is not None), float("inf")))
    return _frame(rows, PAYMENT_COLUMNS, ints=("amount", "fee", "seen_amount", "height", "code"),
                  bools=("recovered",))


def blocks_table(run: Loaded) -> pd.DataFrame:
    """One row per block height a `block_mined` (kind pool), `block_withheld` (kind withheld: its
    height is on the pool's private chain) or `bootstrap_mined` (kind bootstrap) record covers: a
    record of n blocks at height h covers h-n+1 .. h (its hash is h's)."""
    signals: dict[int, float | None] = {}
    for _agent, record in _records(run.files, SIGNAL_ISSUED):
        if _atomic(record.get("seq")) is not None:
            signals.setdefault(record["seq"], number(record.get("t")))
    rows = []
    kinds = {BLOCK_MINED: "pool", BLOCK_WITHHELD: "withheld", BOOTSTRAP_MINED: "bootstrap"}
    for agent, record in _records(run.files, BLOCK_MINED, BLOCK_WITHHELD, BOOTSTRAP_MINED):
        count = _atomic(record.get("blocks"))
        count = count if count is not None and count > 0 else 1
        top = _atomic(record.get("height"))
        heights = range(top - count + 1, top + 1) if top is not None else [None] * count
        pool = (record.get("pool") or agent) if record["event"] == BOOTSTRAP_MINED else agent
        seq, t = _atomic(record.get("seq")), number(record.get("t"))
        signal_t = signals.get(seq) if seq is not None else None
        for height in heights:
            row = {"height": height, "pool": pool, "agent": agent, "seq": seq,
                   "kind": kinds[record["event"]],
                   "hash": record.get("hash") if height == top else None,
                   "t": t, "time_s": _since(t, run.origin),
                   "signal_to_block": None if t is None or signal_t is None else round(t - signal_t, 6)}
            _times(row, run.origin, signal=signal_t)
            rows.append(row)
    rows.sort(key=lambda r: (r["t"] is None, r["t"] or 0, r["height"] or 0))
    return _frame(rows, BLOCK_COLUMNS, ints=("height", "seq"))


def _role(run: Loaded) -> dict[str, str | None]:
    """Agent → role: its `agent_started`, else its registry record."""
    roles = {r["agent"]: r.get("role") for r in run.files.registry if isinstance(r.get("agent"), str)}
    roles.update({a: t.role for a, t in run.tally.agents.items() if t.role})
    return roles


def events_table(run: Loaded) -> pd.DataFrame:
    """Every complete journal record: fixed columns, one column per field holding a plain value
    (text, number, bool) in some record, and `data`: all fields but agent / event / t as JSON."""
    roles, rows, fields = _role(run), [], set()
    for journal in run.files.journals:
        for index, record in enumerate(journal.records):
            agent = record.get("agent") or journal.agent
            rest = {k: v for k, v in record.items() if k not in ("agent", "event", "t")}
            simple = {k: v for k, v in rest.items()
                      if k not in EVENT_COLUMNS and isinstance(v, (str, int, float, bool))}
            fields.update(simple)
            rows.append({**simple, "agent": agent, "role": roles.get(agent),
                         "event": record.get("event"), "t": number(record.get("t")),
                         "time_s": _since(number(record.get("t")), run.origin), "record": index,
                         "data": json.dumps(rest, sort_keys=True, separators=(",", ":"), default=str)})
    columns = EVENT_COLUMNS + sorted(fields - {"data"}) + ["data"]
    frame = pd.DataFrame(rows, columns=columns)
    if rows:
        frame = frame.sort_values(["t", "agent", "record"], kind="stable", na_position="last")
    extra = columns[len(EVENT_COLUMNS):-1]
    frame[extra] = frame[extra].convert_dtypes()    # 161, not 161.0
    return frame.reset_index(drop=True)


def agents_table(run: Loaded) -> pd.DataFrame:
    """One row per agent of the journals or of run.json (launcher's outcome: local runs only)."""
    launched = {a["id"]: a for a in (run.files.run or {}).get("agents", [])
                if isinstance(a, dict) and "id" in a}
    journals = {j.agent: j for j in run.files.journals}
    sent = Counter(p["agent"] for p in run.tally.sent)
    first: dict[str, float | None] = {}
    stopped: dict[str, float | None] = {}
    for agent, record in _records(run.files, AGENT_STARTED, AGENT_STOPPED):
        (first if record["event"] == AGENT_STARTED else stopped).setdefault(agent, number(record.get("t")))
    rows = []
    for agent, summary in run.summary["agents"].items():
        tally, entry, journal = run.tally.agents.get(agent), launched.get(agent, {}), journals.get(agent)
        times = [t for t in (number(r.get("t")) for r in journal.records) if t is not None] \
            if journal else []
        row = {"agent": agent, "role": summary["role"], "group": entry.get("group"),
               "tree": (tally.tree if tally else None) or entry.get("tree"), "stop_order": entry.get("stop"),
               "started": summary["started"], "stopped": summary["stopped"],
               "stop_reason": summary["stop_reason"], "status": tally.status if tally else None,
               "ticks": tally.ticks if tally else None, "outcome": entry.get("outcome"),
               "exit_code": _atomic(entry.get("exit_code")), "detail": entry.get("detail"),
               "records": len(journal.records) if journal else 0,
               "corrupt_lines": journal.corrupt if journal else 0, "torn": bool(journal and journal.torn),
               "leaf_failed": summary["leaf_failed"], "rpc_failed": summary["rpc_failed"],
               "payments_sent": sent[agent], "blocks": run.tally.pool_blocks[agent]}
        _times(row, run.origin, start=first.get(agent), stop=stopped.get(agent),
               last=max(times) if times else None)
        rows.append(row)
    return _frame(rows, AGENT_COLUMNS, ints=("ticks", "exit_code"),
                  bools=("started", "stopped", "torn"))


def _frame(rows: list[dict], columns: list[str], ints: tuple = (), bools: tuple = ()) -> pd.DataFrame:
    """`rows` as a DataFrame of `columns`; `ints` may be missing (written empty, read back as
    numbers), `bools` are True / False."""
    frame = pd.DataFrame(rows, columns=columns)
    for column in ints:
        frame[column] = frame[column].astype("Int64")
    for column in bools:
        frame[column] = frame[column].astype("boolean")
    return frame


def propagation_table(network: dict) -> pd.DataFrame:
    """One row per item and daemon that saw it (the origin at delay 0)."""
    region = {d: n["region"] for d, n in network["nodes"].items()}
    rows = [{"kind": item["kind"], "hash": item["hash"], "height": item["height"],
             "origin": item["origin"], "origin_rpc": item["origin_rpc"], "daemon": daemon,
             "region": region.get(daemon), "delay_s": seen["delay"],
             "seen_s": round(item["t"] + seen["delay"], 3), "from_peer": seen["from"],
             "from_daemon": seen["via"]}
            for item in network["items"] for daemon, seen in item["seen_by"].items()]
    return _frame(rows, PROPAGATION_COLUMNS, ints=("height",), bools=("origin_rpc",))


def forks_table(network: dict) -> pd.DataFrame:
    """One row per alternative block a daemon added (orphaned: in no daemon's final chain) and
    per reorganisation (depth: blocks replaced; size: the new chain's, when it succeeded)."""
    forks, region = network["forks"], {d: n["region"] for d, n in network["nodes"].items()}
    orphans = {o["hash"]: o for o in forks["orphaned"]}
    rows = [{"kind": "alternative", "daemon": a["daemon"], "time_s": a["t"], "at": a["at"],
             "height": a["height"], "hash": a["hash"], "orphaned": a["hash"] in orphans,
             "miner": (orphans.get(a["hash"]) or {}).get("miner")} for a in forks["alternatives"]]
    rows += [{"kind": "reorg", "daemon": r["daemon"], "time_s": r["t"], "at": r["at"],
              "height": r["height"], "depth": r["depth"], "top": r["top"], "size": r["size"],
              "ok": r["ok"]} for r in forks["reorgs"]]
    for row in rows:
        row["region"] = region.get(row["daemon"])
    rows.sort(key=lambda r: (r["time_s"], r["daemon"], r["kind"]))
    return _frame(rows, FORK_COLUMNS, ints=("height", "depth", "top", "size"), bools=("ok", "orphaned"))


def tables(run_dir: str | Path) -> dict[str, pd.DataFrame]:
    """Every table of the run in `run_dir`, by name (TABLES, then NETWORK_TABLES when two or
    more daemons left a log, then `sim.report.flood_export.FLOOD_TABLES` when the run journaled
    spam, mempool or block reads)."""
    run = load(run_dir)
    built = {"payments": payments_table(run), "blocks": blocks_table(run),
             "events": events_table(run), "agents": agents_table(run)}
    if run.network is not None:
        built.update(propagation=propagation_table(run.network), forks=forks_table(run.network))
        spied = first_spy(run.network, spy_names(run.files.run))
        if spied is not None:
            built["spies"] = _frame(spied["guesses"], GUESS_COLUMNS, bools=("right",))
    if run.summary.get("selfish"):
        from sim.report.selfish import selfish_rows
        built["selfish"] = pd.DataFrame(selfish_rows(run.summary["selfish"]))
    from sim.report.flood_export import flood_tables   # here: it builds on this module's helpers
    built.update(flood_tables(run))                     # FLOOD_TABLES, with flood events only
    return built


def _stage(frame: pd.DataFrame, path: Path) -> Path:
    """Write `frame` as CSV to a temporary file beside `path` (fsynced); return its path."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8", newline="") as out:
            frame.to_csv(out, index=False)
            out.flush()
            os.fsync(out.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def export(run_dir: str | Path, out: str | Path | None = None) -> dict[Path, int]:
    """Write the tables of `run_dir` into `out` (default RUN/export/); return {csv path: rows}.

    Raises NotARunDirectory (bad RUN) before anything is written, ExportError when `out` or a
    file in it cannot be written. Every table is written to a temporary file first; only when
    all are written do they replace the CSVs in `out`, each atomically, so a failed export
    leaves the files already there whole.
    """
    if Path(run_dir).exists() and not Path(run_dir).is_dir():
        raise NotARunDirectory(f"{run_dir}: not a directory")
    built = tables(run_dir)
    out = Path(out) if out is not None else Path(run_dir) / "export"
    if out.exists() and not out.is_dir():
        raise ExportError(f"{out}: not a directory")
    staged: dict[Path, Path] = {}
    where = out
    try:
        out.mkdir(parents=True, exist_ok=True)
        for name, frame in built.items():
            where = out / f"{name}.csv"
            if where.is_dir():         # would fail only at os.replace, after others replaced
                raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(where))
            staged[where] = _stage(frame, where)
        for where, tmp in staged.items():
            os.replace(tmp, where)
    except OSError as exc:
        raise ExportError(f"{where}: cannot write ({exc.strerror or exc})") from exc
    finally:
        for tmp in staged.values():
            tmp.unlink(missing_ok=True)
    return {path: len(built[path.stem]) for path in staged}
