"""The report page's Flood section (`report["flood"]`, `sim.report.flood`): spam, mempool per
daemon, blocks, time to a block by fee tier before / during / after the flood, two plots."""
from __future__ import annotations

from html import escape
from pathlib import Path

from sim.report.flood import PHASES
from sim.report.flood_plots import FLOOD_PLOTS
from sim.report.html import _dur, _figure, _num, _table, _xmr

__all__ = ["flood_section"]


def _count(value) -> str:
    """1 and 1.0 alike: '1'; 3.5: '3.5'."""
    return "-" if value is None else f"{value:g}"


def _rate(interval) -> str:
    return "-" if not interval else f"{1 / interval:.3g}/s"


def _spam(flood: dict) -> str:
    spam, window = flood["spam"], flood["window"]
    if window is None:
        return "<p class=note>No spam sent: the run had no flood.</p>"
    rows = [[agent, a["sent"], a["failed"], _dur(a["first"]), _dur(a["last"]), _rate(a["interval"]),
             "-" if a["rate"] is None else f"{a['rate']:.3g}/s",
             ", ".join(a["priorities"]) or "-", _xmr(a["fees"]), _num(a["bytes"] / 1000, 1)]
            for agent, a in spam["agents"].items()]
    to_block = spam["to_mined"] or {}
    codes = ", ".join(f"{c} ×{n}" for c, n in spam["failure_codes"].items())
    mined = (f"In a block read: {spam['mined']} of {spam['sent']}, median "
             f"{_dur(to_block.get('median'))} after sent (p90 {_dur(to_block.get('p90'))}, max "
             f"{_dur(to_block.get('max'))}); in none: {spam['unmined']}." if flood["blocks"]["read"]
             else "No block read (no monitor): which spam was mined is not known.")
    return (_table(["spammer", "sent", "failed", "from", "to", "set rate", "rate", "priority",
                    "fees XMR", "kB"], rows) +
            f"<p class=note>Flood: {_dur(window['start'])} to {_dur(window['end'])} (first to last "
            f"spam sent). {mined}"
            f"{f' Failures: {escape(codes)}.' if codes else ''} Rate: spam sent after the first, "
            "per second from the first to the last (simulated).</p>")


def _mempool(flood: dict) -> str:
    rows = [[daemon, ", ".join(m["agents"]), m["reads"], m["peak_txs"], _num(m["peak_bytes"] / 1000, 1),
             _dur(m["peak_at"])] for daemon, m in flood["mempool"].items()]
    blocks = flood["blocks"]
    full = ", ".join(f"{blocks['full_by_phase'].get(p, 0)} {p}" for p in PHASES)
    return ((_table(["daemon", "read by", "reads", "peak txs", "peak kB", "peak at"], rows, left={0, 1})
             if rows else "<p class=note>No mempool read.</p>") +
            f"<p class=note>Blocks read: {blocks['read']}; at least 90 % of the penalty-free "
            f"{blocks['zone'] // 1000} kB: {blocks['full']} ({full} the flood). Beyond that zone "
            "a block pays a penalty out of its reward, so monerod fills it by fee per byte up to "
            "about the zone: low fees wait.</p>")


def _tiers(flood: dict) -> str:
    rows = []
    for tier, t in flood["tiers"].items():
        for phase, p in t["phases"].items():
            waits, blocks = p["to_block"] or {}, p["blocks"] or {}
            rows.append([f"priority {tier}", phase, waits.get("n", 0) + p["unmined"],
                         *(_dur(waits.get(k)) for k in ("median", "p90", "max")),
                         _count(blocks.get("median")), _count(blocks.get("max")), p["unmined"]])
    payers = "; ".join(f"priority {tier}: {', '.join(t['agents'])}" for tier, t in flood["tiers"].items())
    return (_table(["fee tier", "sent (flood)", "payments", "median", "p90", "max", "blocks waited (median)",
                    "blocks waited (max)", "in no block"], rows, left={0, 1}) +
            f"<p class=note>Time from sent to the block that holds the payment (simulated); blocks "
            f"waited: its height minus the top height when it was sent. Tier: the payer's "
            f"`priority` parameter ({escape(payers) or 'no payer'}).</p>")


def flood_section(report: dict, out: str | Path) -> str:
    """The section's HTML ("" when the report has no `flood`)."""
    flood = report.get("flood")
    if not flood:
        return ""
    out = Path(out)
    return "".join(["<h2>Flood</h2>", _spam(flood), "<h3>Mempool per daemon and blocks</h3>",
                    _mempool(flood), _figure(report, out, "flood_mempool", FLOOD_PLOTS["flood_mempool"]),
                    "<h3>Time to a block by fee tier</h3>", _tiers(flood) if flood["tiers"] else
                    "<p class=note>No payment sent.</p>",
                    _figure(report, out, "flood_tiers", FLOOD_PLOTS["flood_tiers"])])
