"""Floods and fee tiers: the `flood` figures of report.json and summary.json.

From the journals of a run with spammers (`spam_sent`, `spam_failed`), monitors (`mempool_read`,
`block_read`) and users paying at fee priorities:

  window   the flood: from the first `spam_sent` to the last (s since the origin)
  spam     sent, failed (by code), set and achieved rate per spammer, fees and bytes, how many a
           block holds (`block_read`'s tx_hashes) and their time to a block
  mempool  per daemon read: its readings (time, transactions, bytes, height) and peak
  blocks   every block read: time, transactions, spam among them, weight against the
           penalty-free zone (300 kB)
  payments each payment sent: its payer's fee tier (the `priority` parameter of its tree, from
           `agent_started`), phase (sent before / during / after the flood), time from sent to
           the block that holds it, and blocks waited
  tiers    per fee tier and phase: those times and blocks waited (n, min, mean, median, p90, max)

A payment's block is the `block_read` that lists its txid, else the height its shop journaled;
its time is when a pool journaled that block (as `sim.report.metrics`'s `mined`), else when it
was read. Blocks waited: that height minus the top height journaled by the time it was sent.
"""
from __future__ import annotations

import bisect
from collections import Counter, defaultdict

from lang.events import AGENT_STARTED, BLOCK_READ, MEMPOOL_READ, SPAM_FAILED, SPAM_SENT
from lang.values import DurationError, parse_duration
from sim.report.load import RunFiles, number, read_run
from sim.report.metrics import block_times, latency_stats, origin_of
from sim.report.tally import Tally

__all__ = ["flood_figures", "flood_brief", "run_flood", "PHASES", "FULL_ZONE", "FLOOD_EVENTS"]

PHASES = ("before", "during", "after")
FULL_ZONE = 300_000        # bytes: monerod's penalty-free block weight (CRYPTONOTE_BLOCK_GRANTED_FULL_REWARD_ZONE_V5)
FULL = 0.9                 # a block at least this share of the zone counts as full
FLOOD_EVENTS = (SPAM_SENT, SPAM_FAILED, MEMPOOL_READ, BLOCK_READ)


def _records(files: RunFiles, *names: str):
    """(agent, record, t) of every record named in `names` with a numeric time."""
    for journal in files.journals:
        for record in journal.records:
            t = number(record.get("t"))
            if t is not None and record.get("event") in names:
                yield record.get("agent") or journal.agent, record, t


def _rel(t: float | None, origin: float) -> float | None:
    return None if t is None else round(t - origin, 3)


def _params(files: RunFiles) -> dict[str, dict]:
    """Agent → its tree parameters (the first `agent_started`)."""
    found: dict[str, dict] = {}
    for agent, record, _t in _records(files, AGENT_STARTED):
        if isinstance(record.get("params"), dict):
            found.setdefault(agent, record["params"])
    return found


class _Blocks:
    """The blocks the monitors read and the pools journaled: txid → height, height → time."""

    def __init__(self, files: RunFiles):
        self.mined = block_times(files)              # height → times a pool journaled it
        self.read: dict[int, dict] = {}              # height → first block_read of it
        self.holding: dict[str, int] = {}            # txid → height of the block read with it
        for _agent, record, t in _records(files, BLOCK_READ):
            height = record.get("height")
            if not isinstance(height, int) or isinstance(height, bool) or height in self.read:
                continue
            self.read[height] = {**record, "t": t}
            for txid in record.get("tx_hashes") or ():
                self.holding.setdefault(txid, height)
        tops = sorted((times[0], h) for h, times in self.mined.items())
        self._at = [t for t, _h in tops]
        self._top = []
        for _t, h in tops:                           # the highest height journaled by then
            self._top.append(max(h, self._top[-1]) if self._top else h)

    def time(self, height: int | None, after: float) -> float | None:
        """When the block at `height` came: a pool's journal time not before `after`, else
        when a monitor read it."""
        if height is None:
            return None
        later = [t for t in self.mined.get(height, ()) if t >= after]
        if later:
            return later[0]
        read = self.read.get(height)
        return read["t"] if read else None

    def top_at(self, t: float) -> int | None:
        """The top height journaled at or before `t`."""
        i = bisect.bisect_right(self._at, t)
        return self._top[i - 1] if i else None


