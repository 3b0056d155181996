"""The numbers of report.json, computed from a run directory read by `sim.report.load`.

Counting is `sim.report.summary.Tally`'s (the same as the summary and the progress line); this module
adds what needs times. Times in the result are simulated seconds since the origin, the first
`agent_started` (Shadow's clock starts at 2000-01-01, so absolute times mean nothing).

Per payment (a `payment_sent` joined by `Tally.payment_rows`):
  sent       the `payment_sent` record's time
  seen       the shop's first `payment_seen` (height 0: in the pool; height > 0: already mined)
  mined      the time the block at the payment's height was journaled (`block_mined` of a
             pool or `bootstrap_mined`; a block of n at height h covers h-n+1..h), the first
             such time not before `sent` (a fork may repeat a height)
  confirmed  the shop's first `payment_confirmed`
"""
from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from pathlib import Path

from lang.events import (AGENT_STARTED, AGENT_STOPPED, BLOCK_MINED, BOOTSTRAP_MINED, ORDER_PLACED,
                         PAYMENT_FAILED, PAYMENT_SENT, PEERS_FUNDED)
from sim.report.summary import Tally, build_summary, expectations, tally_journals

from sim.report.load import RunFiles, number
from sim.report.steady import steady

__all__ = ["build_metrics", "origin_of", "latency_stats", "binomial_check", "SCHEMA"]

SCHEMA = 1
LATENCIES = ("sent_to_seen", "sent_to_mined", "sent_to_confirmed")
PLAUSIBLE_P = 0.05


def origin_of(files: RunFiles) -> tuple[float, float]:
    """(origin, end): the first `agent_started` time (else the first record's) and the last time."""
    started, times = [], []
    for journal in files.journals:
        for record in journal.records:
            t = number(record.get("t"))
            if t is None:
                continue
            times.append(t)
            if record.get("event") == AGENT_STARTED:
                started.append(t)
    if not times:
        return 0.0, 0.0
    return (min(started) if started else min(times)), max(times)


def latency_stats(values: list[float]) -> dict | None:
    """n, min, mean, median, p90 (nearest rank) and max of `values`, rounded to ms; None if empty."""
    if not values:
        return None
    ordered = sorted(values)
    p90 = ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)]
    return {"n": len(ordered), "min": round(ordered[0], 3), "mean": round(statistics.fmean(ordered), 3),
            "median": round(statistics.median(ordered), 3), "p90": round(p90, 3),
            "max": round(ordered[-1], 3)}


def binomial_check(blocks: int, total: int, share: float | None) -> dict:
    """Is `blocks` of `total` plausible for a pool with hashrate `share`?

    sd = sqrt(n p (1-p)), z = (k - n p) / sd, p_value = exact two-sided binomial probability
    of an outcome no likelier than k. Plausible when p_value >= 0.05.
    """
    if share is None or total == 0:
        return {"sd": None, "z": None, "p_value": None, "plausible": None,
                "comment": "no blocks to compare" if total == 0 else "hashrate unknown"}
    sd = math.sqrt(total * share * (1 - share))
    if sd == 0:            # a share of 0 or 1: no randomness
        plausible = blocks == round(total * share)
        return {"sd": 0.0, "z": None, "p_value": 1.0 if plausible else 0.0, "plausible": plausible,
                "comment": f"hashrate share {share:.0%}: exactly {round(total * share)} expected"}
    z = (blocks - total * share) / sd
    probability = [_binomial_pmf(i, total, share) for i in range(total + 1)]
    p_value = min(1.0, sum(q for q in probability if q <= probability[blocks] * (1 + 1e-9)))
    plausible = p_value >= PLAUSIBLE_P
    verdict = "plausible by chance" if plausible else "unlikely by chance (p < 0.05)"
    return {"sd": round(sd, 4), "z": round(z, 4), "p_value": round(p_value, 4), "plausible": plausible,
            "comment": f"z = {z:+.2f}, binomial p = {p_value:.3f}: {verdict}"}


def _binomial_pmf(k: int, n: int, p: float) -> float:
    if p <= 0 or p >= 1:
        return 1.0 if k == (n if p >= 1 else 0) else 0.0
    log = (math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)
           + k * math.log(p) + (n - k) * math.log1p(-p))
    return math.exp(log)


