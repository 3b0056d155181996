"""The memory a run needs at its peak (`sim.scenario.footprint`), and `monerosim run` refusing,
before anything is written, a run that cannot fit."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from sim.scenario.footprint import FOOTPRINT, MIB, memory_needed, too_big
from sim.scenario.load import load_scenario

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name, engine, monerods", [
    ("hundred", "shadow", 106),          # per host under Shadow unless shared
    ("hundred", "local", 1),             # one shared daemon locally unless placed
    ("line", "local", 5),                # placed per host
    ("selfish", "local", 2),             # the shared daemon and the selfish pool's private one
])
def test_monerods_and_memory(name, engine, monerods):
    scenario = load_scenario(ROOT / "scenarios" / f"{name}.yaml")
    agents = scenario.agents()
    need, daemons = memory_needed(scenario, engine)
    assert daemons == monerods
    expected = (monerods * FOOTPRINT["monerod"] + sum(1 for a in agents if a.wallet) * FOOTPRINT["wallet"]
                + len(agents) * FOOTPRINT["agent"] + (FOOTPRINT["shadow"] if engine == "shadow" else 0))
    assert need == expected


def test_too_big_names_the_need_and_the_way_out():
    hundred = load_scenario(ROOT / "scenarios" / "hundred.yaml")
    need, _ = memory_needed(hundred, "shadow")
    assert 50 * 2**30 < need < 60 * 2**30
    problem = too_big(hundred, "shadow", available=need - 1)
    assert problem.startswith(f"{hundred.path}: under Shadow this run needs about 55.5 GiB (106 monerod "
                              f"at ~{FOOTPRINT['monerod'] // MIB} MiB each")
    assert "share daemons (`daemons: {placement: shared, count: N}`)" in problem
    assert "--no-memory-check" in problem
    assert too_big(hundred, "shadow", available=need) is None
    assert too_big(hundred, "local", available=need) is None
    assert too_big(hundred, "local", available=2**30).startswith(f"{hundred.path}: locally this run needs about")


def test_a_local_run_too_big_is_refused_before_anything_is_written(tmp_path):
    """1,006 daemons at ~450 MiB: more than any machine this runs on has."""
    out = tmp_path / "run"
    done = subprocess.run([sys.executable, "-m", "sim.cli", "run", str(ROOT / "scenarios" / "hundred.yaml"),
                           "--param", "daemons.placement=per-host", "--param", "user.count=1000",
                           "--out", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "locally this run needs about 525.6 GiB" in done.stderr and "(1006 monerod" in done.stderr
    assert "Traceback" not in done.stderr and not out.exists()