def _window(files: RunFiles, origin: float) -> dict | None:
    times = [t for _a, _r, t in _records(files, SPAM_SENT)]
    if not times:
        return None
    return {"start": _rel(min(times), origin), "end": _rel(max(times), origin),
            "span": round(max(times) - min(times), 3)}


def _phase(t: float, window: dict | None) -> str:
    if window is None or t < window["start"]:
        return "before"
    return "during" if t <= window["end"] else "after"


def _spam(files: RunFiles, blocks: _Blocks, params: dict, origin: float) -> dict:
    per = defaultdict(lambda: {"sent": 0, "failed": 0, "times": [], "fees": 0, "bytes": 0,
                               "priorities": Counter()})
    to_mined, mined, codes = [], 0, Counter()
    for agent, record, t in _records(files, SPAM_SENT, SPAM_FAILED):
        row = per[agent]
        if record["event"] == SPAM_FAILED:
            row["failed"] += 1
            codes[str(record.get("code"))] += 1
            continue
        row["sent"] += 1
        row["times"].append(t)
        row["fees"] += record.get("fee") if isinstance(record.get("fee"), int) else 0
        row["bytes"] += record.get("weight") if isinstance(record.get("weight"), int) else 0
        row["priorities"][str(record.get("priority"))] += 1
        height = blocks.holding.get(record.get("txid"))
        came = blocks.time(height, t)
        if came is not None:
            mined += 1
            to_mined.append(came - t)
    agents = {}
    for agent, row in sorted(per.items()):
        times = sorted(row["times"])
        span = times[-1] - times[0] if len(times) > 1 else 0.0
        agents[agent] = {"sent": row["sent"], "failed": row["failed"],
                         "first": _rel(times[0], origin) if times else None,
                         "last": _rel(times[-1], origin) if times else None,
                         "interval": _interval(params.get(agent, {}).get("interval")),
                         "rate": round((len(times) - 1) / span, 4) if span else None,
                         "priorities": dict(sorted(row["priorities"].items())),
                         "fees": row["fees"], "bytes": row["bytes"]}
    sent = sum(a["sent"] for a in agents.values())
    return {"sent": sent, "failed": sum(a["failed"] for a in agents.values()),
            "failure_codes": dict(sorted(codes.items())), "mined": mined, "unmined": sent - mined,
            "fees": sum(a["fees"] for a in agents.values()),
            "bytes": sum(a["bytes"] for a in agents.values()),
            "to_mined": latency_stats(to_mined), "agents": agents}


def _interval(value) -> float | None:
    """A spammer's set `interval` parameter in seconds (None when it has none)."""
    try:
        return None if value is None else float(parse_duration(value))
    except (DurationError, TypeError, ValueError):
        return None


def _mempool(files: RunFiles, origin: float) -> dict:
    daemons: dict[str, dict] = {}
    for agent, record, t in _records(files, MEMPOOL_READ):
        name = str(record.get("daemon") or agent)
        row = daemons.setdefault(name, {"agents": [], "series": []})
        if agent not in row["agents"]:
            row["agents"].append(agent)
        row["series"].append([_rel(t, origin), record.get("txs"), record.get("bytes"),
                              record.get("height")])
    for row in daemons.values():
        row["series"].sort(key=lambda s: s[0])
        peak = max(row["series"], key=lambda s: (s[1] or 0, -s[0]))
        row.update(reads=len(row["series"]), peak_txs=peak[1], peak_bytes=peak[2], peak_at=peak[0])
    return dict(sorted(daemons.items()))