def _r(t: float | None, origin: float) -> float | None:
    """`t` relative to the origin, rounded to ms."""
    return None if t is None else round(t - origin, 3)


def _events(files: RunFiles, *names: str):
    """(agent, record, t) for every record named in `names` with a numeric time."""
    for journal in files.journals:
        for record in journal.records:
            t = number(record.get("t"))
            if t is not None and record.get("event") in names:
                yield record.get("agent") or journal.agent, record, t


def block_times(files: RunFiles) -> dict[int, list[float]]:
    """Height → the times a block at that height was journaled, sorted."""
    times: dict[int, list[float]] = defaultdict(list)
    for _agent, record, t in _events(files, BLOCK_MINED, BOOTSTRAP_MINED):
        height, count = record.get("height"), record.get("blocks", 1)
        if not isinstance(height, int) or isinstance(height, bool):
            continue
        count = count if isinstance(count, int) and not isinstance(count, bool) and count > 0 else 1
        for h in range(height - count + 1, height + 1):
            times[h].append(t)
    return {h: sorted(ts) for h, ts in times.items()}


def _payment_items(tally: Tally, blocks: dict[int, list[float]], origin: float) -> list[dict]:
    items = []
    for row in tally.payment_rows():
        sent = number(row["t"]) or 0.0
        later = [t for t in blocks.get(row["height"], ()) if t >= sent]
        items.append({"txid": row["txid"], "user": row["user"], "shop": row["shop"],
                      "payment_id": row["payment_id"], "amount": row["amount"],
                      "seen_amount": row["seen_amount"], "outcome": row["outcome"],
                      "statuses": row["statuses"], "height": row["height"],
                      "sent": _r(sent, origin), "seen": _r(row["seen_t"], origin),
                      "mined": _r(later[0] if later else None, origin),
                      "confirmed": _r(row["confirmed_t"], origin)})
    return items


def _latency(items: list[dict]) -> dict:
    out = {}
    for name in LATENCIES:
        field = name.split("_to_")[1]
        out[name] = latency_stats([i[field] - i["sent"] for i in items if i[field] is not None])
    return out


