"""The lockstep clock with real tree-runner processes (see test_timekeeper.py)."""
from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

import ipc

from tests.unit.timekit import FAR, ORIGIN, REPO, env, launcher_turn


# ------------------------------------------------------------------ real tree-runner processes
FIXED_TREE = """\
root:
  Repeat:
    times: 3
    child:
      Sequence:
        children:
          - Wait: {duration: 5m}
          - RecordEvent: {event: tick}
"""

RANDOM_TREE = """\
root:
  Repeat:
    times: 6
    child:
      Sequence:
        children:
          - Wait: {duration: {uniform: {low: 10s, high: 10m}}}
          - RecordEvent: {event: tick, fields: {n: {uniform: {low: 0, high: 100}}}}
"""

WAIT_TREE = "root:\n  Wait: {duration: 1h}\n"


def tree_runner(tree: Path, agent: str, journal: Path, sock: Path, *extra) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "engine", "run", str(tree), "--agent", agent,
                             "--journal", str(journal), "--lockstep", str(sock), *map(str, extra)],
                            cwd=REPO, env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def ended(proc: subprocess.Popen) -> tuple[int, str]:
    try:
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    return proc.returncode, err


def journal(directory: Path, agent: str) -> list[tuple[str, float]]:
    return [(r["event"], r["t"]) for r in ipc.read_journal(directory / f"{agent}.jsonl")]


def test_tree_runner_journal_times_are_the_waited_durations(keeper, tmp_path):
    tree = tmp_path / "t.yaml"
    tree.write_text(FIXED_TREE)
    keeper.hold("agent:a")
    keeper.launcher_wait(ORIGIN + FAR)
    code, err = ended(tree_runner(tree, "a", tmp_path, keeper.path))
    assert (code, "Traceback" in err) == (0, False), err
    assert journal(tmp_path, "a") == [("agent_started", ORIGIN), ("tick", ORIGIN + 300),
                                      ("tick", ORIGIN + 600), ("tick", ORIGIN + 900),
                                      ("agent_stopped", ORIGIN + 900)]
    launcher_turn(keeper)                           # gone: it holds nobody up


@pytest.mark.parametrize("stop", ["SIGTERM", "keeper closed"])
def test_tree_runner_stops_cleanly_while_it_waits(keepers, tmp_path, stop):
    keeper = keepers()
    tree = tmp_path / "t.yaml"
    tree.write_text(WAIT_TREE)
    keeper.hold("agent:s")
    keeper.launcher_wait(ORIGIN + 60)
    proc = tree_runner(tree, "s", tmp_path, keeper.path)
    try:
        launcher_turn(keeper)                       # so s waits for its hour
    finally:
        if stop == "SIGTERM":
            proc.send_signal(signal.SIGTERM)
        else:
            keepers.close(keeper)
    code, err = ended(proc)
    assert (code, "Traceback" in err) == (0, False), err
    records = ipc.read_journal(tmp_path / "s.jsonl")
    assert [r["event"] for r in records] == ["agent_started", "agent_stopped"]
    assert records[-1]["reason"] == ("SIGTERM" if stop == "SIGTERM" else "clock_gone")
    assert records[-1]["t"] == ORIGIN               # its last release: time stood still for it


def test_two_runs_side_by_side_write_identical_journals(keepers, tmp_path):
    tree = tmp_path / "t.yaml"
    tree.write_text(RANDOM_TREE)
    runs = []
    for run in ("one", "two"):
        keeper = keepers(tmp_path / run / "clock.sock")
        for agent in ("a", "b"):
            keeper.hold(f"agent:{agent}")
        keeper.launcher_wait(ORIGIN + FAR)
        procs = [tree_runner(tree, agent, tmp_path / run, keeper.path, "--seed", 7) for agent in ("a", "b")]
        runs.append((keeper, procs))
    for keeper, procs in runs:
        for proc in procs:
            code, err = ended(proc)
            assert (code, "Traceback" in err) == (0, False), err
        launcher_turn(keeper)
    for agent in ("a", "b"):
        first, second = journal(tmp_path / "one", agent), journal(tmp_path / "two", agent)
        assert first == second
        ticks = [t for event, t in first if event == "tick"]
        assert len(ticks) == 6 and all(10 <= b - a <= 600 for a, b in zip([ORIGIN] + ticks, ticks))
    assert journal(tmp_path / "one", "a") != journal(tmp_path / "one", "b")
