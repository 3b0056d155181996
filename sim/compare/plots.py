"""CDF plots with bands: per latency, one line per point (the mean CDF over its runs) with its
pointwise 95 % band. PNG (embedded in compare.html) and SVG."""
from __future__ import annotations

from pathlib import Path

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from sim.compare.figures import LATENCIES, PointRuns  # noqa: E402
from sim.compare.stats import LEVEL, cdf_band  # noqa: E402

__all__ = ["cdf_plots"]

GRID = 300


def cdf_plots(points: list[PointRuns], out: Path) -> dict[str, dict]:
    """{latency kind: {png, svg, title}} for each kind some counted run has payments for."""
    written = {}
    for kind, (_, title) in LATENCIES.items():
        per_point = [(p.label, [r.samples.get(kind, []) for r in p.runs if r.counted]) for p in points]
        top = max((max(s) for _, samples in per_point for s in samples if s), default=None)
        if top is None:
            continue
        grid = np.linspace(0.0, top * 1.02, GRID)
        fig, ax = plt.subplots(figsize=(8, 4.2))
        for label, samples in per_point:
            samples = [s for s in samples if s]
            if not samples:
                continue
            mean, low, high = cdf_band(samples, grid)
            line, = ax.plot(grid, mean, label=f"{label} (n={len(samples)})")
            ax.fill_between(grid, low, high, color=line.get_color(), alpha=0.2, linewidth=0)
        ax.set_xlabel("simulated seconds")
        ax.set_ylabel("share of payments")
        ax.set_ylim(0, 1.01)
        ax.set_title(f"{title}: mean CDF over seeds, {LEVEL:.0%} band")
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small", loc="lower right")
        fig.tight_layout()
        files = {"png": f"cdf-{kind}.png", "svg": f"cdf-{kind}.svg", "title": title}
        fig.savefig(out / files["png"], dpi=100)
        fig.savefig(out / files["svg"])
        plt.close(fig)
        written[kind] = files
    return written
