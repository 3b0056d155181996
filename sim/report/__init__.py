"""`monerosim report RUN`: report.json, plots (PNG + SVG) and one self-contained report.html.

load.py reads a run directory, metrics.py computes report.json, plots.py and html.py draw it;
with two or more daemon logs, propagation.py (over daemonlog.py) adds propagation and forks;
with status journals, statuses.py, treeplots.py and replay.py add the trees in time.
Imports stay lazy here: `sim.report.summary` imports `sim.report.load`, and only the report needs
matplotlib.
"""
from __future__ import annotations

import json
from pathlib import Path

__all__ = ["build_report"]


def build_report(run_dir: str | Path, out: str | Path | None = None) -> Path:
    """Write the report of `run_dir` into `out` (default RUN/report/); return report.html's path.

    Raises sim.report.load.NotARunDirectory for a missing directory or one without journals/.
    """
    from sim.report.html import render_html
    from sim.report.load import read_run
    from sim.report.metrics import build_metrics
    from sim.report.plots import write_plots

    files = read_run(run_dir)
    out = Path(out) if out is not None else files.dir / "report"
    out.mkdir(parents=True, exist_ok=True)
    report = build_metrics(files)
    report["plots"] = write_plots(report, files, out)
    replay = _trees_in_time(files, report, out)
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    page = out / "report.html"
    page.write_text(render_html(report, out, replay), encoding="utf-8")
    return page


def _trees_in_time(files, report: dict, out: Path) -> dict | None:
    """report["trees"] (the fleet and per-leaf statistics from the status journals) and the
    fleet plot; returns the replay's data for the page (None for a run without them)."""
    from sim.report.replay import replay_data
    from sim.report.statuses import fleet, leaf_stats, read_statuses
    from sim.report.treeplots import FLEET_PLOT, fleet_plot

    origin, span = report["run"]["origin"], report["run"]["span"]
    statuses = read_statuses(files.dir, origin)
    if not statuses:
        return None
    end = max([span, *(s.end or 0 for s in statuses.values())])
    report["trees"] = {"agents": len(statuses), "end": end, "fleet": fleet(statuses, end),
                       "leaves": leaf_stats(statuses, end)}
    plot = fleet_plot(report["trees"]["fleet"], out)
    if plot:
        report["plots"][FLEET_PLOT[0]] = plot
    return replay_data(statuses, files, origin, end)
