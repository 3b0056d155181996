"""compare.html: the verdicts, each figure's mean [95 % interval] per point, the CDF plots."""
from __future__ import annotations

import base64
from collections import Counter
from html import escape
from pathlib import Path

from sim.compare.figures import COUNTED, SECTIONS, PointRuns
from sim.compare.stats import LEVEL, Interval
from sim.report.html import CSS

__all__ = ["render", "cell"]

_MORE_CSS = """
td.ci { white-space: nowrap; }
td.ci small { color: #666; }
details { margin: 1em 0; }
"""


def cell(i: Interval) -> str:
    """`mean [low, high]` with n; the mean alone for one run; an en dash for none."""
    if i.n == 0 or i.mean is None:
        return "–"
    if i.low is None:
        return f"{_g(i.mean)} <small>n=1</small>"
    return f"{_g(i.mean)} <small>[{_g(i.low)}, {_g(i.high)}] n={i.n}</small>"


def _g(x: float) -> str:
    return f"{x:.4g}"


def render(points: list[PointRuns], names: list[str], intervals: dict, plots: dict, out: Path) -> str:
    runs = sum(len(p.runs) for p in points)
    body = [f"<h1>Comparison: {len(points)} point{'s' * (len(points) != 1)}, {runs} runs</h1>",
            f"<p>Each cell: the mean over the point's runs whose verdict is {' or '.join(COUNTED)}, "
            f"its {LEVEL:.0%} confidence interval (Student's t over seeds) and n. Tables: "
            "<code>figures.csv</code> (every run), <code>intervals.csv</code> (every point).</p>",
            _verdicts(points), _left_out(points)]
    core = [n for n in names if n.split(".", 1)[0] not in SECTIONS]
    body.append("<h2>Figures</h2>" + _table(points, core, intervals))
    for section in SECTIONS:
        mine = [n for n in names if n.split(".", 1)[0] == section]
        if mine:
            body.append(f"<details open><summary><h2 style='display:inline'>{escape(section)}</h2>"
                        f"</summary>{_table(points, mine, intervals)}</details>")
    if plots:
        body.append("<h2>Latency CDFs</h2>")
        for files in plots.values():
            data = base64.b64encode((out / files["png"]).read_bytes()).decode("ascii")
            body.append(f'<figure><img alt="{escape(files["title"])}" src="data:image/png;base64,{data}">'
                        f'<figcaption>{escape(files["title"])} (<a href="{escape(files["svg"])}">SVG</a>)'
                        "</figcaption></figure>")
    return ("<!DOCTYPE html><html><head><meta charset='utf-8'><title>monerosim compare</title>"
            f"<style>{CSS}{_MORE_CSS}</style></head><body><main>{''.join(body)}</main></body></html>\n")


def _verdicts(points: list[PointRuns]) -> str:
    kinds = ["ok", "degraded", "failed", "crashed", "error", "not run"]
    rows = []
    for p in points:
        count = Counter(r.verdict for r in p.runs)
        seeds = ", ".join(str(r.seed) for r in p.runs if r.seed is not None)
        rows.append(f"<tr><td>{escape(p.label)}</td><td>{len(p.runs)}</td>"
                    + "".join(f"<td>{count.get(k, 0)}</td>" for k in kinds)
                    + f"<td>{escape(seeds)}</td></tr>")
    head = "".join(f"<th>{k}</th>" for k in ["point", "runs", *kinds, "seeds"])
    return f"<h2>Verdicts</h2><table id='verdicts'><tr>{head}</tr>{''.join(rows)}</table>"


def _left_out(points: list[PointRuns]) -> str:
    rows = [f"<tr><td>{escape(p.label)}</td><td>{escape(str(r.seed))}</td><td>{escape(r.verdict)}</td>"
            f"<td><code>{escape(str(r.dir))}</code></td></tr>"
            for p in points for r in p.runs if not r.counted]
    if not rows:
        return ""
    return ("<h3>Runs left out of the intervals</h3><table id='left-out'><tr><th>point</th><th>seed</th>"
            f"<th>verdict</th><th>run directory</th></tr>{''.join(rows)}</table>")


def _table(points: list[PointRuns], names: list[str], intervals: dict) -> str:
    head = "".join(f"<th>{escape(p.label)}</th>" for p in points)
    rows = [f"<tr><td>{escape(n)}</td>"
            + "".join(f"<td class='ci' data-point='{escape(p.label)}' data-figure='{escape(n)}'>"
                      f"{cell(intervals[p.label][n])}</td>" for p in points) + "</tr>"
            for n in names]
    return f"<table class='figures'><tr><th>figure</th>{head}</tr>{''.join(rows)}</table>"
