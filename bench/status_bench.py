"""The status journal's cost (issue 15): per tick in the engine, and in whole runs side by side.

  status.tick   seconds per tick of engine_bench's 22-node tree with the status journal written
                (to a file) vs without. The worst case: every node finishes on every tick, so
                every tick writes a line of 22 changes (a real tree mostly waits in a leaf).
  status.run    scenarios/hundred.yaml (MONEROSIM_BENCH_STATUS_SCENARIO; its own duration unless
                MONEROSIM_BENCH_DURATION) twice in one bench run: the agents' (tree-runners') CPU
                with the status journal and without (`--no-status-journal`), the agents' share of
                all CPU with it and without (goal ≤ 10 %, the agents' goal of `hundred-run`), and
                the status journals' size against the event journals'. Run it on an idle machine:
                CPU seconds of a lockstep run do not depend on load, but shares drift with it.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

from . import Row, bench
from .engine_bench import SHAPE_YAML, _engine_agent, _per_tick
from .run_bench import ROOT, measure_run

SCENARIO = os.environ.get("MONEROSIM_BENCH_STATUS_SCENARIO",
                          str(ROOT / "scenarios" / "hundred.yaml"))
AGENTS_SHARE_GOAL = 0.10


@bench("status.tick")
def status_tick() -> list[Row]:
    import ipc
    with tempfile.TemporaryDirectory(prefix="bench-status-") as tmp:
        plain = _engine_agent(SHAPE_YAML)
        plain.ctx.clear_blackboard()
        written = _engine_agent(SHAPE_YAML, status=ipc.StatusWriter(Path(tmp) / "a.jsonl"))
        for _ in range(200):
            plain.tick()
            written.tick()
        n = 2000
        ours, base = _per_tick(written.tick, n), _per_tick(plain.tick, n)
        size = (Path(tmp) / "a.jsonl").stat().st_size
        written.ctx.clear_blackboard()
    return [Row("time per tick (22 nodes, all finishing every tick): status journal on vs off",
                ours, base, "s", note=f"{size / (200 + 7 * n):.0f} bytes written per tick")]


def _bytes(run_dir: Path, sub: str) -> int:
    return sum(p.stat().st_size for p in (run_dir / sub).glob("*.jsonl"))


@bench("status.run")
def status_run() -> list[Row]:
    duration = os.environ.get("MONEROSIM_BENCH_DURATION")
    extra = ["--no-live"] + (["--duration", duration] if duration else [])
    name = Path(SCENARIO).stem + (f" {duration}" if duration else "")
    on = measure_run(SCENARIO, extra)
    off = measure_run(SCENARIO, extra + ["--no-status-journal"])
    (wall_on, code_on, kinds_on, dir_on), (wall_off, code_off, kinds_off, _) = on, off
    agents_on, agents_off = kinds_on["tree-runner"]["cpu"], kinds_off["tree-runner"]["cpu"]
    all_on = sum(k["cpu"] for k in kinds_on.values()) or 1.0
    all_off = sum(k["cpu"] for k in kinds_off.values()) or 1.0
    share_on, share_off = agents_on / all_on, agents_off / all_off
    return [
        Row(f"{name}: agents' CPU, status journal on vs off", agents_on, agents_off, "s",
            note=f"exit {code_on} / {code_off}; wall {wall_on:.0f} s / {wall_off:.0f} s"),
        Row(f"{name}, status journal on: agents' CPU vs all CPU", agents_on, all_on, "s",
            f"≤ {AGENTS_SHARE_GOAL:.0%}", share_on <= AGENTS_SHARE_GOAL,
            note=f"{share_on:.1%} on, {share_off:.1%} off"),
        Row(f"{name}, status journal off: agents' CPU vs all CPU", agents_off, all_off, "s",
            f"≤ {AGENTS_SHARE_GOAL:.0%}", share_off <= AGENTS_SHARE_GOAL),
        Row(f"{name}: status journals vs event journals, bytes",
            _bytes(dir_on, "status"), _bytes(dir_on, "journals"), "B"),
    ]
