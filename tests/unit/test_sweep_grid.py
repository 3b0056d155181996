"""The sweep's grid: seeds, swept and fixed params, point names, and the manifest that makes a
second `monerosim sweep` resume the first or refuse another grid."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from lang.errors import LoadError, UsageError
from sim.sweep.grid import build_grid, check_manifest, parse_seeds
from sim.sweep.point import next_job, write_record

ROOT = Path(__file__).resolve().parents[2]
SMALL = ROOT / "scenarios" / "small.yaml"


@pytest.mark.parametrize("text, seeds", [("1-3", [1, 2, 3]), ("5", [5]), ("1,2,5", [1, 2, 5]),
                                         ("1-3,7,2", [1, 2, 3, 7]), ("0-1", [0, 1])])
def test_seeds(text, seeds):
    assert parse_seeds(text) == seeds


@pytest.mark.parametrize("text", ["", "a", "3-1", "1-", "-2", "1.5"])
def test_bad_seeds(text):
    with pytest.raises(UsageError, match="--seeds"):
        parse_seeds(text)


def test_grid_product_fixed_and_names():
    grid = build_grid(SMALL, [1, 2, 3], ["user.count=[2,3]", "duration=10m", "pool.hashrate=[[60,40],[50,50]]"])
    assert len(grid.points) == 12 and [o.key for o in grid.fixed] == ["duration"]
    first = grid.points[0]
    assert first.name == "user.count=2,pool.hashrate=60_40,seed=1"
    assert first.values == {"user.count": 2, "pool.hashrate": [60, 40]}
    assert first.overrides(grid.fixed) == ["--seed", "1", "--param", "duration=10m", "--param",
                                          "user.count=2", "--param", "pool.hashrate=[60,40]"]
    assert len({p.name for p in grid.points}) == 12


def test_every_point_is_checked_before_anything_runs():
    with pytest.raises(LoadError, match=r"--param user.count=-1: groups\[3\].count"):
        build_grid(SMALL, [1], ["user.count=[2,-1]"])
    with pytest.raises(UsageError, match="empty list"):
        build_grid(SMALL, [1], ["user.count=[]"])


def test_manifest_resume_and_refuse(tmp_path):
    grid = build_grid(SMALL, [1, 2], ["user.count=[2,3]"])
    manifest = grid.manifest("local")
    out = tmp_path / "sweep"
    assert check_manifest(out, manifest) is False
    out.mkdir()
    (out / "sweep.json").write_text(json.dumps(manifest))
    assert check_manifest(out, manifest) is True
    other = build_grid(SMALL, [1, 2, 3], ["user.count=[2,3]"]).manifest("local")
    with pytest.raises(UsageError, match="holds another sweep .its seeds, points differ"):
        check_manifest(out, other)
    with pytest.raises(UsageError, match="holds another sweep .its engine differ"):
        check_manifest(out, grid.manifest("shadow"))
    stray = tmp_path / "stray"
    stray.mkdir()
    (stray / "x").write_text("")
    with pytest.raises(UsageError, match="not a sweep directory"):
        check_manifest(stray, manifest)


def test_next_attempt_follows_the_record(tmp_path):
    assert next_job(tmp_path, "p", ["a"])["attempt"] == 1
    write_record(tmp_path, {"name": "p", "attempt": 1, "verdict": "failed", "exit_code": 1,
                            "final": False, "earlier": []})
    job = next_job(tmp_path, "p", ["a"])
    assert job["attempt"] == 2 and job["earlier"][0]["verdict"] == "failed"


def test_sweep_cli_bad_input_exit_2(tmp_path):
    for args, message in ((["--seeds", "x"], "--seeds x"),
                          (["--seeds", "1", "--param", "user.count=[2,abc]"], "--param user.count=\"abc\": groups[3].count"),
                          (["--seeds", "1", "--workers", "0"], "--workers 0"),
                          (["--seeds", "1", "--shadow", "/x"], "--shadow needs --engine shadow")):
        done = subprocess.run([sys.executable, "-m", "sim.cli", "sweep", str(SMALL), "-o",
                               str(tmp_path / "s"), *args], cwd=ROOT, capture_output=True, text=True)
        assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr, done.stderr
    assert not (tmp_path / "s").exists()


def test_the_local_cluster_fits_the_cores_and_the_biggest_run(monkeypatch):
    """A worker per core, fewer when the biggest point's run fits fewer times in the memory."""
    from collections import namedtuple

    import psutil

    from sim.scenario.footprint import memory_needed
    from sim.sweep import execute
    grid = build_grid(ROOT / "scenarios" / "line.yaml", [1], ["user.count=[1,3]"])
    biggest = max(memory_needed(s, "local")[0] for s in grid.loaded)
    assert biggest == memory_needed(grid.loaded[-1], "local")[0]             # 3 users: 3 more hosts
    memory = namedtuple("memory", "available")
    monkeypatch.setattr(execute.os, "sched_getaffinity", lambda pid: {0, 1, 2, 3})
    for available, workers in ((10 * biggest, 4), (2 * biggest + 1, 2), (biggest - 1, 1)):
        monkeypatch.setattr(psutil, "virtual_memory", lambda: memory(available))
        assert execute.local_workers(grid, "local")[0] == workers
    assert "4 cores; a run needs ~" in execute.local_workers(grid, "local")[1]
