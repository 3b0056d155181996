"""`monerosim sweep` on a local Dask cluster of 2 workers: 3 seeds × 2 values of a param, real
runs (monerod, wallet-rpcs, tree-runners of tests/sim_fixtures). One run is killed midway (it
is retried), the sweep itself is interrupted, then resumed: 6 verdicts and one comparison."""
from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.conftest import wait_until
from tests.proc import command_lines

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "tests" / "sim_fixtures" / "scenarios" / "tiny.yaml"
TWO_HOSTS = ROOT / "tests" / "shadow" / "scenarios" / "two-hosts.yaml"


def _sweep(out: Path) -> list[str]:
    return [sys.executable, "-m", "sim.cli", "sweep", str(TINY), "--seeds", "1-3",
            "--param", "pool.every=[5s,10s]", "--param", "duration=30m", "--workers", "2", "-o", str(out),
            # the stand-in pools mine in turn: equal hashrates, or their blocks look unfair (degraded)
            "--param", "pool.hashrate.0=50", "--param", "pool.hashrate.1=50"]


def _records(out: Path) -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text()) for p in (out / "points").glob("*.json")}


def _run_processes(out: Path) -> list[tuple[int, str]]:
    """(pid, point) of each `monerosim run` of this sweep that is running."""
    found = []
    for line in command_lines(f"--out {out}/runs/"):
        pid, cmd = line.split(": ", 1)
        if " sim.cli run " in cmd:
            found.append((int(pid), cmd.split(f"--out {out}/runs/", 1)[1].split(" ")[0]))
    return found


def _kill_one_run(out: Path) -> str:
    """SIGKILL the first run seen once its agents have started; its point's name."""
    def started():
        return next(((pid, name) for pid, name in _run_processes(out)
                     if (out / "runs" / name / "journals").is_dir()), None)
    pid, name = wait_until(started, timeout=300, interval=0.05)
    os.kill(pid, signal.SIGKILL)
    return name


def test_sweep_kill_interrupt_resume(tmp_path):
    out = tmp_path / "sweep"
    first = subprocess.Popen(_sweep(out), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True)
    try:
        killed = _kill_one_run(out)
        # once a point has finished (and before all have), interrupt the sweep as Ctrl-C would
        wait_until(lambda: any(r["final"] for r in _records(out).values()), timeout=600)
        first.send_signal(signal.SIGINT)
        said, _ = first.communicate(timeout=120)
    finally:
        if first.poll() is None:
            first.kill()
    assert first.returncode == 130, said
    wait_until(lambda: not command_lines(str(out)), timeout=60)        # the runs stopped with it
    before = {name: r for name, r in _records(out).items() if r["final"]}
    assert 1 <= len(before) < 6, said

    second = subprocess.run(_sweep(out), cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert second.returncode == 0, second.stdout + second.stderr
    assert f"6 points, {len(before)} finished before, resuming; {6 - len(before)} to run" in second.stdout
    assert "sweep: 6 of 6 points succeeded" in second.stderr

    records = _records(out)
    assert all(r["final"] and r["verdict"] == "ok" for r in records.values()), records
    assert {n: r for n, r in records.items() if n in before} == before      # finished: not redone
    with open(out / "verdicts.csv") as f:
        rows = list(csv.DictReader(f))
    assert sorted((r["seed"], r["pool.every"], r["verdict"]) for r in rows) == sorted(
        (str(s), v, "ok") for s in (1, 2, 3) for v in ("5s", "10s"))

    again = records[killed]                                          # the killed run: retried
    assert again["attempt"] >= 2
    assert "killed by SIGKILL" in again["earlier"][0]["reasons"][0]
    assert again["earlier"][0]["verdict"] == "crashed"
    kept = sorted(p.name for p in (out / "attempts").iterdir())
    assert f"{killed}.1" in kept                                     # never lost
    for name in records:
        assert (out / "runs" / name / "summary.json").is_file()

    page = (out / "compare" / "compare.html").read_text()
    assert "Comparison: 2 points, 6 runs" in page
    with open(out / "compare" / "intervals.csv") as f:
        blocks = {r["point"]: r for r in csv.DictReader(f) if r["figure"] == "blocks.total"}
    assert set(blocks) == {"pool.every=5s", "pool.every=10s"}
    assert all(int(r["n"]) == 3 for r in blocks.values())
    # a pool mining every 5 s mines more blocks in the same 30 minutes than one every 10 s
    assert float(blocks["pool.every=5s"]["mean"]) > float(blocks["pool.every=10s"]["mean"])


def test_shadow_engine_without_shadow(tmp_path):
    """`--engine shadow` where the workers have no Shadow: a clear error before any run."""
    env = {**os.environ, "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-m", "sim.cli", "sweep", str(TINY), "--seeds", "1",
                           "--engine", "shadow", "--workers", "1", "--shadow", "/nonexistent/shadow",
                           "-o", str(tmp_path / "s")], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, env=env)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "'/nonexistent/shadow' is not installed" in done.stderr and "Traceback" not in done.stderr
    assert not list((tmp_path / "s" / "runs").glob("*")) if (tmp_path / "s" / "runs").exists() else True


@pytest.mark.skipif(shutil.which("shadow") is None, reason="shadow is not on PATH")
def test_shadow_sweep(tmp_path):
    """`--engine shadow`: each point generated and run under Shadow on a worker (two hosts, each
    with its own monerod: tests/shadow/scenarios/two-hosts.yaml)."""
    out = tmp_path / "sweep"
    done = subprocess.run([sys.executable, "-m", "sim.cli", "sweep", str(TWO_HOSTS), "--seeds", "1-2",
                           "--engine", "shadow", "--workers", "2", "-o", str(out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=3600)
    assert done.returncode == 0, done.stdout + done.stderr
    records = _records(out)
    assert sorted(records) == ["seed=1", "seed=2"]
    for name, record in records.items():
        run = json.loads((out / "runs" / name / "run.json").read_text())
        assert (record["verdict"], run["engine"], run["seed"]) == ("ok", "shadow", int(name[5:]))
        assert (out / "runs" / name / "shadow.yaml").is_file()
    assert "Comparison: 1 point, 2 runs" in (out / "compare" / "compare.html").read_text()
