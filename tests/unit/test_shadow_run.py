"""`monerosim run --engine shadow` without Shadow: reading process ends from Shadow's log
(tests/shadow/logs/ends.log: lines captured from Shadow 3.3.0, host and program names changed),
bad input, and how a run.json is made from a log. That Monero and the agents really run under
Shadow is shown by tests/integration/test_shadow_run.py, where `shadow` is installed.
"""
from __future__ import annotations

import os
import subprocess
import sys
from collections import namedtuple
from pathlib import Path

import psutil
import pytest

from sim.report.progress import Display
from sim.scenario.load import load_scenario
from sim.shadow import run as shadow_run
from sim.shadow.ends import process_ends
from sim.shadow.run import ShadowRun

ROOT = Path(__file__).resolve().parents[2]
LOG = ROOT / "tests" / "shadow" / "logs" / "ends.log"
TREES = ROOT / "tests" / "sim_fixtures" / "trees"


def test_process_ends_are_read_from_shadows_log():
    ends = process_ends(LOG)
    assert [(e.host, e.program, e.pid) for e in ends] == [
        ("doomed", "python3.11", 1016), ("idler", "python3.11", 1016), ("user-12", "python3.11", 1017),
        ("user-12", "monero-wallet-rpc", 1001)]
    doomed, idler, user, wallet = ends
    assert (doomed.outcome, doomed.exit_code, doomed.at) == ("crashed", 1, "00:00:22.012374067")
    assert (idler.outcome, idler.exit_code, idler.actual) == ("crashed", None, "signaled: SIGTERM")
    assert (user.outcome, user.expected, user.actual) == ("killed", "exited: 0", "running")
    assert (wallet.outcome, wallet.is_python) == ("ended", False)
    assert doomed.stderr == "shadow.data/hosts/doomed/python3.11.1016.stderr"
    assert doomed.describe() == "ended exited: 1 at 00:00:22.012374067 (expected exited: 0)"


def test_a_missing_log_has_no_ends(tmp_path):
    assert process_ends(tmp_path / "shadow.log") == []


def scenario(tmp_path: Path) -> Path:
    path = tmp_path / "s.yaml"
    path.write_text(f"""version: 1
name: s
seed: 1
duration: 1m
drain: 0s
groups:
  - {{name: doomed, tree: {TREES / 'doomed.yaml'}, wallet: false}}
  - {{name: idler, tree: {TREES / 'idler.yaml'}, wallet: false}}
  - {{name: user, tree: {TREES / 'idler.yaml'}, wallet: false, count: 13}}
""")
    return path


def test_run_json_names_each_agents_end_and_the_other_processes(tmp_path):
    run = ShadowRun(load_scenario(scenario(tmp_path)), tmp_path, "/usr/bin/true", Display(quiet=True))
    (tmp_path / "shadow.log").write_bytes(LOG.read_bytes())
    run.started_at, run.stopped_at, run.exit_code = 100.0, 160.0, 1
    record = run.record()
    agents = {a["id"]: a for a in record["agents"]}
    assert len(agents) == 15 and record["engine"] == "shadow"
    assert (agents["doomed"]["outcome"], agents["doomed"]["exit_code"]) == ("crashed", 1)
    assert agents["doomed"]["log"] == str(tmp_path / "shadow.data/hosts/doomed/python3.11.1016.stderr")
    assert agents["idler"]["outcome"] == "crashed" and agents["user-12"]["outcome"] == "killed"
    assert {a["outcome"] for i, a in agents.items() if i not in ("doomed", "idler", "user-12")} == {"ok"}
    assert record["failures"] == ["monero-wallet-rpc on host user-12 ended exited: 1 at 00:00:01.000000000 "
                                  "(expected running)"]
    assert sorted(record["crashed"]) == ["doomed", "idler", "user-12"]
    assert record["shadow"]["wall_seconds"] == 60.0 and len(record["shadow"]["unexpected_ends"]) == 4


def test_shadow_failing_without_a_process_end_is_a_failure(tmp_path):
    run = ShadowRun(load_scenario(scenario(tmp_path)), tmp_path, "/usr/bin/true", Display(quiet=True))
    (tmp_path / "shadow.log").write_text("00:00:00.1 [shadow] n/a [ERROR] config error\n")
    run.started_at, run.stopped_at, run.exit_code = 1.0, 2.0, 1
    record = run.record()
    assert record["failures"] == [f"shadow exited with status 1 (see {tmp_path / 'shadow.stderr'})"]


def monerosim(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sim.cli", *args], capture_output=True, text=True, timeout=120,
                          cwd=ROOT, env=env)


def test_no_shadow_is_bad_input_and_nothing_is_written(tmp_path):
    env = {**os.environ, "PATH": "/nonexistent"}
    done = monerosim("run", str(scenario(tmp_path)), "--engine", "shadow", "--out", str(tmp_path / "run"), env=env)
    assert done.returncode == 2
    assert "shadow: not found on PATH; install Shadow 3.x (docs/shadow.md) or give --shadow PATH" in done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "run").exists()
    done = monerosim("run", str(scenario(tmp_path)), "--engine", "shadow", "--shadow", str(tmp_path / "nope"))
    assert done.returncode == 2 and f"{tmp_path / 'nope'}: not found;" in done.stderr


@pytest.mark.parametrize("args, said", [
    (["--engine", "shadow", "--clock", "lockstep"], "--clock: local runs only"),
    (["--engine", "shadow", "--duration", "5m", "--time-scale", "3"], "--time-scale, --duration: local runs only"),
    (["--shadow", "/usr/bin/true"], "--shadow needs --engine shadow"),
])
def test_local_options_are_refused_under_shadow(tmp_path, args, said):
    done = monerosim("run", str(scenario(tmp_path)), *args, "--out", str(tmp_path / "run"))
    assert done.returncode == 2 and said in done.stderr, done.stderr
    assert not (tmp_path / "run").exists()


def test_check_lists_the_agents_under_shadow_too(tmp_path):
    done = monerosim("run", str(scenario(tmp_path)), "--engine", "shadow", "--check")
    assert done.returncode == 0, done.stderr
    assert [line.split()[0] for line in done.stdout.splitlines()][:3] == ["doomed", "idler", "user-0"]
    assert len(done.stdout.splitlines()) == 15


def test_a_run_too_big_for_the_memory_is_refused_before_anything_is_written(tmp_path, monkeypatch):
    hundred = load_scenario(ROOT / "scenarios" / "hundred.yaml")
    memory = namedtuple("memory", "available")
    monkeypatch.setattr(psutil, "virtual_memory", lambda: memory(2**30))
    monkeypatch.setattr(shadow_run, "find_shadow", lambda given: "/usr/bin/true")
    assert shadow_run.run_under_shadow(hundred, tmp_path / "run", quiet=True) == 2
    assert not (tmp_path / "run").exists()


