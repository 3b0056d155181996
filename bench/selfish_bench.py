"""Selfish mining on real daemons (docs/research.md): scenarios/selfish.yaml (a selfish pool with
40 % of the hashrate) and scenarios/selfish-10.yaml (10 %), each a full local run on the lockstep
clock, then the report's Selfish mining section.

  selfish.share  per scenario: the selfish pool's share of the main chain (ours) against its
                 hashrate share (baseline); goal: above it at 40 %, below it at 10 %, with a
                 one-sided binomial p below 0.05. The note gives n, p, Eyal and Sirer's share
                 for gamma = 0, orphaned honest blocks, the public daemon's reorganisations,
                 the wall time and the run directory (kept: `monerosim report RUN` draws it).

MONEROSIM_BENCH_SELFISH_DURATION shortens both runs (e.g. 30m); the figures in docs/research.md
are from the scenarios' own 3 h.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from . import Row, bench
from .run_bench import ROOT

SCENARIOS = {"selfish": "above", "selfish-10": "below"}   # scenario -> where its share should land
DURATION_ENV = "MONEROSIM_BENCH_SELFISH_DURATION"
TIMEOUT = 7200.0           # real seconds a run may take
SIGNIFICANT = 0.05


def run_selfish(name: str) -> tuple[float, int, Path, dict | None]:
    """One run of scenarios/<name>.yaml: (wall seconds, exit code, run dir, its summary's `selfish`)."""
    out = Path(tempfile.mkdtemp(prefix=f"bench-{name}-")) / "run"
    extra = ["--duration", os.environ[DURATION_ENV]] if os.environ.get(DURATION_ENV) else []
    start = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "sim.cli", "run", f"scenarios/{name}.yaml", "--out", str(out),
                           "--quiet", *extra], cwd=ROOT, capture_output=True, text=True, timeout=TIMEOUT)
    wall = time.monotonic() - start
    try:
        summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        summary = {}
    return wall, done.returncode, out, summary.get("selfish")


def _row(name: str, where: str, wall: float, code: int, out: Path, section: dict | None) -> Row:
    if not section or not section["tests"]:
        return Row(f"{name}: no selfish-mining figures (exit {code})", 0.0, 0.0, "%", ok=False,
                   note=f"run directory {out}")
    test = section["tests"][0]
    reorgs = section["reorgs"] or {}
    ok = test["direction"] == where and test["p_value"] < SIGNIFICANT and code == 0
    note = (f"n = {test['n']}, k = {test['k']}, one-sided p = {test['p_value']:.2g}, theory (gamma 0) "
            f"{100 * test['expected_gamma0']:.1f} %, orphaned honest {section['orphaned']['honest']}, "
            f"selfish {section['orphaned']['selfish']}, reorgs {reorgs.get('count')} (depths "
            f"{reorgs.get('depths')}), wall {wall:.0f} s, exit {code}, {out}")
    return Row(f"{name}: selfish main-chain share vs hashrate share", 100 * test["main_share"],
               100 * test["hashrate_share"], "%", f"{where} it, p < {SIGNIFICANT}", ok, note)


@bench("selfish.share")
def selfish_share() -> list[Row]:
    rows = []
    for name, where in SCENARIOS.items():
        rows.append(_row(name, where, *run_selfish(name)))
    return rows
