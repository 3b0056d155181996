"""How transactions and blocks spread between the daemons, and the forks, from their monerod logs.

Each daemon's log (`daemons/<name>/monerod.log` under the run directory, or under Shadow's data
root) is read by `sim.report.daemonlog`. Per item (a transaction or a block):

  origin   the daemon that first saw it in an RPC thread (a wallet's transfer, `generateblocks`);
           when none did, the daemon that saw it first
  delay    each daemon's first sighting minus the origin's, in seconds of the daemons' clocks
           (wall clock in a local run, simulated under Shadow)
  t50 t90 t100  the delay by which 50 %, 90 %, 100 % of the daemons whose log was read had it
           (the origin counts, at 0): the ceil(p·n)-th smallest delay; None when fewer saw it

Per-daemon figures (per node, per region, the CDF) use the delays of daemons other than the
origin. Blocks at a height ≤ `skip_below_height` (the bootstrap burst) are left out of every
figure but the forks. A peer address (`IP:PORT`) is named after the daemon with that IP.

Dandelion++: per daemon, its epochs' modes (fluff or stem) with their start, and the times it
fluffed a transaction for want of a stem peer (`dandelion`; the spy estimator reads them).

Forks: alternative blocks (distinct ids any daemon added as alternative), reorganisations
(daemon, split height, depth = blocks replaced), and orphaned blocks: seen by some daemon but in
no daemon's main chain at the end of its log (each log's ADDED and REORGANIZE lines followed in
order), with the daemon that mined it (its origin, when that was an RPC thread).
"""
from __future__ import annotations

import math
import statistics
from collections import defaultdict
from pathlib import Path

import yaml

from sim.report.daemonlog import DaemonLog, Seen, format_time, log_files, read_daemon_log

__all__ = ["propagation", "daemons_from_run", "reach", "cdf_points", "KINDS", "PERCENTS"]

KINDS = ("tx", "block")
PERCENTS = (50, 90, 100)
CDF_POINTS = 200          # at most this many (delay, fraction) points per curve
TIP_POINTS = 400          # at most this many (time, height) points per daemon
NO_REGION = "-"


def daemons_from_run(run: dict | None) -> dict[str, dict] | None:
    """run.json's `network.daemons` as {name: {"region", "ip", "data_dir"}}; None without it."""
    listed = ((run or {}).get("network") or {}).get("daemons")
    if not isinstance(listed, list):
        return None
    out = {}
    for entry in listed:
        if isinstance(entry, dict) and isinstance(entry.get("name"), str):
            out[entry["name"]] = {k: entry.get(k) for k in ("region", "ip", "data_dir")}
    return out or None


def _log_dirs(root: Path, daemons: dict[str, dict] | None) -> dict[str, Path]:
    if daemons is None:
        return {p.name: p for p in sorted((root / "daemons").glob("*")) if log_files(p)}
    dirs = {}
    for name, info in daemons.items():
        where = (info or {}).get("data_dir") or f"daemons/{name}"
        dirs[name] = Path(where) if Path(where).is_absolute() else root / where
    return dirs


def _shadow_ips(root: Path) -> dict[str, str]:
    """Host -> IP from the run's shadow.yaml (a Shadow run's daemons are its hosts), if any."""
    try:
        hosts = (yaml.safe_load((root / "shadow.yaml").read_text(encoding="utf-8")) or {}).get("hosts")
    except (OSError, yaml.YAMLError, AttributeError):
        return {}
    return {name: str(h["ip_addr"]) for name, h in (hosts or {}).items()
            if isinstance(h, dict) and h.get("ip_addr")} if isinstance(hosts, dict) else {}


def _ip_owners(root: Path, logs: dict[str, DaemonLog], daemons: dict[str, dict] | None) -> dict[str, str]:
    """IP -> daemon, for IPs that belong to exactly one daemon: run.json's, else the addresses
    the logs say they bound, else shadow.yaml's."""
    claims: dict[str, set[str]] = defaultdict(set)
    if daemons is not None:
        for name, info in daemons.items():
            if (info or {}).get("ip"):
                claims[str(info["ip"])].add(name)
    else:
        shadow = _shadow_ips(root)
        for name, log in logs.items():
            for ip in log.addresses or ({shadow[name]} if name in shadow else set()):
                claims[ip].add(name)
    return {ip: next(iter(names)) for ip, names in claims.items() if len(names) == 1}


