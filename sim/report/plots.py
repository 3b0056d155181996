"""The report's four plots, each written as PNG and SVG (matplotlib, Agg backend, imported lazily),
and a fifth, the propagation CDF, when the report has daemon logs (`report["propagation"]`).

Times on every axis are simulated, relative to the report's origin (the first `agent_started`);
propagation delays are differences of the daemons' clocks.
"""
from __future__ import annotations

import atexit
import math
import os
import shutil
import tempfile
from pathlib import Path

from lang.events import (ADDRESS_PUBLISHED, AGENT_STARTED, AGENT_STOPPED, BLOCK_LATE, BLOCK_MINED,
                         BOOTSTRAP_MINED, FUNDED, LEAF_FAILED, ORDER_PLACED, PAYMENT_CONFIRMED,
                         PAYMENT_FAILED, PAYMENT_SEEN, PAYMENT_SENT, PEERS_FUNDED, POOL_REGISTERED,
                         RPC_FAILED, SIGNAL_ISSUED, WAITING, WAIT_TIMED_OUT, WALLET_CREATED,
                         WALLET_OPENED)
from sim.report.load import RunFiles, number

__all__ = ["write_plots", "PLOTS", "PROPAGATION_PLOT", "TIPS_PLOT"]

PLOTS = {
    "latency_cdf": "Confirmation latency (CDF)",
    "payments_by_shop": "Payments over time per marketplace",
    "blocks_per_pool": "Blocks per pool vs expected",
    "activity": "Activity timeline",
}
PROPAGATION_PLOT = ("propagation_cdf", "First-seen delay per daemon (CDF)")
TIPS_PLOT = ("chain_tips", "Each daemon's chain over time: network events and reorganisations")
SHORTEST = 0.001           # s: delays below this (0, or clocks a little apart) drawn here on the log axis
LATENCY_LABELS = {"seen": "sent → seen", "mined": "sent → mined",
                  "confirmed": "sent → confirmed"}
ROLE_ORDER = {"controller": 0, "pool": 1, "marketplace": 2, "user": 3}
MAX_ROWS = 60              # more agents than this: one timeline row per role
RASTER_POINTS = 2000       # more markers than this: drawn as an image inside the SVG
# event → (marker, colour, label) on the activity timeline
MARKS = {
    BOOTSTRAP_MINED: ("*", "#17becf", "bootstrap blocks"),
    SIGNAL_ISSUED: ("|", "#7f7f7f", "mining signal"),
    BLOCK_MINED: ("s", "#1f77b4", "block mined"),
    PEERS_FUNDED: ("D", "#9467bd", "peers funded"),
    FUNDED: ("d", "#e377c2", "funds unlocked"),
    PAYMENT_SENT: ("^", "#2ca02c", "payment sent"),
    PAYMENT_SEEN: ("o", "#ff7f0e", "payment seen"),
    PAYMENT_CONFIRMED: ("P", "#8c564b", "payment confirmed"),
    "error": ("x", "#d62728", "error"),
}
# Any other event (a new role's own, e.g. the guide's `saved`) gets one of these, by name.
OTHER_MARKS = [("v", "#bcbd22"), ("<", "#393b79"), (">", "#637939"), ("h", "#8c6d31"),
               ("p", "#843c39"), ("X", "#7b4173")]
NOT_SHOWN = {AGENT_STARTED, AGENT_STOPPED, WAITING, WALLET_CREATED, WALLET_OPENED,
             ADDRESS_PUBLISHED, POOL_REGISTERED, ORDER_PLACED, RPC_FAILED, LEAF_FAILED,
             PAYMENT_FAILED, BLOCK_LATE, WAIT_TIMED_OUT}


def _pyplot():
    # matplotlib's font cache goes in a temporary folder removed at exit, not in ~/.cache or
    # the run directory (which may be read-only): a report writes only its own files.
    if "MPLCONFIGDIR" not in os.environ:
        cache = tempfile.mkdtemp(prefix="monerosim-matplotlib-")
        atexit.register(shutil.rmtree, cache, ignore_errors=True)
        os.environ["MPLCONFIGDIR"] = cache
    import matplotlib
    matplotlib.use("Agg")
    matplotlib.rcParams.update({"svg.hashsalt": "monerosim", "font.size": 9,
                                "axes.spines.top": False, "axes.spines.right": False})
    import matplotlib.pyplot as plt
    return plt


