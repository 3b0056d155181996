"""SIGTERM to a whole `monerosim run` of tests/faults/sigterm.yaml (issue 6), at a seeded
random simulated moment after every agent has started: the run stops cleanly, every journal
ends with `agent_stopped`, no process is left and every wallet is stored.

FAULT_SEED=<n> in the environment changes the seed (default 6).
"""
from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

import ipc
from tests.integration.faultkit import SEED, processes_alive, scan_journal
from tests.proc import command_lines

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def simulated_now(run_dir: Path) -> float:
    """The latest `t` journaled so far in a run (simulated time has reached at least that)."""
    return max((r["t"] for p in (run_dir / "journals").glob("*.jsonl") for r in ipc.read_journal(p)),
               default=0.0)


def _wait_for_the_moment(proc: subprocess.Popen, out: Path, moment: float) -> float:
    """Wait until all 5 agents have started and the run is `moment` simulated seconds past the
    first start; the simulated seconds it is past it then."""
    deadline = time.monotonic() + 120
    while True:
        started = [p for p in (out / "journals").glob("*.jsonl")
                   if any(r["event"] == "agent_started" for r in ipc.read_journal(p)[:1])]
        if len(started) == 5:
            break
        assert proc.poll() is None and time.monotonic() < deadline, "agents did not start"
        time.sleep(0.2)
    origin = min(ipc.read_journal(p)[0]["t"] for p in started)
    deadline = time.monotonic() + 900
    while simulated_now(out) - origin < moment:
        assert proc.poll() is None and time.monotonic() < deadline, \
            f"the run did not reach {moment:.0f} s simulated (at {simulated_now(out) - origin:.0f} s)"
        time.sleep(0.1)
    assert proc.poll() is None
    return simulated_now(out) - origin


def _sigterm(proc: subprocess.Popen) -> tuple[float, str, str]:
    """SIGTERM the run and wait for it (bounded): the unix time of the signal, stdout, stderr."""
    term_at = time.time()
    proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=120)
    return term_at, stdout, stderr


def _assert_journals_end_with_sigterm(out: Path) -> None:
    for path in sorted((out / "journals").glob("*.jsonl")):
        scanned = scan_journal(path)
        assert (scanned["corrupt"], scanned["torn"]) == (0, False), path.name
        events = [r["event"] for r in scanned["records"]]
        assert events[0] == "agent_started" and events.count("agent_started") == 1, path.name
        assert events[-1] == "agent_stopped" and scanned["records"][-1]["reason"] == "SIGTERM", path.name


def _assert_wallets_stored(out: Path, record: dict, term_at: float) -> None:
    for agent in record["agents"]:
        if agent["wallet"] is None:
            continue
        assert agent["wallet"]["saved"] is True, agent
        opened = [r for r in ipc.read_journal(out / "journals" / f"{agent['id']}.jsonl")
                  if r["event"] in ("wallet_created", "wallet_opened")]
        if not opened:                                     # stopped before its wallet existed
            continue
        wallet_dir = out / "wallets" / agent["id"]
        assert (wallet_dir / f"{agent['id']}.keys").is_file(), agent["id"]
        cache = wallet_dir / agent["id"]
        assert cache.is_file(), agent["id"]
        assert cache.stat().st_mtime >= term_at - 0.5, f"{agent['id']}: its wallet was not stored at the stop"


def test_sigterm_stops_a_whole_run_cleanly(tmp_path):
    out = tmp_path / "run"
    # A seeded moment in the first 25 of the run's 30 simulated minutes (the lockstep clock's
    # pace depends on the machine, so the moment is simulated, not real).
    moment = random.Random(SEED).uniform(0, 25 * 60)
    proc = subprocess.Popen([sys.executable, "-m", "sim.cli", "run", str(ROOT / "tests/faults/sigterm.yaml"),
                             "--out", str(out), "--quiet"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        at = _wait_for_the_moment(proc, out, moment)
        term_at, stdout, stderr = _sigterm(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    took = time.time() - term_at
    done = Counter(r["event"] for p in (out / "journals").glob("*.jsonl") for r in ipc.read_journal(p))
    print(f"SIGTERM at {at:.0f} s simulated (seeded moment {moment:.0f} s; wallets created "
          f"{done['wallet_created']}, blocks mined {done['block_mined']}, "
          f"payments {done['payment_sent']}); the run stopped in {took:.1f} s")
    assert proc.returncode == 128 + signal.SIGTERM, stdout + stderr
    assert "interrupted by SIGTERM" in stderr
    record = json.loads((out / "run.json").read_text())
    assert (record["status"], record["interrupted_by"], record["exit_code"]) == ("interrupted", "SIGTERM", 143)
    assert record["clock"]["kind"] == "lockstep" and record["simulated"] >= at
    assert [(a["id"], a["outcome"]) for a in record["agents"]] == \
        [(a, "ok") for a in ("controller", "pool", "shop", "user-0", "user-1")], record["agents"]

    _assert_journals_end_with_sigterm(out)

    pids = [record["daemon"]["pid"]] + [a["pid"] for a in record["agents"]] + \
        [a["wallet"]["pid"] for a in record["agents"] if a["wallet"]]
    assert len(pids) == 1 + 5 + 4 and all(pids)
    assert processes_alive(pids) == []
    assert command_lines(str(out)) == []

    _assert_wallets_stored(out, record, term_at)
