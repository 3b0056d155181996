"""Lockstep vs scaled clock on whole local runs: wall time, speed, outcome and the CPU floor.

Each run is a real `monerosim run` (`bench.run_bench.measure_run`, whose sampler reads /proc
every second). Per run:

  wall vs serial floor  wall seconds against the CPU seconds monerod and every wallet-rpc used:
                        ordered release (one agent works at a time, wallet opening aside) makes
                        the daemons' work serial, so this is the floor the lockstep clock can
                        reach. Goal ≤ 1.25×: time is never idle while work waits, and agents
                        and the time keeper add little.
  wall vs floor         the same CPU divided by the cores (`os.cpu_count()`): what a clock
                        without ordered release could reach (shown, no goal; see
                        docs/performance.md).
  agents' CPU           the tree-runners' own CPU against the daemons'.
  alone vs wall         lockstep only: real seconds in which exactly one agent worked (run.json
                        clock.real_seconds), against the wall. Ordered release keeps most of a
                        steady state serial; this share bounds what parallel cores can give.
  speed                 simulated seconds (run.json `simulated`) per wall second, against the
                        scenario's `time_scale` (what the scaled clock aims at).

Side by side per scenario: lockstep wall vs scaled wall (the scaled clock at the scenario's own
time_scale), and the outcome of each from summary.json (payments sent / seen / matched /
confirmed, users who paid, blocks mined on signals, errors), so "faster for the same outcome"
can be judged.

Benchmarks: `clock-small`, `clock-hundred` (both clocks) and `clock-24h` (small, lockstep,
`--duration 24h`: long). MONEROSIM_BENCH_DURATION=10m gives every run `--duration 10m`.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from sim.scenario.load import load_scenario
from sim.report.summary import load_run

from . import Row, bench
from .run_bench import ROOT, measure_run

CORES = os.cpu_count() or 1
FLOOR_GOAL = 1.25
DURATION_ENV = "MONEROSIM_BENCH_DURATION"
OUTCOME = ("sent", "seen", "matched", "confirmed", "users paid", "blocks", "errors")


@dataclass
class Measured:
    """One run: its label, wall seconds, exit code, CPU by process kind and run directory."""

    label: str
    wall: float
    code: int
    kinds: dict[str, dict]
    out: Path
    time_scale: float

    def cpu(self, kind: str) -> float:
        return self.kinds.get(kind, {}).get("cpu", 0.0)

    @property
    def daemons_cpu(self) -> float:
        return self.cpu("monerod") + self.cpu("wallet-rpc")

    def run_json(self) -> dict:
        return _json(self.out / "run.json")

    def outcome(self) -> dict[str, int]:
        summary = _json(self.out / "summary.json")
        pay = summary.get("payments", {})
        users = {p["agent"] for p in load_run(self.out)[0].sent} if self.out.is_dir() else set()
        return {"sent": pay.get("sent", 0), "seen": pay.get("seen", 0),
                "matched": pay.get("matched", 0), "confirmed": pay.get("confirmed", 0),
                "users paid": len(users), "blocks": summary.get("blocks", {}).get("total", 0),
                "errors": summary.get("errors", {}).get("total", 0)}


def _json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def measure(scenario: str, clock: str, duration: str | None = None) -> Measured:
    """Run scenarios/`scenario`.yaml on `clock` (MONEROSIM_BENCH_DURATION overrides `duration`)."""
    path = ROOT / "scenarios" / f"{scenario}.yaml"
    duration = os.environ.get(DURATION_ENV) or duration
    extra = ["--clock", clock] + (["--duration", duration] if duration else [])
    wall, code, kinds, out = measure_run(str(path), extra)
    label = f"{scenario} {clock}" + (f" {duration}" if duration else "")
    return Measured(label, wall, code, kinds, out, load_scenario(path).time_scale)


def run_rows(m: Measured) -> list[Row]:
    """Wall vs serial floor (goal), wall vs floor, agents' CPU, speed: one run's figures."""
    run, outcome = m.run_json(), m.outcome()
    simulated = run.get("simulated") or 0.0
    floor = m.daemons_cpu / CORES
    own = run.get("cpu_seconds") or {}
    own_cpu = ", ".join(f"{k} {v:.1f} s" for k, v in own.items())
    said = ", ".join(f"{k} {v}" for k, v in outcome.items())
    clock = run.get("clock") or {}
    jumps = f"; {clock['jumps']} jumps, {clock['releases']} releases" if "jumps" in clock else ""
    shape = clock.get("real_seconds")
    alone = [Row(f"{m.label}: real s with one agent working alone vs wall", shape["alone"],
                 m.wall, "s", note=f"several together {shape['together']} s, "
                                   f"none working {shape['none']} s")] if shape else []
    return [
        Row(f"{m.label}: wall vs serial floor (monerod+wallet-rpc CPU)", m.wall, m.daemons_cpu, "s",
            f"≤ {FLOOR_GOAL:g}×", m.wall <= FLOOR_GOAL * m.daemons_cpu,
            note=f"exit {m.code}, {m.out}; {simulated:.0f} simulated s{jumps}; "
                 f"monerod {m.cpu('monerod'):.1f} s, wallet-rpc {m.cpu('wallet-rpc'):.1f} s; "
                 f"run.json cpu_seconds: {own_cpu or '-'}; outcome: {said}"),
        Row(f"{m.label}: wall vs floor (monerod+wallet-rpc CPU / {CORES} cores)", m.wall, floor,
            "s", note="no goal: ordered release keeps the work serial"),
        Row(f"{m.label}: agents' CPU vs monerod+wallet-rpc CPU", m.cpu("tree-runner"),
            m.daemons_cpu, "s", note=f"launcher {m.cpu('launcher'):.1f} s"),
        Row(f"{m.label}: simulated s per wall s vs time_scale", simulated / m.wall if m.wall else 0.0,
            m.time_scale, "sim s/s", note=f"{simulated / m.wall if m.wall else 0.0:.2f} sim s/s"),
    ] + alone


def side_by_side(scenario: str) -> list[Row]:
    """Lockstep and scaled runs of one scenario: each run's rows, then wall and outcome compared."""
    lock, scaled = measure(scenario, "lockstep"), measure(scenario, "scaled")
    rows = run_rows(lock) + run_rows(scaled)
    rows.append(Row(f"{scenario}: wall, lockstep vs scaled ×{scaled.time_scale:g}", lock.wall,
                    scaled.wall, "s", "< 1× (same outcome)", lock.wall < scaled.wall))
    ours, theirs = lock.outcome(), scaled.outcome()
    rows += [Row(f"{scenario}: {key}, lockstep vs scaled", ours[key], theirs[key], "")
             for key in OUTCOME]
    return rows


@bench("clock-small")
def clock_small() -> list[Row]:
    return side_by_side("small")


@bench("clock-hundred")
def clock_hundred() -> list[Row]:
    return side_by_side("hundred")


@bench("clock-24h")
def clock_24h() -> list[Row]:
    return run_rows(measure("small", "lockstep", "24h"))