def _save(plt, fig, out: Path, name: str) -> dict:
    fig.tight_layout()
    paths = {}
    for ext, extra in (("png", {"dpi": 110}), ("svg", {"metadata": {"Date": None}})):
        path = out / f"{name}.{ext}"
        fig.savefig(path, format=ext, **extra)
        paths[ext] = path.name
    plt.close(fig)
    return paths


def _empty(ax, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="#777777")
    ax.set_xticks([])
    ax.set_yticks([])


def latency_cdf(plt, report: dict, out: Path) -> dict:
    fig, ax = plt.subplots(figsize=(7, 4))
    items = report["transactions"]["items"]
    curves = {k: sorted(i[k] - i["sent"] for i in items if i[k] is not None) for k in LATENCY_LABELS}
    if not any(curves.values()):
        _empty(ax, "no payment was seen")
    else:
        longest = max(v[-1] for v in curves.values() if v)
        scale, unit = (60.0, "minutes") if longest > 600 else (1.0, "seconds")
        for key, values in curves.items():
            if values:
                xs = [v / scale for v in values]
                ys = [(i + 1) / len(values) for i in range(len(values))]
                ax.step([0] + xs, [0] + ys, where="post", label=f"{LATENCY_LABELS[key]} (n={len(values)})")
        ax.set_xlabel(f"simulated {unit} after the payment was sent")
        ax.set_ylabel("fraction of payments")
        ax.set_ylim(0, 1.02)
        ax.set_xlim(left=0)
        ax.grid(alpha=0.3)
        ax.legend(loc="lower right")
    ax.set_title(PLOTS["latency_cdf"])
    return _save(plt, fig, out, "latency_cdf")


def payments_by_shop(plt, report: dict, files: RunFiles, out: Path) -> dict:
    origin = report["run"]["origin"]
    series: dict[str, dict[str, list[float]]] = {}
    counted = set()        # (shop, event, txid, payment id): the first record only, as in the tables
    for journal in files.journals:
        for record in journal.records:
            t, event = number(record.get("t")), record.get("event")
            shop = record.get("agent") or journal.agent
            key = (shop, event, record.get("txid"), record.get("payment_id"))
            if t is not None and event in (PAYMENT_SEEN, PAYMENT_CONFIRMED) and key not in counted:
                counted.add(key)
                series.setdefault(shop, {PAYMENT_SEEN: [], PAYMENT_CONFIRMED: []})[event].append(
                    (t - origin) / 60)
    fig, ax = plt.subplots(figsize=(7, 4))
    if not series:
        _empty(ax, "no marketplace saw a payment")
    else:
        colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
        for n, (shop, events) in enumerate(sorted(series.items())):
            colour = colours[n % len(colours)]
            for event, style in ((PAYMENT_SEEN, "-"), (PAYMENT_CONFIRMED, "--")):
                times = sorted(events[event])
                if times:
                    ax.step([0] + times, list(range(len(times) + 1)), where="post", color=colour,
                            linestyle=style, label=f"{shop} {event.split('_')[1]} ({len(times)})")
        ax.set_xlabel("simulated minutes")
        ax.set_ylabel("payments (cumulative)")
        ax.yaxis.set_major_locator(plt.MaxNLocator(integer=True))
        ax.set_xlim(left=0)
        ax.grid(alpha=0.3)
        ax.legend(loc="upper left", fontsize=8)
    ax.set_title(PLOTS["payments_by_shop"])
    return _save(plt, fig, out, "payments_by_shop")


