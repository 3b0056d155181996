"""The run summary as a few readable lines (`monerosim run`, `monerosim summary`)."""
from __future__ import annotations

from pathlib import Path

from lang.values import format_duration
from sim.report.spies import summary_lines as spy_lines

__all__ = ["format_summary", "short_duration"]


def short_duration(seconds: float) -> str:
    """12.3456 -> '12.3s', 40.0 -> '40s', 0.25 -> '250ms', 250.7 -> '4m11s'."""
    if seconds < 0:
        return "-" + short_duration(-seconds)
    if 0 < seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    if seconds < 60:
        return f"{seconds:.1f}".rstrip("0").rstrip(".") + "s"
    return format_duration(round(seconds))


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


def _propagation_lines(net: dict) -> list[str]:
    """Median time for transactions / blocks to reach 90 % of the daemons; forks."""
    def t90(kind: str) -> str:
        stats = net[kind]["t90"]
        return "-" if stats is None else f"{short_duration(stats['median'])} (of {stats['n']})"
    forks = net["forks"]
    return [f"Propagation ({net['daemons']} daemons): median time to 90% of daemons: "
            f"transactions {t90('tx')}, blocks {t90('block')}",
            f"  forks: {forks['orphaned_blocks']} orphaned blocks, {len(forks['reorgs'])} reorgs "
            f"(deepest {forks['max_depth']}), {forks['alternative_blocks']} alternative blocks"]


def _flood_lines(flood: dict) -> list[str]:
    """Spam sent and in blocks, the mempool's peak per daemon, blocks full, time to a block by
    fee tier before / during / after the flood (`sim.report.flood`)."""
    spam, window, lines = flood["spam"], flood["window"], []
    if window is not None:
        rates = ", ".join(f"{a} {r['rate']:.3g}/s (set {1 / r['interval']:.3g}/s)"
                          if r["rate"] and r["interval"] else a for a, r in spam["agents"].items())
        lasted = short_duration(window["start"]) + " to " + short_duration(window["end"])
        to_block = spam["to_mined"]["median"] if spam["to_mined"] else None
        mined = (f"{spam['mined']} in blocks (median {short_duration(to_block) if to_block is not None else '-'}"
                 f" after sent)" if flood["blocks"]["read"] else "no block read")
        lines.append(f"Flood: {spam['sent']} spam sent from {lasted} ({rates}), {mined}, "
                     f"{spam['failed']} failed")
    for daemon, m in flood["mempool"].items():
        lines.append(f"  mempool of {daemon}: peak {m['peak_txs']} txs ({m['peak_bytes'] / 1000:.0f} kB) "
                     f"at {short_duration(m['peak_at'])}, {m['reads']} reads")
    blocks = flood["blocks"]
    if blocks["read"]:
        lines.append(f"  blocks of at least 90% of {blocks['zone'] // 1000} kB: {blocks['full']} of "
                     f"{blocks['read']} read")

    def median(phase: dict) -> str:
        return short_duration(phase["to_block"]["median"]) if phase["to_block"] else "-"
    for tier, t in flood["tiers"].items():
        lines.append(f"  priority {tier} ({len(t['agents'])} payers), median time to a block "
                     f"before / during / after: " + " / ".join(median(p) for p in t["phases"].values()))
    return lines


def format_summary(s: dict) -> str:
    """The summary as a few readable lines."""
    run, blocks, pay, tx = s["run"], s["blocks"], s["payments"], s["transactions"]
    scale = (f" at x{run['time_scale']:g}" if run.get("time_scale") else
             f" on the {run['clock']} clock" if run.get("clock") else "")
    scale += f" (at most x{run['max_speed']:g} real time)" if run.get("max_speed") else ""
    drain = f" + {short_duration(run['drain'])} drain" if run.get("drain") else ""
    took = f", {short_duration(run['duration'])}{drain} simulated{scale}" if run.get("duration") else ""
    lines = [f"Run {run.get('scenario') or Path(run['dir']).name} ({run['dir']}): "
             f"{len(s['agents'])} agents, height {run['height']}{took}"]
    lines.append(f"Blocks: {blocks['total']} mined by pools on {blocks['signals']} signals "
                 f"({blocks['late']} late), {blocks['bootstrap']} bootstrap")
    if blocks["pools"]:
        lines.append(f"  {'pool':<16} {'hashrate':>8} {'share':>7} {'blocks':>6} {'actual':>7} {'expected':>8}")
        for pool, p in blocks["pools"].items():
            rate = "-" if p["hashrate"] is None else f"{p['hashrate']:g}"
            expected = "-" if p["expected"] is None else f"{p['expected']:.2f}"
            lines.append(f"  {pool:<16} {rate:>8} {_pct(p['share']):>7} {p['blocks']:>6} "
                         f"{_pct(p['actual_share']):>7} {expected:>8}")
    lines.append(f"Transactions: {tx['sent']} sent ({tx['payments']} payments, {tx['funding']} funding)")
    failed = f", {pay['failed']} failed" if pay["failed"] else ""
    codes = ", ".join(f"{c} x{n}" for c, n in pay["failure_codes"].items())
    lines.append(f"Payments: {pay['orders']} orders, {pay['sent']} sent{failed}"
                 f"{f' ({codes})' if codes else ''}; {pay['seen']} seen, {pay['confirmed']} confirmed; "
                 f"{pay['matched']} matched, {pay['mismatched']} mismatched, {pay['missing']} missing, "
                 f"{pay['unknown']} unknown")
    lat = [f"{what} median {short_duration(v['median'])}" for what, v in
           (("to seen", pay["latency"]["seen"]), ("to confirmed", pay["latency"]["confirmed"])) if v]
    if lat:
        lines.append(f"  latency {', '.join(lat)}")
    if s.get("propagation"):
        lines += _propagation_lines(s["propagation"])
    if s.get("selfish"):
        from sim.report.selfish import selfish_lines
        lines += selfish_lines(s["selfish"])
    if s.get("spies"):
        lines += spy_lines(s["spies"])
    if s.get("flood"):
        lines += _flood_lines(s["flood"])
    for role, row in s.get("events", {}).items():
        counts = ", ".join(f"{e} {n}" for e, n in row["events"].items()
                           if e not in ("agent_started", "agent_stopped"))
        lines.append(f"Events of {role} ({row['agents']}): {counts or '-'}")
    errors = s["errors"]
    lines.append(f"Errors: {errors['total']}" + ("" if errors["agents"] else " (none)"))
    for agent, e in errors["agents"].items():
        codes = ", ".join(f"{c} x{n}" for c, n in e["error_codes"].items())
        lines.append(f"  {agent:<16} leaf_failed {e['leaf_failed']}, rpc_failed {e['rpc_failed']}"
                     f"{f' ({codes})' if codes else ''}; last: {e['last_error'] or '-'}")
    verdict = s.get("verdict")
    if verdict is not None:
        lines.append(f"Verdict: {verdict['verdict'].upper()}" +
                     ("" if verdict["reasons"] else " (every expectation met)"))
        lines += [f"  {r['level']}: {r['text']}" for r in verdict["reasons"]]
    return "\n".join(lines)
