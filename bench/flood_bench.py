"""A flood of low-fee transactions against users in fee tiers (`scenarios/flood.yaml`, docs/research.md
"Floods and fee tiers"): one real `monerosim run` on the lockstep clock, then its report.

  flood.effect  the mempool's peak during the flood against before it; the median blocks
                waited and time to a block of priority-1 (low-fee) and priority-3 (high-fee)
                payments during the flood against before it; the time between spam transactions
                achieved against the one set;
                wall time against the simulated span.

Its figures are simulated time, so they do not depend on the machine; the wall time does (the
wallet's CPU per transaction: docs/research.md). MONEROSIM_BENCH_FLOOD_SEEDS="11,12,13" runs the
scenario once per seed (a copy with that seed), MONEROSIM_BENCH_FLOOD_SCENARIO another scenario;
the run directories are kept under MONEROSIM_BENCH_FLOOD_OUT when it names a directory.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from . import Row, bench
from .run_bench import ROOT

SCENARIO = Path(os.environ.get("MONEROSIM_BENCH_FLOOD_SCENARIO", ROOT / "scenarios" / "flood.yaml"))
SEEDS_ENV = "MONEROSIM_BENCH_FLOOD_SEEDS"     # e.g. "11,12,13": one run per seed
TIMEOUT = 5400.0          # real seconds a run may take
LOW, HIGH = "1", "3"      # the fee tiers compared


def _median(report: dict, tier: str, phase: str, what: str = "to_block") -> float:
    stats = report["flood"]["tiers"].get(tier, {}).get("phases", {}).get(phase, {}).get(what)
    return float(stats["median"]) if stats else float("nan")


def _peak(report: dict, inside: bool) -> float:
    """The highest mempool reading (transactions) during the flood, or before it."""
    window = report["flood"]["window"]
    peak = 0
    for row in report["flood"]["mempool"].values():
        for t, txs, _bytes, _height in row["series"]:
            during = window["start"] <= t <= window["end"]
            if txs is not None and (during if inside else t < window["start"]):
                peak = max(peak, txs)
    return float(peak)


def _scenario(seed: int | None, tmp: Path) -> Path:
    """SCENARIO, or a copy of it with `seed` (trees made absolute, so it may live in `tmp`)."""
    if seed is None:
        return SCENARIO
    data = yaml.safe_load(SCENARIO.read_text(encoding="utf-8"))
    data["seed"] = seed
    for group in data["groups"]:
        group["tree"] = str((SCENARIO.parent / group["tree"]).resolve())
    copy = tmp / f"{SCENARIO.stem}-seed{seed}.yaml"
    copy.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return copy


def run_flood(scenario: Path, out: Path) -> tuple[dict, float]:
    """Run `scenario` into `out` and report it: (report.json, wall seconds)."""
    from sim.report import build_report
    start = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "sim.cli", "run", str(scenario), "--out", str(out),
                           "--quiet"], cwd=ROOT, capture_output=True, text=True, timeout=TIMEOUT)
    wall = time.monotonic() - start
    if not (out / "journals").is_dir():
        raise RuntimeError(f"the flood run left no journals: {done.stderr[-2000:]}")
    page = build_report(out)
    return json.loads((page.parent / "report.json").read_text()), wall


def _rows(report: dict, wall: float, label: str) -> list[Row]:
    spam = report["flood"]["spam"]
    spammer = next(iter(spam["agents"].values()))
    low_before, low_during = _median(report, LOW, "before"), _median(report, LOW, "during")
    high_before, high_during = _median(report, HIGH, "before"), _median(report, HIGH, "during")
    blocks = _median(report, HIGH, "during", "blocks")
    during, before = _peak(report, True), _peak(report, False)
    note = (f"{spam['sent']} spam sent, {spam['mined']} in blocks, {spam['failed']} refused; "
            f"{report['flood']['blocks']['full']} of {report['flood']['blocks']['read']} blocks full; "
            f"verdict {report['verdict']['verdict']}")
    low_blocks = (_median(report, LOW, "before", "blocks"), _median(report, LOW, "during", "blocks"))
    return [
        Row(f"{label}mempool peak during / before the flood (its funding included)", during, before, "txs",
            "during > 200 (a block's worth)", during > 200, note),
        Row(f"{label}priority 1: median blocks waited, during / before", low_blocks[1], low_blocks[0],
            "blocks", ">= 2 during", low_blocks[1] >= 2),
        Row(f"{label}priority 1: median time to a block, during / before", low_during, low_before,
            "s", "", None, "seconds follow the exponential block intervals; blocks waited do not"),
        Row(f"{label}priority 3: median blocks waited, during / before", blocks,
            _median(report, HIGH, "before", "blocks"), "blocks", "1 during", blocks <= 1.0),
        Row(f"{label}priority 3: median time to a block, during / before", high_during, high_before,
            "s", "", None),
        Row(f"{label}time between spam transactions, achieved / set", 1 / (spammer["rate"] or 1e-9),
            spammer["interval"], "s", "= set (simulated time)",
            abs((spammer["rate"] or 0) * spammer["interval"] - 1) < 0.01),
        Row(f"{label}wall time / simulated span", wall, float(report["run"]["span"]), "s", "", None,
            f"the wallet's CPU per transaction: {spam['sent']} spam and "
            f"{report['transactions']['payments']} payments"),
    ]


@bench("flood.effect")
def flood_effect() -> list[Row]:
    seeds = [int(s) for s in os.environ.get(SEEDS_ENV, "").split(",") if s.strip()] or [None]
    keep = os.environ.get("MONEROSIM_BENCH_FLOOD_OUT")
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="monerosim-flood-") as tmp:
        root = Path(keep) if keep else Path(tmp)
        root.mkdir(parents=True, exist_ok=True)
        for seed in seeds:
            name = "run" if seed is None else f"seed-{seed}"
            report, wall = run_flood(_scenario(seed, Path(tmp)), root / name)
            rows += _rows(report, wall, "" if seed is None else f"seed {seed}: ")
    return rows