def blocks_per_pool(plt, report: dict, out: Path) -> dict:
    pools = report["blocks"]["pools"]
    fig, ax = plt.subplots(figsize=(7, 4))
    if not pools:
        _empty(ax, "no pool registered")
    else:
        names = list(pools)
        xs = range(len(names))
        actual = [pools[p]["blocks"] for p in names]
        expected = [pools[p]["expected"] or 0 for p in names]
        spread = [2 * (pools[p]["sd"] or 0) for p in names]
        ax.bar([x - 0.2 for x in xs], actual, width=0.4, label="mined", color="#1f77b4")
        ax.bar([x + 0.2 for x in xs], expected, width=0.4, yerr=spread, capsize=4,
               label="expected from hashrate (±2σ)", color="#aec7e8")
        for x, p in zip(xs, names):
            if pools[p]["p_value"] is not None:
                ax.annotate(f"p={pools[p]['p_value']:.2f}", (x, max(actual[x], expected[x] + spread[x])),
                            textcoords="offset points", xytext=(0, 4), ha="center", fontsize=8)
        share = [f"{p}\n{100 * pools[p]['share']:.0f}% hashrate" if pools[p]["share"] is not None
                 else p for p in names]
        ax.set_xticks(list(xs), share)
        ax.set_ylabel("blocks mined on signals")
        ax.yaxis.set_major_locator(plt.MaxNLocator(integer=True))
        ax.margins(y=0.15)
        ax.legend(loc="upper right", fontsize=8)
    ax.set_title(f"{PLOTS['blocks_per_pool']} ({report['blocks']['total']} blocks)")
    return _save(plt, fig, out, "blocks_per_pool")


def _rows(agents: dict) -> tuple[list[str], dict[str, int], dict[int, tuple[float, float]]]:
    """Row labels, agent → row, row → (start, stop) in seconds.

    One row per agent, by role then id; above MAX_ROWS agents, one row per role ("user ×900").
    """
    order = sorted(agents, key=lambda a: (ROLE_ORDER.get(agents[a]["role"], 9), a))
    if len(order) > MAX_ROWS:
        roles = list(dict.fromkeys(agents[a]["role"] or "?" for a in order))
        row = {a: roles.index(agents[a]["role"] or "?") for a in order}
        counts = [sum(1 for a in order if row[a] == n) for n in range(len(roles))]
        labels = [f"{role} ×{n}" for role, n in zip(roles, counts)]
    else:
        row = {a: n for n, a in enumerate(order)}
        labels = order
    spans: dict[int, tuple[float, float]] = {}
    for agent in order:
        a = agents[agent]
        stop = a["stop"] if a["stop"] is not None else a["last"]
        if stop is None:
            continue
        start = a["start"] if a["start"] is not None else 0.0
        low, high = spans.get(row[agent], (start, stop))
        spans[row[agent]] = (min(low, start), max(high, stop))
    return labels, row, spans


def activity(plt, report: dict, files: RunFiles, out: Path) -> dict:
    origin = report["run"]["origin"]
    labels, row, spans = _rows(report["agents"])
    marks = dict(MARKS)
    points: dict[str, tuple[list, list]] = {k: ([], []) for k in MARKS}
    for journal in files.journals:
        for record in journal.records:
            t, event = number(record.get("t")), record.get("event")
            agent = record.get("agent") or journal.agent
            if t is None or agent not in row or not isinstance(event, str):
                continue
            key = "error" if event in (RPC_FAILED, LEAF_FAILED, PAYMENT_FAILED) else event
            if key not in marks and key not in NOT_SHOWN and len(marks) < len(MARKS) + len(OTHER_MARKS):
                marks[key] = (*OTHER_MARKS[len(marks) - len(MARKS)], key.replace("_", " "))
                points[key] = ([], [])
            if key in points:
                points[key][0].append((t - origin) / 60)
                points[key][1].append(row[agent])
    fig, ax = plt.subplots(figsize=(9, max(2.5, 0.32 * len(labels) + 1.4)))
    if not labels:
        _empty(ax, "no journal")
    else:
        for n, (start, stop) in spans.items():
            ax.hlines(n, start / 60, stop / 60, color="#dddddd", linewidth=5, zorder=1)
        for key, (xs, ys) in points.items():
            if xs:
                marker, colour, label = marks[key]
                ax.scatter(xs, ys, marker=marker, color=colour, s=22, label=f"{label} ({len(xs)})",
                           zorder=3, linewidths=1.2, rasterized=len(xs) > RASTER_POINTS)
        ax.set_yticks(range(len(labels)), labels)
        ax.set_ylim(len(labels) - 0.5, -0.5)
        ax.set_xlabel("simulated minutes")
        ax.set_xlim(left=0)
        ax.grid(axis="x", alpha=0.3)
        ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=4, fontsize=8, frameon=False)
    shown = sum(1 for xs, _ys in points.values() if xs)
    ax.set_title(PLOTS["activity"], pad=6 + 13 * math.ceil(shown / 4))
    return _save(plt, fig, out, "activity")