def reach(delays: list[float], daemons: int) -> dict[str, float | None]:
    """t50, t90, t100 of one item: the delay by which ceil(p·daemons) daemons had it."""
    ordered = sorted(delays)
    out = {}
    for pct in PERCENTS:
        k = max(1, -(-pct * daemons // 100))
        out[f"t{pct}"] = ordered[k - 1] if len(ordered) >= k else None
    return out


def _spread(values: list[float]) -> dict | None:
    """n, median, p90 (nearest rank), max; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    return {"n": len(ordered), "median": round(statistics.median(ordered), 3),
            "p90": ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)], "max": ordered[-1]}


def cdf_points(values: list[float], most: int = CDF_POINTS) -> list[list[float]]:
    """[delay, fraction of values ≤ delay] along the sorted values, at most `most` points."""
    ordered, n = sorted(values), len(values)
    picks = range(n) if n <= most else sorted({math.ceil(k * n / most) - 1 for k in range(1, most + 1)})
    return [[ordered[i], round((i + 1) / n, 4)] for i in picks]


def _item(kind: str, sightings: list[Seen], daemons: int, owners: dict[str, str], start: float) -> dict:
    """One transaction or block: origin, each daemon's delay and peer, t50 / t90 / t100."""
    rpc = [s for s in sightings if s.origin]
    origin = min(rpc or sightings, key=lambda s: (s.time, s.daemon))
    seen_by = {}
    for s in sorted(sightings, key=lambda s: (s.time, s.daemon)):
        via = owners.get(s.from_peer.rsplit(":", 1)[0]) if s.from_peer else None
        seen_by[s.daemon] = {"delay": round(s.time - origin.time, 3), "from": s.from_peer,
                             "via": via if via != s.daemon else None}
    heights = [s.height for s in sightings if s.height is not None]
    return {"kind": kind, "hash": origin.hash, "height": min(heights) if heights else None,
            "origin": origin.daemon, "origin_rpc": bool(rpc), "t": round(origin.time - start, 3),
            "at": format_time(origin.time), "seen": len(sightings),
            **reach([v["delay"] for v in seen_by.values()], daemons), "seen_by": seen_by}


def _items(logs: dict[str, DaemonLog], owners: dict[str, str], start: float) -> list[dict]:
    """Every item any daemon saw, by the origin's time."""
    sightings: dict[tuple[str, str], list[Seen]] = defaultdict(list)
    for log in logs.values():
        for key, seen in log.seen.items():
            sightings[key].append(seen)
    items = [_item(kind, found, len(logs), owners, start) for (kind, _h), found in sightings.items()]
    items.sort(key=lambda i: (i["t"], i["kind"], i["hash"]))
    return items


def _delays(items: list[dict]):
    """(item, daemon, delay) for every daemon but the item's origin."""
    for item in items:
        for daemon, seen in item["seen_by"].items():
            if daemon != item["origin"]:
                yield item, daemon, seen["delay"]


def _kind_summary(items: list[dict]) -> dict:
    out = {"count": len(items)}
    for pct in PERCENTS:
        out[f"t{pct}"] = _spread([i[f"t{pct}"] for i in items if i[f"t{pct}"] is not None])
    delays = [d for _i, _d, d in _delays(items)]
    out.update(sightings=len(delays), cdf=cdf_points(delays))
    return out


def _by_region(items: list[dict], region: dict[str, str]) -> dict:
    """Delays to the daemons of each region; origin region -> destination region medians."""
    to: dict[str, list[float]] = defaultdict(list)
    pairs: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for item, daemon, delay in _delays(items):
        to[region[daemon]].append(delay)
        pairs[region[item["origin"]]][region[daemon]].append(delay)
    regions = {}
    for name in sorted(set(region.values())):
        spread = _spread(to[name]) or {}
        regions[name] = {"daemons": sum(1 for r in region.values() if r == name),
                         "n": spread.get("n", 0), "median": spread.get("median"),
                         "p90": spread.get("p90"), "cdf": cdf_points(to[name])}
    matrix = {o: {d: round(statistics.median(v), 3) for d, v in sorted(row.items())}
              for o, row in sorted(pairs.items())}
    return {"regions": regions, "matrix": matrix}


def _nodes(items: list[dict], names: list[str], region: dict[str, str], ips: dict[str, str]) -> dict:
    """Per daemon: region, IP, items seen and originated, median and p90 of its delays."""
    delays: dict[tuple[str, str], list[float]] = defaultdict(list)
    seen: dict[tuple[str, str], int] = defaultdict(int)
    made: dict[tuple[str, str], int] = defaultdict(int)
    for item in items:
        made[item["kind"], item["origin"]] += 1
        for daemon, sighting in item["seen_by"].items():
            seen[item["kind"], daemon] += 1
            if daemon != item["origin"]:
                delays[item["kind"], daemon].append(sighting["delay"])
    out = {}
    for name in names:
        row = {"region": region[name] if region[name] != NO_REGION else None, "ip": ips.get(name)}
        for kind in KINDS:
            spread = _spread(delays[kind, name]) or {}
            row.update({f"{kind}s_seen": seen[kind, name], f"{kind}s_originated": made[kind, name],
                        f"{kind}_median": spread.get("median"), f"{kind}_p90": spread.get("p90")})
        out[name] = row
    return out


def _forks(logs: dict[str, DaemonLog], blocks: list[dict], start: float) -> dict:
    """Alternative blocks, reorganisations and orphaned blocks (all heights but genesis)."""
    final = set().union(*(log.chain.values() for log in logs.values()))
    alternatives, reorgs = [], []
    for log in logs.values():
        for fork in log.forks:
            row = {"daemon": fork.daemon, "t": round(fork.time - start, 3), "at": format_time(fork.time),
                   "height": fork.height}
            if fork.kind == "alternative":
                alternatives.append({**row, "hash": fork.hash})
            else:
                reorgs.append({**row, "depth": fork.depth, "top": fork.top, "size": fork.size,
                               "ok": fork.ok})
    orphaned = [{"hash": b["hash"], "height": b["height"], "miner": b["origin"] if b["origin_rpc"] else None,
                 "seen": b["seen"]} for b in blocks if b["hash"] not in final]
    alternatives.sort(key=lambda r: (r["t"], r["daemon"]))
    reorgs.sort(key=lambda r: (r["t"], r["daemon"]))
    return {"alternative_blocks": len({a["hash"] for a in alternatives}), "alternatives": alternatives,
            "orphaned_blocks": len(orphaned), "orphaned": orphaned, "reorgs": reorgs,
            "max_depth": max((r["depth"] for r in reorgs), default=0)}


def propagation(root: Path, daemons: dict[str, dict] | None = None,
                skip_below_height: int = 0) -> dict | None:
    """Propagation and forks of the daemons under `root` (module docstring); None with fewer
    than two daemon logs. `daemons`: {name: {"region", "ip"[, "data_dir"]}} (`daemons_from_run`);
    None: every `root/daemons/*/` with a log, peers named from the logs (or shadow.yaml)."""
    root = Path(root)
    dirs = _log_dirs(root, daemons)
    found = {name: files for name, files in ((n, log_files(d)) for n, d in dirs.items()) if files}
    if len(found) < 2:
        return None
    logs = {name: read_daemon_log(name, files) for name, files in found.items()}
    starts = [log.first for log in logs.values() if log.first is not None]
    start = min(starts) if starts else 0.0
    owners = _ip_owners(root, logs, daemons)
    items = _items(logs, owners, start)
    kept = [i for i in items if i["kind"] == "tx" or i["height"] is None or i["height"] > skip_below_height]
    names = sorted(logs)
    region = {n: (((daemons or {}).get(n) or {}).get("region") or NO_REGION) for n in names}
    known = any(r != NO_REGION for r in region.values())
    by_kind = {k: [i for i in kept if i["kind"] == k] for k in KINDS}
    return {"daemons": len(logs), "names": names, "missing": sorted(set(dirs) - set(found)),
            "log_origin": format_time(start), "skip_below_height": skip_below_height,
            **{k: _kind_summary(v) for k, v in by_kind.items()},
            "by_region": {k: _by_region(v, region) for k, v in by_kind.items()} if known else None,
            "nodes": _nodes(kept, names, region, {d: ip for ip, d in sorted(owners.items())}),
            "forks": _forks(logs, [i for i in items if i["kind"] == "block"], start),
            "logs": {n: {"files": log.files, "lines": log.lines, "skipped": log.skipped, "torn": log.torn}
                     for n, log in sorted(logs.items())},
            "start": start, "tips": {n: _tips(logs[n], start) for n in names},
            "dandelion": {n: _dandelion(logs[n], start) for n in names},
            "items": kept}


def _dandelion(log: DaemonLog, start: float) -> dict:
    """A daemon's Dandelion++ epochs ([seconds since `start`, "fluff" | "stem"]) and the times it
    fluffed for want of a stem peer."""
    return {"epochs": [[round(t - start, 3), mode] for t, mode in log.epochs],
            "stem_failures": [round(t - start, 3) for t in log.stem_failures]}


def _tips(log: DaemonLog, start: float, most: int = TIP_POINTS) -> list[list[float]]:
    """[seconds since `start`, height] at each main-chain block the daemon added (thinned to
    `most` points, the last kept): its chain's tip over time, reorganisations included."""
    tips = log.tips if len(log.tips) <= most else log.tips[::-(-len(log.tips) // most)] + log.tips[-1:]
    return [[round(t - start, 3), height] for t, height in tips]
