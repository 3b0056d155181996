"""Shadow config generation: `monerosim generate` for scenarios/shadow-1000.yaml and for the same
scenario grown to 10,000 hosts (load + tree check + render + Shadow-rule check + data root), and
`check-shadow` alone, each next to parsing the written config with libyaml (the floor for any
tool that reads it back)."""
from __future__ import annotations

import tempfile
import time
from pathlib import Path

import yaml

from . import Row, bench

REPO = Path(__file__).resolve().parents[1]
TEMPLATE = REPO / "scenarios" / "shadow-1000.yaml"
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _ten_thousand(directory: Path) -> Path:
    """shadow-1000 with 9,939 users (trees made absolute)."""
    text = TEMPLATE.read_text(encoding="utf-8").replace("../trees/", f"{REPO / 'trees'}/")
    text = text.replace("count: 939", "count: 9939").replace("name: shadow-1000", "name: shadow-10000")
    text = text.replace("stagger: 500ms", "stagger: 100ms")
    path = directory / "shadow-10000.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _generate(scenario_path: Path, out: Path) -> tuple[float, float, float, int]:
    """(generate s, check-shadow s, libyaml parse s, hosts)."""
    from sim.scenario.load import load_scenario
    from sim.shadow.check import check_config
    from sim.shadow.generate import Paths, generate
    start = time.perf_counter()
    scenario = load_scenario(scenario_path, check_trees=True)
    done = generate(scenario, Paths(out, out))
    took = time.perf_counter() - start
    start = time.perf_counter()
    problems, _ = check_config(done.config)
    checked = time.perf_counter() - start
    assert not problems, problems[:3]
    start = time.perf_counter()
    yaml.load(done.config.read_text(encoding="utf-8"), Loader=_LOADER)
    return took, checked, time.perf_counter() - start, done.hosts


@bench("shadow.generate")
def shadow_generate() -> list[Row]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for label, path, goal in (("1,000 hosts (shadow-1000)", TEMPLATE, 5.0),
                                  ("10,000 hosts", _ten_thousand(tmp), 30.0)):
            took, checked, parse, hosts = _generate(path, tmp / path.stem)
            note = f"{hosts} hosts; the check alone takes {checked:.2f} s"
            rows.append(Row(f"generate {label}", took, parse, "s", f"≤ {goal:g} s", took <= goal, note=note))
            if hosts >= 10_000:
                rows.append(Row("check-shadow 10,000 hosts", checked, parse, "s", "≤ 20 s", checked <= 20))
    return rows


def _outcome(run_dir: Path) -> tuple[int, str]:
    """(payments sent, verdict) from a finished run's summary.json."""
    import json
    summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
    return summary["payments"]["sent"], summary["verdict"]["verdict"]


@bench("shadow.small")
def shadow_small() -> list[Row]:
    """scenarios/small.yaml under Shadow next to the same scenario run locally (lockstep): wall
    time and the peak of all Monero and agent processes' summed memory. Needs `shadow` on PATH."""
    import shutil

    from .run_bench import measure_run
    if shutil.which("shadow") is None:
        return [Row("shadow is not on PATH: nothing measured", 0, 0, "")]
    small = str(REPO / "scenarios" / "small.yaml")
    local_wall, local_code, local_kinds, local_dir = measure_run(small)
    shadow_wall, shadow_code, shadow_kinds, shadow_dir = measure_run(small, ["--engine", "shadow"])
    memory = [sum(k["peak_total_rss"] for k in kinds.values()) / 2**20 for kinds in (shadow_kinds, local_kinds)]
    (shadow_paid, shadow_verdict), (local_paid, local_verdict) = _outcome(shadow_dir), _outcome(local_dir)
    return [Row(f"wall time, Shadow (exit {shadow_code}) vs local (exit {local_code})", shadow_wall, local_wall, "s"),
            Row("memory: monerod + wallet-rpc + tree-runner peaks summed, Shadow vs local", *memory, "MB"),
            Row(f"payments sent, Shadow ({shadow_verdict}) vs local ({local_verdict})", shadow_paid, local_paid, "")]
