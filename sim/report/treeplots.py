"""The fleet plot: per role, how many agents are in each leaf over time (stacked areas)."""
from __future__ import annotations

from pathlib import Path

from sim.report.plots import _pyplot, _save

__all__ = ["fleet_plot", "FLEET_PLOT"]

FLEET_PLOT = ("fleet", "Agents in each leaf over time, per role")
SHOWN = 8            # leaves drawn per role; the rest are summed as "other leaves"


def fleet_plot(fleet: dict, out: Path) -> dict | None:
    """Write fleet.png/.svg: one panel per role (None when no agent left a status journal)."""
    if not fleet:
        return None
    plt = _pyplot()
    roles = sorted(fleet)
    fig, axes = plt.subplots(len(roles), 1, figsize=(9, 1.9 + 1.7 * len(roles)), squeeze=False)
    for ax, role in zip(axes[:, 0], roles):
        entry = fleet[role]
        minutes = [t / 60 for t in entry["times"]]
        series = sorted(entry["series"], key=lambda s: -sum(s["counts"]))
        shown, rest = series[:SHOWN], series[SHOWN:]
        ys = [s["counts"] for s in shown]
        labels = [s["label"] for s in shown]
        if rest:
            ys.append([sum(v) for v in zip(*(s["counts"] for s in rest))])
            labels.append(f"{len(rest)} other leaves")
        if ys:
            ax.stackplot(minutes, ys, labels=labels, alpha=0.85)
            ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=7, frameon=False)
        ax.set_ylabel("agents")
        ax.set_title(f"{role} ({entry['agents']} agents)", fontsize=9, loc="left")
    axes[-1, 0].set_xlabel("simulated minutes")
    fig.suptitle(FLEET_PLOT[1], fontsize=10)
    return _save(plt, fig, Path(out), FLEET_PLOT[0])
