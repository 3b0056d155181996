"""The Flood section's two plots (PNG + SVG), from report.json's `flood` (`sim.report.flood`):

  flood_mempool  each daemon's transaction pool over time (transactions), and below it the
                 weight of every block read against the penalty-free zone; the flood shaded
  flood_tiers    each payment's time to a block against when it was sent, one colour per fee
                 tier; the flood shaded

Times are simulated minutes since the report's origin.
"""
from __future__ import annotations

from pathlib import Path

from sim.report.plots import _empty, _pyplot, _save

__all__ = ["FLOOD_PLOTS", "write_flood_plots"]

FLOOD_PLOTS = {
    "flood_mempool": "Mempool per daemon and block weight over time",
    "flood_tiers": "Time to a block by fee tier, against when the payment was sent",
}
SHADE = {"color": "#d62728", "alpha": 0.08, "lw": 0}


def _shade(ax, window: dict | None) -> None:
    if window is not None:
        ax.axvspan(window["start"] / 60, window["end"] / 60, **SHADE, label="flood")


def mempool_plot(plt, flood: dict, out: Path) -> dict:
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 5.6), sharex=True,
                                      gridspec_kw={"height_ratios": [3, 2]})
    if not flood["mempool"]:
        _empty(top, "no mempool read")
    for daemon, row in flood["mempool"].items():
        points = [(t / 60, txs) for t, txs, _b, _h in row["series"] if txs is not None]
        top.step([x for x, _ in points], [y for _, y in points], where="post", lw=1.1,
                 label=f"{daemon} ({', '.join(row['agents'])}): peak {row['peak_txs']}")
    _shade(top, flood["window"])
    top.set_ylabel("transactions in the pool")
    top.grid(alpha=0.3)
    top.legend(loc="upper left", fontsize=8)
    blocks = [b for b in flood["blocks"]["series"] if b["t"] is not None and b["weight"] is not None]
    if blocks:
        bottom.bar([b["t"] / 60 for b in blocks], [b["weight"] / 1000 for b in blocks], width=0.12,
                   color="#1f77b4", label=f"block weight ({len(blocks)} blocks)")
        bottom.axhline(flood["blocks"]["zone"] / 1000, color="#555555", ls="--", lw=1,
                       label=f"penalty-free zone ({flood['blocks']['zone'] // 1000} kB)")
        bottom.legend(loc="upper left", fontsize=8)
    else:
        _empty(bottom, "no block read")
    _shade(bottom, flood["window"])
    bottom.set_ylabel("kB")
    bottom.set_xlabel("simulated minutes")
    bottom.set_xlim(left=0)
    bottom.grid(alpha=0.3)
    fig.suptitle(FLOOD_PLOTS["flood_mempool"])
    return _save(plt, fig, out, "flood_mempool")


def tiers_plot(plt, flood: dict, out: Path) -> dict:
    fig, ax = plt.subplots(figsize=(9, 4.2))
    done = [p for p in flood["payments"] if p["to_block"] is not None]
    if not done:
        _empty(ax, "no payment in a block")
    else:
        longest = max(p["to_block"] for p in done)
        scale, unit = (60.0, "minutes") if longest > 600 else (1.0, "seconds")
        for n, tier in enumerate(flood["tiers"]):
            mine = [p for p in done if p["tier"] == tier]
            ax.scatter([p["sent"] / 60 for p in mine], [p["to_block"] / scale for p in mine], s=14,
                       color=f"C{n}", alpha=0.8, label=f"priority {tier} ({len(mine)})")
        _shade(ax, flood["window"])
        ax.set_xlabel("simulated minutes (when the payment was sent)")
        ax.set_ylabel(f"{unit} to a block")
        ax.set_xlim(left=0)
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
        ax.legend(loc="upper left", fontsize=8)
    ax.set_title(FLOOD_PLOTS["flood_tiers"])
    return _save(plt, fig, out, "flood_tiers")


def write_flood_plots(report: dict, out: str | Path) -> dict:
    """Write both plots into `out` when the report has `flood`; {plot: {png, svg}} ({} without)."""
    flood = report.get("flood")
    if not flood:
        return {}
    out = Path(out)
    plt = _pyplot()
    return {"flood_mempool": mempool_plot(plt, flood, out), "flood_tiers": tiers_plot(plt, flood, out)}
