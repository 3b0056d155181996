"""report.html's Propagation section: how far and how fast transactions and blocks spread between
the daemons, per region, the forks, and the network events applied (`report["propagation"]`)."""
from __future__ import annotations

from pathlib import Path

from sim.report.html import ROWS_LISTED, _dur, _figure, _num, _short, _table
from sim.report.plots import PROPAGATION_PLOT, TIPS_PLOT

__all__ = ["propagation_section"]


_WHAT = {"tx": "transactions", "block": "blocks"}


def _reach_rows(net: dict) -> list[list]:
    rows = []
    for kind, what in _WHAT.items():
        for pct in (50, 90, 100):
            s = net[kind][f"t{pct}"] or {}
            rows.append([f"{what} to {pct} %", f"{s.get('n', 0)} of {net[kind]['count']}",
                         *(_dur(s.get(k)) for k in ("median", "p90", "max"))])
    return rows


def _region_tables(net: dict) -> str:
    by = net.get("by_region")
    if not by:
        return "<p class=note>No regions in run.json: per-region figures left out.</p>"
    names = list(by["tx"]["regions"])
    rows = []
    for name in names:
        row = [name, by["tx"]["regions"][name]["daemons"]]
        for kind in _WHAT:
            r = by[kind]["regions"][name]
            row += [r["n"], _dur(r["median"]), _dur(r["p90"])]
        rows.append(row)
    html = [_table(["region", "daemons", "tx n", "tx median", "tx p90", "block n", "block median",
                    "block p90"], rows)]
    for kind, what in _WHAT.items():
        matrix = by[kind]["matrix"]
        html.append(f"<h3>Median delay of {what}: origin's region (rows) to daemon's region</h3>" +
                    _table(["origin", *names], [[o, *(_dur(matrix[o].get(d)) for d in names)]
                                                for o in names if o in matrix]))
    return "".join(html)


def _forks_tables(forks: dict) -> str:
    html = [f"<p>Alternative blocks: {forks['alternative_blocks']} · orphaned blocks: "
            f"{forks['orphaned_blocks']} · reorganisations: {len(forks['reorgs'])} (deepest "
            f"{forks['max_depth']} block{'s' if forks['max_depth'] != 1 else ''}).</p>"]
    if forks["reorgs"]:
        html.append(_table(["daemon", "at (daemon clock)", "split height", "depth", "new size"],
                           [[r["daemon"], r["at"], r["height"], r["depth"], _num(r["size"])]
                            for r in forks["reorgs"][:ROWS_LISTED]], left={0, 1}))
    if forks["orphaned"]:
        html.append(_table(["orphaned block", "height", "mined by", "seen by"],
                           [[_short(o["hash"]), _num(o["height"]), o["miner"] or "-", o["seen"]]
                            for o in forks["orphaned"][:ROWS_LISTED]], left={0, 2}))
    return "".join(html)


def propagation_section(report: dict, out: Path) -> str:
    """Propagation between the daemons and forks, from their logs (report["propagation"])."""
    net = report["propagation"]
    nodes = [[d, n["region"] or "-", n["txs_seen"], n["txs_originated"], _dur(n["tx_median"]),
              _dur(n["tx_p90"]), n["blocks_seen"], n["blocks_originated"], _dur(n["block_median"]),
              _dur(n["block_p90"])] for d, n in net["nodes"].items()]
    skipped = (f"; blocks up to height {net['skip_below_height']} (bootstrap) left out"
               if net["skip_below_height"] else "")
    return "".join([
        f"<p class=note>From the logs of {net['daemons']} daemons{skipped}. Delay: when a daemon "
        "first saw the item, after its origin (the daemon that got it over RPC) did, on the "
        "daemons' clocks. To p %: the delay by which p % of the daemons had it.</p>",
        _table(["items", "reached", "median", "p90", "max"], _reach_rows(net)),
        "<h3>Per region</h3>", _region_tables(net),
        "<h3>Per daemon</h3>",
        _table(["daemon", "region", "txs seen", "txs sent", "tx median", "tx p90", "blocks seen",
                "blocks mined", "block median", "block p90"], nodes, left={0, 1}),
        "<h3>Forks</h3>", _forks_tables(net["forks"]),
        _events_table(net.get("events") or []),
        _figure(report, out, *PROPAGATION_PLOT), _figure(report, out, *TIPS_PLOT)])


def _events_table(events: list[dict]) -> str:
    """The network events the launcher applied (scenario `events:`), when there were any."""
    if not events:
        return ""
    rows = [[_dur(e.get("applied_at")), e["kind"],
             ", ".join(e.get("regions") or e.get("groups") or []) or
             (f"{e['link']}: {_dur(e['latency']) if 'latency' in e else e.get('loss')}" if "link" in e else "-"),
             e.get("links_cut", 0), f"{e['t']:.3f} s"] for e in events]
    return ("<h3>Network events</h3>" +
            _table(["at (simulated)", "kind", "what", "links cut", "at (daemons' clock)"], rows, left={1, 2}))