def _curves(network: dict, kind: str) -> dict[str, list[list[float]]]:
    """label -> CDF points of `kind`: one per region when regions are known, else all daemons."""
    regions = (network.get("by_region") or {}).get(kind)
    if regions:
        return {f"{name} ({r['n']})": r["cdf"] for name, r in regions["regions"].items() if r["cdf"]}
    whole = network[kind]
    return {f"all daemons ({whole['sightings']})": whole["cdf"]} if whole["cdf"] else {}


def propagation_cdf(plt, report: dict, out: Path) -> dict:
    """First-seen delay of transactions and of blocks at each daemon but the origin, log x axis."""
    network = report["propagation"]
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.8), sharey=True)
    for ax, kind, what in zip(axes, ("tx", "block"), ("transactions", "blocks")):
        curves = _curves(network, kind)
        if not curves:
            _empty(ax, f"no {what} reached a second daemon")
            ax.set_title(f"{what} ({network[kind]['count']})")
            continue
        for label, points in curves.items():
            xs = [max(SHORTEST, x) for x, _y in points]
            ax.step([xs[0]] + xs, [0] + [y for _x, y in points], where="post", label=label)
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda x, _pos: f"{x:g}"))
        ax.set_xlabel("seconds after the origin saw it")
        ax.set_ylim(0, 1.02)
        ax.grid(alpha=0.3, which="both")
        ax.legend(loc="lower right", fontsize=8)
        ax.set_title(f"{what} ({network[kind]['count']})")
    axes[0].set_ylabel("fraction of daemon sightings")
    fig.suptitle(PROPAGATION_PLOT[1])
    return _save(plt, fig, out, PROPAGATION_PLOT[0])


def chain_tips(plt, report: dict, out: Path) -> dict:
    """Each daemon's chain height over time (its tip), the network events as vertical lines and
    each reorganisation as a cross at its split height (x: the daemons' clock)."""
    network = report["propagation"]
    low = network.get("skip_below_height") or 0
    regions = {n: d.get("region") for n, d in network["nodes"].items()}
    colours = {r: f"C{i}" for i, r in enumerate(sorted({r or "-" for r in regions.values()}))}
    fig, ax = plt.subplots(figsize=(9, 3.8))
    for name, tips in sorted(network["tips"].items()):
        kept = [(t, h) for t, h in tips if h > low]
        if kept:
            ax.step([t for t, _ in kept], [h for _, h in kept], where="post", lw=0.9, alpha=0.8,
                    color=colours[regions.get(name) or "-"])
    for region, colour in colours.items():
        ax.plot([], [], color=colour, label=f"daemons in {region}" if region != "-" else "daemons")
    reorgs = network["forks"]["reorgs"]
    if reorgs:
        ax.scatter([r["t"] for r in reorgs], [r["height"] for r in reorgs], marker="x", color="black",
                   zorder=3, label=f"reorganisations ({len(reorgs)})")
    for event in network.get("events") or []:
        ax.axvline(event["t"], color="grey", ls="--", lw=1)
        ax.annotate(event["kind"], (event["t"], 1), xycoords=("data", "axes fraction"), rotation=90,
                    va="top", ha="right", fontsize=8)
    ax.set_xlabel("seconds on the daemons' clocks")
    ax.set_ylabel("chain height")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", fontsize=8)
    fig.suptitle(TIPS_PLOT[1])
    return _save(plt, fig, out, TIPS_PLOT[0])


def write_plots(report: dict, files: RunFiles, out: str | Path) -> dict:
    """Write the four plots (and the propagation CDF when the report has daemon logs) into `out`;
    return {plot: {"png": name, "svg": name}}."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    plt = _pyplot()
    plots = {"latency_cdf": latency_cdf(plt, report, out),
             "payments_by_shop": payments_by_shop(plt, report, files, out),
             "blocks_per_pool": blocks_per_pool(plt, report, out),
             "activity": activity(plt, report, files, out)}
    network = report.get("propagation")
    if network:
        plots[PROPAGATION_PLOT[0]] = propagation_cdf(plt, report, out)
    if network and network.get("tips") and (network.get("events") or network["forks"]["reorgs"]):
        plots[TIPS_PLOT[0]] = chain_tips(plt, report, out)
    from sim.report.flood_plots import write_flood_plots   # here: it draws with this module's helpers
    plots.update(write_flood_plots(report, out))            # with report["flood"] only
    return plots