def _per_minute(files: RunFiles, items: list[dict], origin: float, end: float) -> dict:
    """Counts per simulated minute since the origin: bins 0 .. floor((end - origin) / 60)."""
    n = int((end - origin) // 60) + 1 if end >= origin else 1
    series = {k: [0] * n for k in ("sent", "payments", "seen", "mined", "confirmed", "blocks")}

    def add(key: str, t: float | None, count: int = 1) -> None:
        if t is not None:
            series[key][min(n - 1, max(0, int(t // 60)))] += count

    for _agent, record, t in _events(files, PAYMENT_SENT, PEERS_FUNDED, BLOCK_MINED):
        if record["event"] == PAYMENT_SENT:
            add("sent", t - origin)
            add("payments", t - origin)
        elif record["event"] == PEERS_FUNDED:
            add("sent", t - origin, len([x for x in record.get("txids") or () if isinstance(x, str)]))
        else:
            add("blocks", t - origin, record.get("blocks") if isinstance(record.get("blocks"), int) else 1)
    for item in items:
        for key in ("seen", "mined", "confirmed"):
            add(key, item[key])
    total = sum(series["sent"])
    return {"minutes": n, **series, "mean_sent": round(total / n, 4), "peak_sent": max(series["sent"])}


def _open_orders(files: RunFiles) -> int:
    """Orders a user journaled that became neither a `payment_sent` nor a `payment_failed`."""
    placed, done = set(), set()
    for agent, record, _t in _events(files, ORDER_PLACED, PAYMENT_SENT, PAYMENT_FAILED):
        key = (agent, record.get("payment_id"))
        (placed if record["event"] == ORDER_PLACED else done).add(key)
    return len(placed - done)


def _shops(tally: Tally, items: list[dict]) -> dict:
    """Per marketplace: the payments sent to it by outcome, its sightings, amounts received."""
    sent_to, seen_by, confirmed = defaultdict(list), defaultdict(list), Counter()
    for item in items:
        if isinstance(item["shop"], str):
            sent_to[item["shop"]].append(item)
    for (shop, _txid, _pid), record in tally.seen.items():
        seen_by[shop].append(record)
    confirmed.update(shop for shop, _txid, _pid in tally.confirmed)
    shops = {a for a, t in tally.agents.items() if t.role == "marketplace"} | set(sent_to) | set(seen_by)
    accounted = {(i["shop"], i["payment_id"]) for i in items}
    out = {}
    for shop in sorted(shops):
        mine, seen = sent_to[shop], seen_by[shop]
        outcomes = Counter(i["outcome"] for i in mine)
        out[shop] = {"sent": len(mine),
                     **{k: outcomes[k] for k in ("matched", "mismatched", "missing", "unmatched")},
                     "unknown": sum(1 for r in seen if r.get("status") == "unknown"
                                    or (shop, r.get("payment_id")) not in accounted),
                     "seen_records": len(seen), "confirmed_records": confirmed[shop],
                     "received": sum(r["amount"] for r in seen if isinstance(r.get("amount"), int)),
                     "matched_amount": sum(i["amount"] for i in mine if i["outcome"] == "matched"
                                           and isinstance(i["amount"], int))}
    return out


def _unknown(tally: Tally, items: list[dict], origin: float) -> list[dict]:
    accounted = {(i["shop"], i["payment_id"]) for i in items}
    return [{"shop": shop, "txid": txid, "payment_id": pid, "user": r.get("user"),
             "amount": r.get("amount"), "status": r.get("status"), "seen": _r(number(r.get("t")), origin)}
            for (shop, txid, pid), r in tally.seen.items()
            if r.get("status") == "unknown" or (shop, pid) not in accounted]


def _blocks(files: RunFiles, summary: dict, origin: float) -> dict:
    blocks = summary["blocks"]
    pools = {}
    for pool, row in blocks["pools"].items():
        pools[pool] = {**row, **binomial_check(row["blocks"], blocks["total"], row["share"])}
    mined = sorted(t for _agent, _record, t in _events(files, BLOCK_MINED))
    gaps = [b - a for a, b in zip(mined, mined[1:])]
    return {**blocks, "pools": pools,
            "interval": round(statistics.fmean(gaps), 3) if gaps else None,
            "first": _r(mined[0], origin) if mined else None,
            "last": _r(mined[-1], origin) if mined else None}


def _errors(summary: dict, tally: Tally) -> dict:
    by_code: Counter = Counter()
    by_agent = {}
    for agent, t in sorted(tally.agents.items()):
        by_code.update(t.codes)
        if t.leaf_failed or t.rpc_failed:
            by_agent[agent] = {"leaf_failed": t.leaf_failed, "rpc_failed": t.rpc_failed,
                               "codes": dict(sorted(t.codes.items())), "last_error": t.last_error}
    return {"total": summary["errors"]["total"],
            "leaf_failed": sum(t.leaf_failed for t in tally.agents.values()),
            "rpc_failed": sum(t.rpc_failed for t in tally.agents.values()),
            "by_code": dict(sorted(by_code.items())), "by_agent": by_agent,
            "payment_failures": summary["payments"]["failure_codes"]}


def _agents(files: RunFiles, summary: dict, tally: Tally, items: list[dict], origin: float) -> dict:
    start: dict[str, float] = {}
    stop: dict[str, float] = {}
    for agent, record, t in _events(files, AGENT_STARTED, AGENT_STOPPED):
        (start if record["event"] == AGENT_STARTED else stop).setdefault(agent, t)
    journals = {j.agent: j for j in files.journals}
    sent = Counter(i["user"] for i in items)
    failed = Counter(f["agent"] for f in tally.failed)
    seen = Counter(k[0] for k in tally.seen)
    out = {}
    for agent, row in summary["agents"].items():
        t = tally.agents.get(agent)
        journal = journals.get(agent)
        times = [x for x in (number(r.get("t")) for r in journal.records) if x is not None] \
            if journal else []
        out[agent] = {"role": row["role"], "tree": Path(t.tree).name if t and t.tree else None,
                      "ticks": t.ticks if t else None, "status": t.status if t else None,
                      "started": row["started"], "stopped": row["stopped"],
                      "stop_reason": row["stop_reason"], "outcome": row.get("outcome"),
                      "start": _r(start.get(agent), origin), "stop": _r(stop.get(agent), origin),
                      "last": _r(max(times), origin) if times else None,
                      "records": len(journal.records) if journal else 0,
                      "payments_sent": sent[agent], "payments_failed": failed[agent],
                      "payments_seen": seen[agent], "blocks": tally.pool_blocks[agent],
                      "errors": row["leaf_failed"] + row["rpc_failed"],
                      "corrupt_lines": journal.corrupt if journal else 0}
    return out


def _run(files: RunFiles, summary: dict, origin: float, end: float, agents: dict) -> dict:
    run, scenario = files.run or {}, files.scenario or {}
    return {"dir": str(files.dir), "kind": files.kind,
            "name": run.get("scenario") or scenario.get("name") or files.dir.name,
            "description": run.get("description") or scenario.get("description"),
            "seed": run.get("seed", scenario.get("seed")), "status": run.get("status"),
            "duration": run.get("duration"), "drain": run.get("drain"),
            "time_scale": run.get("time_scale", scenario.get("time_scale")),
            "clock": (run.get("clock") or {}).get("kind"),
            "max_speed": (run.get("clock") or {}).get("max_speed"),
            "shadow": {k: (run.get("shadow") or {}).get(k) for k in ("version", "wall_seconds", "peak_rss_bytes")}
            if run.get("shadow") else None,
            "height": summary["run"]["height"], "origin": origin,
            "span": round(end - origin, 3), "agents": len(agents),
            "roles": dict(sorted(Counter(a["role"] or "?" for a in agents.values()).items())),
            "files": {"run.json": files.run is not None, "summary.json": files.summary is not None,
                      "scenario.yaml": files.scenario is not None}}


def build_metrics(files: RunFiles) -> dict:
    """Every number of report.json (plots excluded), as a JSON-ready dict."""
    tally = tally_journals(files.journals, [r for r in files.registry if r.get("role") == "pool"])
    for journal in files.journals:     # an empty journal still names an agent (that never started)
        tally.agent(journal.agent)
    expect = expectations(files.dir)
    summary = build_summary(files.dir, tally, files.run, expect)
    origin, end = origin_of(files)
    items = _payment_items(tally, block_times(files), origin)
    agents = _agents(files, summary, tally, items, origin)
    payments = {k: v for k, v in summary["payments"].items() if k != "latency"}
    per_minute = _per_minute(files, items, origin, end)
    payments.update(unmatched=sum(1 for i in items if i["outcome"] == "unmatched"),
                    orders_open=_open_orders(files),
                    shops=_shops(tally, items),
                    mismatches=[i for i in items if i["outcome"] == "mismatched"],
                    missing_items=[i for i in items if i["outcome"] == "missing"],
                    unknown_items=_unknown(tally, items, origin))
    report = {"schema": SCHEMA, "run": _run(files, summary, origin, end, agents),
              "journals": {"files": len(files.journals),
                           "records": sum(len(j.records) for j in files.journals),
                           "corrupt": {j.agent: j.corrupt for j in files.journals if j.corrupt},
                           "corrupt_total": sum(j.corrupt for j in files.journals),
                           "torn": [j.agent for j in files.journals if j.torn]},
              "transactions": {**summary["transactions"], "latency": _latency(items),
                               "per_minute": per_minute, "items": items},
              "steady": steady(files, tally, expect, items, per_minute, origin, _latency),
              "payments": payments, "blocks": _blocks(files, summary, origin),
              "errors": _errors(summary, tally), "events": summary["events"], "agents": agents,
              "verdict": summary["verdict"],
              "problems": summary["problems"]}
    if summary.get("propagation") is not None:     # two or more daemons left a log
        report["propagation"] = summary["propagation"]
    if summary.get("selfish") is not None:         # a pool withheld blocks
        report["selfish"] = summary["selfish"]
    if summary.get("spies") is not None:           # and some of them were spies
        report["spies"] = summary["spies"]
    from sim.report.flood import flood_figures     # here: sim.report.flood imports this module
    flood = flood_figures(files, tally, origin)
    if flood is not None:                           # spam, mempool or block reads journaled
        report["flood"] = flood
    return report
