"""report.html: one self-contained page (inline CSS, plots as PNG data URIs, no links out)."""
from __future__ import annotations

import base64
from html import escape
from pathlib import Path

from rpc_client.amounts import format_xmr
from sim.report.summary import short_duration

from sim.report.plots import PLOTS
from sim.report.selfish import selfish_section
from sim.report.spies import section_html as spy_section

__all__ = ["render_html", "headline"]

ROWS_LISTED = 25

CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#222;background:#f6f7f9}
main{max-width:1080px;margin:0 auto;padding:18px 24px 40px}
h1{font-size:22px;margin:8px 0 2px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd}
.sub{color:#666;margin:0 0 14px}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(150px,1fr));gap:10px}
.card{background:#fff;border:1px solid #e2e4e8;border-radius:6px;padding:8px 12px}
.card b{display:block;font-size:21px}.card span{color:#666;font-size:12px}
.bad b{color:#c62828}.good b{color:#2e7d32}
table{border-collapse:collapse;background:#fff;margin:6px 0 4px;font-size:13px}
th,td{border:1px solid #e2e4e8;padding:3px 8px;text-align:right}
th{background:#eef0f3}td.l,th.l{text-align:left}
figure{background:#fff;border:1px solid #e2e4e8;border-radius:6px;margin:10px 0;padding:8px}
figure img{max-width:100%}figcaption{color:#666;font-size:12px}
.note{color:#666;font-size:12px}.warn{color:#c62828}code{font-size:12px}
.verdict{border-radius:6px;padding:8px 14px;margin:10px 0 14px;border:1px solid}
.verdict h2{border:0;margin:2px 0 4px}.verdict ul{margin:4px 0}
.verdict.ok{background:#e8f5e9;border-color:#2e7d32;color:#1b5e20}
.verdict.degraded{background:#fff8e1;border-color:#f9a825;color:#6d4c00}
.verdict.failed{background:#ffebee;border-color:#c62828;color:#b71c1c}
"""


def _xmr(atomic) -> str:
    """Atomic units as XMR, exactly: 117844704694 -> '0.117844704694'."""
    if not isinstance(atomic, int) or isinstance(atomic, bool):
        return "-"
    return format_xmr(atomic).rstrip("0").rstrip(".")


def _short(txid) -> str:
    """A txid cut to 16 characters (report.json has them whole)."""
    return "-" if not txid else (txid if len(str(txid)) <= 16 else f"{str(txid)[:16]}…")


def _dur(seconds) -> str:
    return "-" if seconds is None else short_duration(seconds)


def _pct(part, whole) -> str:
    return "-" if not whole else f"{100 * part / whole:.1f}%"


def _num(value, digits: int = 2) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _table(head: list[str], rows: list[list], left: int | set = 1) -> str:
    """A table; columns in `left` (or the first `left`) are left-aligned. Cells are escaped."""
    left = set(range(left)) if isinstance(left, int) else left

    def cell(tag: str, n: int, value) -> str:
        return f'<{tag}{" class=l" if n in left else ""}>{escape(str(value))}</{tag}>'
    out = ["<table><tr>", *(cell("th", n, h) for n, h in enumerate(head)), "</tr>"]
    for row in rows:
        out += ["<tr>", *(cell("td", n, v) for n, v in enumerate(row)), "</tr>"]
    out.append("</table>")
    return "".join(out)


FEW = 10    # a rate over fewer cases than this is never shown as good


def headline(report: dict) -> list[tuple[str, str, str]]:
    """The headline numbers: (value, label, tone) with tone "", "good" or "bad"."""
    pay, tx, blocks = report["payments"], report["transactions"], report["blocks"]
    lat, run = tx["latency"], report["run"]
    bad_pay = pay["mismatched"] + pay["missing"] + pay["unknown"]
    return [
        (str(run["agents"]), "agents", ""),
        (_dur(run["span"]), "simulated time", ""),
        (str(run["height"]), "final height", ""),
        (str(blocks["total"]), f"blocks on signals (+{blocks['bootstrap']} bootstrap)", ""),
        (str(tx["sent"]), f"transactions sent ({tx['payments']} payments)", ""),
        (f"{tx['per_minute']['mean_sent']:.2f}", f"tx sent / minute over the run (peak {tx['per_minute']['peak_sent']})", ""),
        _steady_card(report),
        (f"{pay['matched']}/{pay['sent']}", f"payments matched ({_pct(pay['matched'], pay['sent'])})",
         "good" if pay["sent"] >= FEW and pay["matched"] == pay["sent"] else ""),
        (str(bad_pay), f"mismatched {pay['mismatched']} · missing {pay['missing']} · unknown {pay['unknown']}",
         "bad" if bad_pay else "good"),
        (_dur((lat["sent_to_seen"] or {}).get("median")), "median sent → seen", ""),
        (_dur((lat["sent_to_mined"] or {}).get("median")), "median sent → mined", ""),
        (_dur((lat["sent_to_confirmed"] or {}).get("median")), "median sent → confirmed", ""),
        (str(report["errors"]["total"]), "agent errors (leaf / RPC failures)", "bad" if report["errors"]["total"] else "good"),
    ]


def _steady_card(report: dict) -> tuple[str, str, str]:
    st = report.get("steady") or {}
    if st.get("per_minute") is None:
        return ("-", "tx sent / minute in steady state (never reached)", "")
    return (f"{st['per_minute']:.2f}", f"tx sent / minute in steady state ({st['minutes']} min "
                                       f"from {_dur(st['from'])}, start-up excluded)", "")


def _phases(report: dict) -> str:
    """`Phases: wallets open at 0s · bootstrap done at 22s · funded at 8m30s`."""
    phases = (report.get("steady") or {}).get("phases") or {}
    said = {"wallets": "wallets open", "bootstrap": "bootstrap done", "funding": "everyone funded"}
    parts = [f"{said[k]} {'at ' + _dur(v) if v is not None else 'never'}"
             for k, v in phases.items() if k in said]
    return f"<p class=note>Phases: {escape(' · '.join(parts))}; steady state after.</p>" if parts else ""


def _verdict_section(report: dict) -> str:
    """The verdict at the top: green ok, amber degraded, red failed, with every reason."""
    verdict = report.get("verdict") or {"verdict": "ok", "reasons": []}
    level = verdict["verdict"]
    reasons = "".join(f"<li>{escape(r['level'])}: {escape(r['text'])}</li>"
                      for r in verdict["reasons"])
    said = (f"<ul>{reasons}</ul>" if reasons else
            "<p>Every expectation met.</p>")
    return (f'<section id=verdict class="verdict {escape(level)}">'
            f"<h2>Verdict: {escape(level.upper())}</h2>{said}</section>")


_KINDS = {"local": "local run", "shadow": "run under Shadow", "journals": "journals only (shadow run by hand?)"}


def _shadow_facts(shadow: dict | None) -> str | None:
    if not shadow:
        return None
    wall, rss = shadow.get("wall_seconds"), shadow.get("peak_rss_bytes")
    return ", ".join(f for f in (shadow.get("version"), f"{wall:.0f} s wall" if wall else None,
                                f"peak memory {rss / 2**30:.1f} GiB" if rss else None) if f)


def _clock(run: dict) -> str | None:
    if not run.get("clock"):
        return None
    paced = f", at most ×{run['max_speed']:g} real time" if run.get("max_speed") else ""
    return f"{run['clock']} clock{paced}"


def _run_section(report: dict) -> str:
    run, journals = report["run"], report["journals"]
    facts = [_KINDS.get(run["kind"], run["kind"]), f"seed {run['seed']}" if run["seed"] is not None else None,
             f"time ×{run['time_scale']:g}" if run["time_scale"] else None,
             _clock(run), _shadow_facts(run.get("shadow")),
             f"status {run['status']}" if run["status"] else None,
             f"{journals['files']} journals, {journals['records']} records"]
    parts = [f'<p class=sub>{escape(" · ".join(f for f in facts if f))} — '
             f'<code>{escape(run["dir"])}</code></p>']
    if run["description"]:
        parts.append(f"<p>{escape(str(run['description']))}</p>")
    parts.append(_phases(report))
    missing = [name for name, there in run["files"].items() if not there]
    if missing:
        parts.append(f"<p class=note>Not in this directory: {escape(', '.join(missing))} "
                     "(normal for a Shadow run); every number comes from the journals.</p>")
    if journals["corrupt_total"] or journals["torn"]:
        corrupt = ", ".join(f"{a} {n}" for a, n in journals["corrupt"].items())
        parts.append(f"<p class=warn>Corrupt journal lines skipped: {journals['corrupt_total']}"
                     f"{f' ({escape(corrupt)})' if corrupt else ''}; torn last line ignored in: "
                     f"{escape(', '.join(journals['torn']) or 'none')}.</p>")
    return "".join(parts)


def _blocks_section(report: dict) -> str:
    b = report["blocks"]
    rows = [[pool, _num(p["hashrate"], 1), _pct(p["share"] or 0, 1) if p["share"] is not None else "-",
             p["blocks"], _num(p["expected"]), _pct(p["blocks"], b["total"]), _num(p["sd"]),
             _num(p["z"]), _num(p["p_value"], 3), p["comment"]] for pool, p in b["pools"].items()]
    note = (f"<p class=note>{b['signals']} signals, {b['late']} late (re-signalled); mean interval "
            f"between pool blocks {_dur(b['interval'])}. Expected = share × {b['total']} blocks; "
            "sd = √(n·p·(1−p)); p = exact two-sided binomial probability of a count at least "
            "this far from the expectation (below 0.05: unlikely by chance).</p>")
    return _table(["pool", "hashrate", "share", "blocks", "expected", "actual share", "sd", "z",
                   "p", "comment"], rows, left={0, 9}) + note


def _payments_section(report: dict) -> str:
    pay = report["payments"]
    rows = [[shop, s["sent"], s["matched"], s["mismatched"], s["missing"], s["unmatched"], s["unknown"],
             s["seen_records"], s["confirmed_records"], _xmr(s["received"])]
            for shop, s in pay["shops"].items()]
    rows.append(["all", pay["sent"], pay["matched"], pay["mismatched"], pay["missing"],
                 pay["unmatched"], pay["unknown"], pay["seen_records"], pay["confirmed_records"],
                 _xmr(sum(s["received"] for s in pay["shops"].values()))])
    html = [_table(["marketplace", "sent to it", "matched", "mismatched", "missing", "unmatched",
                    "unknown", "seen", "confirmed", "received XMR"], rows)]
    failed = ", ".join(f"{c} ×{n}" for c, n in pay["failure_codes"].items())
    html.append(f"<p class=note>Orders placed: {pay['orders']}; payments sent: {pay['sent']}, "
                f"failed: {pay['failed']}{f' ({escape(failed)})' if failed else ''}; orders never "
                f"sent nor failed: {pay['orders_open']}. Unmatched: seen only as unknown or "
                "wrong_shop. Unknown: sightings no sent payment to that shop accounts for.</p>")
    listed = [["mismatched", i["shop"], i["user"], i["payment_id"], _xmr(i["amount"]),
               _xmr(i["seen_amount"]), _short(i["txid"])] for i in pay["mismatches"]]
    listed += [["missing", i["shop"], i["user"], i["payment_id"], _xmr(i["amount"]), "-",
                _short(i["txid"])] for i in pay["missing_items"]]
    listed += [["unknown" if u["status"] == "unknown" else f"unknown ({u['status']})", u["shop"],
                u["user"] or "-", u["payment_id"], "-", _xmr(u["amount"]), _short(u["txid"])]
               for u in pay["unknown_items"]]
    if listed:
        more = f" (first {ROWS_LISTED} of {len(listed)})" if len(listed) > ROWS_LISTED else ""
        html.append(f"<h3>Payments that did not match{more}</h3>")
        html.append(_table(["problem", "marketplace", "user", "payment id", "sent XMR", "seen XMR",
                            "txid"], listed[:ROWS_LISTED], left=7))
    return "".join(html)


def _latency_section(report: dict) -> str:
    rows = []
    for name, stats in report["transactions"]["latency"].items():
        s = stats or {}
        rows.append([name.replace("_", " "), s.get("n", 0),
                     *(_dur(s.get(k)) for k in ("min", "median", "mean", "p90", "max"))])
    return (_table(["latency", "n", "min", "median", "mean", "p90", "max"], rows) +
            "<p class=note>Seen: the marketplace's first sighting (in the pool, or already in a "
            "block). Mined: when the block at the payment's height was journaled. Simulated time.</p>")


def _errors_section(report: dict) -> str:
    e = report["errors"]
    if not e["total"]:
        return "<p>No agent journaled an error.</p>"
    agents = [[a, r["leaf_failed"], r["rpc_failed"], ", ".join(f"{c} ×{n}" for c, n in r["codes"].items()),
               r["last_error"] or "-"] for a, r in e["by_agent"].items()]
    codes = [[c, n] for c, n in e["by_code"].items()]
    return (_table(["agent", "leaf_failed", "rpc_failed", "codes", "last error"], agents,
                   left={0, 3, 4}) +
            _table(["error code", "count"], codes) +
            "<p class=note>Codes are RPC error codes, or the error's type when it had none.</p>")


def _events_section(report: dict) -> str:
    """One table per role: every event its agents journaled, known to the code or not."""
    html = []
    for role, row in (report.get("events") or {}).items():
        rows = [[event, n] for event, n in row["events"].items()]
        html.append(f"<h3>{escape(role)} ({row['agents']} agent{'s' if row['agents'] != 1 else ''})"
                    f"</h3>" + _table(["event", "records"], rows, left={0}))
    return "".join(html) or "<p class=note>No events.</p>"


def _agents_section(report: dict) -> str:
    rows = [[a, r["role"] or "-", r["tree"] or "-", _num(r["ticks"]), r["status"] or "-",
             r["stop_reason"] or ("-" if r["stopped"] else "never stopped"), r["outcome"] or "-",
             r["records"], r["payments_sent"], r["payments_failed"], r["payments_seen"], r["blocks"],
             r["errors"], r["corrupt_lines"]] for a, r in report["agents"].items()]
    return _table(["agent", "role", "tree", "ticks", "status", "stopped by", "outcome", "records",
                   "paid", "pay failed", "seen", "blocks", "errors", "corrupt"], rows,
                  left={0, 1, 2, 4, 5, 6})


def _figure(report: dict, out: Path, name: str, title: str) -> str:
    """The plot `name` as an inline PNG ("" when the report has none)."""
    files = report.get("plots", {}).get(name)
    if not files:
        return ""
    data = base64.b64encode((out / files["png"]).read_bytes()).decode("ascii")
    return (f'<figure><img alt="{escape(title)}" src="data:image/png;base64,{data}">'
            f"<figcaption>{escape(title)} — also {escape(files['png'])}, "
            f"{escape(files['svg'])}</figcaption></figure>")


def _figures(report: dict, out: Path) -> str:
    return "".join(_figure(report, out, name, title) for name, title in PLOTS.items())


def _propagation(report: dict, out: Path) -> tuple[str, ...]:
    """The Propagation section (`sim.report.html_network`), nothing without daemon logs."""
    if not report.get("propagation"):
        return ()
    from sim.report.html_network import propagation_section   # it builds on this module's helpers
    return ("<h2>Propagation</h2>", propagation_section(report, out))


def _flood(report: dict, out: Path) -> str:
    """The Flood section (`sim.report.flood_html`), "" without `report["flood"]`."""
    from sim.report.flood_html import flood_section   # here: it builds on this module's helpers
    return flood_section(report, out)


def _trees_section(report: dict, out: Path, replay: dict | None) -> tuple[str, ...]:
    if replay is None:
        return ()
    from sim.report.replay import replay_section
    from sim.report.treeplots import FLEET_PLOT
    return ("<h2>Trees in time</h2>", replay_section(replay, report["trees"]["leaves"],
                                                     _figure(report, out, *FLEET_PLOT)))


def render_html(report: dict, out: str | Path, replay: dict | None = None) -> str:
    """The page for `report`, whose plots are files in `out`; `replay`: the status journals'
    data (sim.report.replay) for the "Trees in time" section."""
    out = Path(out)
    cards = "".join(f'<div class="card {tone}"><b>{escape(value)}</b><span>{escape(label)}</span></div>'
                    for value, label, tone in headline(report))
    body = [f"<h1>Monerosim report: {escape(str(report['run']['name']))}</h1>",
            _verdict_section(report), _run_section(report),
            f"<div class=cards>{cards}</div>",
            "<h2>Blocks per pool</h2>", _blocks_section(report),
            "<h2>Payments per marketplace</h2>", _payments_section(report),
            "<h2>Latency per payment</h2>", _latency_section(report),
            *_propagation(report, out),
            *(("<h2>Selfish mining</h2>", selfish_section(report["selfish"], _table))
              if report.get("selfish") else ()),
            *(("<h2>Spy nodes</h2>", spy_section(report["spies"], _table)) if report.get("spies") else ()),
            _flood(report, out),
            "<h2>Errors</h2>", _errors_section(report),
            "<h2>Events per role</h2>", _events_section(report),
            *_trees_section(report, out, replay),
            "<h2>Plots</h2>", _figures(report, out),
            "<h2>Agents</h2>", _agents_section(report)]
    return ("<!DOCTYPE html><html lang=en><head><meta charset=utf-8>"
            f"<title>Monerosim report: {escape(str(report['run']['name']))}</title>"
            f"<style>{CSS}</style></head><body><main>{''.join(body)}</main></body></html>\n")