def _blocks(blocks: _Blocks, spam: set, origin: float, window: dict | None) -> dict:
    series = []
    for height in sorted(blocks.read):
        read = blocks.read[height]
        came = blocks.time(height, float("-inf"))
        hashes = read.get("tx_hashes") or []
        weight = read.get("weight")
        series.append({"height": height, "t": _rel(came, origin), "txs": read.get("txs"),
                       "spam": sum(1 for h in hashes if h in spam), "weight": weight,
                       "full": isinstance(weight, int) and weight >= FULL * FULL_ZONE})
    full = [b for b in series if b["full"]]
    return {"read": len(series), "full": len(full), "zone": FULL_ZONE,
            "full_by_phase": dict(Counter(_phase(b["t"], window) for b in full if b["t"] is not None)),
            "series": series}


def _payments(tally: Tally, blocks: _Blocks, params: dict, origin: float,
              window: dict | None) -> list[dict]:
    """Each payment sent, by time: its payer's fee tier, phase, time to a block (s) and blocks
    waited."""
    items = []
    for row in tally.payment_rows():
        sent = number(row["t"])
        if sent is None:
            continue
        priority = params.get(row["user"], {}).get("priority")
        height = blocks.holding.get(row["txid"], row["height"])
        came = blocks.time(height, sent)
        top = blocks.top_at(sent)
        items.append({"txid": row["txid"], "user": row["user"],
                      "tier": str(priority if priority is not None else "default"),
                      "phase": _phase(sent - origin, window), "sent": _rel(sent, origin),
                      "height": height if came is not None else None,
                      "to_block": None if came is None else round(came - sent, 3),
                      "blocks": height - top if came is not None and top is not None else None})
    return sorted(items, key=lambda i: (i["sent"], i["user"]))


def _tiers(items: list[dict]) -> dict:
    """Per fee tier and phase: time to a block and blocks waited (stats), payments not in one."""
    out = {}
    for name in sorted({i["tier"] for i in items}, key=lambda n: (not n.isdigit(), n)):
        mine = [i for i in items if i["tier"] == name]
        phases = {}
        for phase in PHASES:
            sent = [i for i in mine if i["phase"] == phase]
            phases[phase] = {
                "to_block": latency_stats([i["to_block"] for i in sent if i["to_block"] is not None]),
                "blocks": latency_stats([i["blocks"] for i in sent if i["blocks"] is not None]),
                "unmined": sum(1 for i in sent if i["to_block"] is None)}
        out[name] = {"agents": sorted({i["user"] for i in mine}), "payments": len(mine),
                     "phases": phases}
    return out


def flood_figures(files: RunFiles, tally: Tally, origin: float) -> dict | None:
    """The `flood` figures (module docstring), or None when the run journaled none of
    FLOOD_EVENTS. Times in seconds since `origin`."""
    if not any(r.get("event") in FLOOD_EVENTS for j in files.journals for r in j.records):
        return None
    params = _params(files)
    blocks = _Blocks(files)
    window = _window(files, origin)
    spam_ids = {r.get("txid") for _a, r, _t in _records(files, SPAM_SENT)}
    payments = _payments(tally, blocks, params, origin, window)
    return {"window": window, "spam": _spam(files, blocks, params, origin),
            "mempool": _mempool(files, origin), "blocks": _blocks(blocks, spam_ids, origin, window),
            "tiers": _tiers(payments), "payments": payments}


def flood_brief(figures: dict) -> dict:
    """The figures without their series and payments (summary.json): window, spam, mempool
    peaks, blocks full, tiers."""
    mempool = {d: {k: v for k, v in row.items() if k != "series"}
               for d, row in figures["mempool"].items()}
    blocks = {k: v for k, v in figures["blocks"].items() if k != "series"}
    return {**{k: v for k, v in figures.items() if k != "payments"}, "mempool": mempool,
            "blocks": blocks}


def run_flood(run_dir, tally: Tally) -> dict | None:
    """`flood_brief` of the run in `run_dir` counted in `tally`, or None when the tally saw
    none of FLOOD_EVENTS (the journals are read again only when it did)."""
    if not any(a.events.get(e) for a in tally.agents.values() for e in FLOOD_EVENTS):
        return None
    files = read_run(run_dir)
    figures = flood_figures(files, tally, origin_of(files)[0])
    return None if figures is None else flood_brief(figures)
