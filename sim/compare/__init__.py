"""`monerosim compare RUN_OR_SWEEP...`: figures per point with means and 95 % confidence
intervals over seeds, CDF plots with bands, one HTML page and CSV tables.

figures.py reads each run (its report.json numbers) and groups runs into points; stats.py
computes the intervals and bands; plots.py draws the CDFs; html.py writes the page.

    OUT/compare.html     one self-contained page
    OUT/figures.csv      one row per run and figure: point, swept values, seed, verdict, value
    OUT/intervals.csv    one row per point and figure: n, mean, sd, low, high (runs whose
                         verdict is ok or degraded; failed runs are listed, not averaged)
    OUT/cdf-*.png|svg    latency CDFs with bands
"""
from __future__ import annotations

import csv
from pathlib import Path

__all__ = ["compare"]


def compare(paths: list[str | Path], out: str | Path) -> Path:
    """Write the comparison of `paths` (sweep or run directories) into `out`; return the page."""
    from sim.compare.figures import collect
    from sim.compare.html import render
    from sim.compare.plots import cdf_plots
    from sim.compare.stats import interval

    points = collect(paths)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    names = _figure_names(points)
    intervals = {p.label: {f: interval([r.figures.get(f) for r in p.runs if r.counted]) for f in names}
                 for p in points}
    keys = list(dict.fromkeys(k for p in points for k in p.values))
    _write_figures(out / "figures.csv", points, names, keys)
    _write_intervals(out / "intervals.csv", points, names, keys, intervals)
    plots = cdf_plots(points, out)
    page = out / "compare.html"
    page.write_text(render(points, names, intervals, plots, out), encoding="utf-8")
    return page


def _figure_names(points) -> list[str]:
    return list(dict.fromkeys(f for p in points for r in p.runs for f in r.figures))


def _write_figures(path: Path, points, names: list[str], keys: list[str]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["point", *keys, "seed", "verdict", "run_dir", "figure", "value"])
        for p in points:
            for r in p.runs:
                for name in names:
                    if name in r.figures:
                        writer.writerow([p.label, *(_cell(p.values, k) for k in keys), r.seed,
                                         r.verdict, r.dir, name, r.figures[name]])


def _write_intervals(path: Path, points, names: list[str], keys: list[str], intervals) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["point", *keys, "runs", "counted", "figure", "n", "mean", "sd", "low", "high"])
        for p in points:
            counted = sum(1 for r in p.runs if r.counted)
            for name in names:
                i = intervals[p.label][name]
                writer.writerow([p.label, *(_cell(p.values, k) for k in keys), len(p.runs), counted,
                                 name, i.n, i.mean, i.sd, i.low, i.high])


def _cell(values: dict, key: str) -> str:
    from sim.scenario.overrides import shown
    return shown(values[key]) if key in values else ""
