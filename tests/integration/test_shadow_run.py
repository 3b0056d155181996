"""`monerosim run --engine shadow` under a real Shadow 3.x with Debian's monerod and
monero-wallet-rpc: skipped where `shadow` is not on PATH (docs/shadow.md says how to install it).

- two-hosts.yaml: a controller and a pool, each host with its own monerod. The pool mines on
  its own daemon at the controller's signal; the controller issues the next signal only once
  its own daemon has the block, so every signal after the first proves a block crossed the
  P2P link. Run twice: Shadow is deterministic, so the journals are the same byte for byte.
- An agent whose tree fails under Shadow: the run exits 3 and names it, from Shadow's log.
- Ctrl-C: Shadow and every process it runs stop; the run exits 130.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(shutil.which("shadow") is None, reason="shadow is not on PATH")]

ROOT = Path(__file__).resolve().parents[2]
TWO_HOSTS = ROOT / "tests" / "shadow" / "scenarios" / "two-hosts.yaml"
TIMEOUT = 1800


def run_under_shadow(scenario: Path, out: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sim.cli", "run", str(scenario), "--engine", "shadow",
                           "--out", str(out), "--quiet"], capture_output=True, text=True, timeout=TIMEOUT,
                          cwd=ROOT)


def journal(run: Path, agent: str) -> list[dict]:
    return [json.loads(line) for line in (run / "journals" / f"{agent}.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("shadow")
    return [(run_under_shadow(TWO_HOSTS, base / name), base / name) for name in ("a", "b")]


def test_two_hosts_run_to_their_stop_time_and_blocks_cross_the_p2p_link(two_runs):
    done, run = two_runs[0]
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stderr.strip().splitlines()[-1] == "verdict: OK"
    record = json.loads((run / "run.json").read_text())
    assert record["engine"] == "shadow" and record["status"] == "finished"
    assert record["shadow"]["exit_code"] == 0 and record["shadow"]["unexpected_ends"] == []
    assert [a["outcome"] for a in record["agents"]] == ["ok", "ok"]
    controller, pool = journal(run, "controller"), journal(run, "pool")
    assert controller[-1]["event"] == pool[-1]["event"] == "agent_stopped"
    assert controller[-1]["reason"] == pool[-1]["reason"] == "SIGTERM"
    signals = [r for r in controller if r["event"] == "signal_issued"]
    mined = [r for r in pool if r["event"] == "block_mined"]
    # 10 minutes at one signal per 30 s, less the bootstrap
    assert len(signals) >= 10 and len(mined) >= len(signals) - 1
    heights = [r["height"] for r in signals]
    assert heights == sorted(heights) and heights[-1] > 70, heights
    # simulated time: the controller's last signal comes late in the 10 simulated minutes
    started = controller[0]["t"]
    assert 8 * 60 <= signals[-1]["t"] - started <= 11 * 60
    summary = json.loads((run / "summary.json").read_text())
    assert summary["verdict"]["verdict"] == "ok" and summary["errors"]["total"] == 0
    assert summary["blocks"]["pools"]["pool"]["blocks"] == len(mined)


def test_the_same_seed_gives_the_same_journals_under_shadow(two_runs):
    (_, a), (_, b) = two_runs
    for agent in ("controller", "pool"):
        assert (a / "journals" / f"{agent}.jsonl").read_bytes() == (b / "journals" / f"{agent}.jsonl").read_bytes()


def test_the_report_of_a_shadow_run(two_runs, tmp_path):
    _, run = two_runs[0]
    done = subprocess.run([sys.executable, "-m", "sim.cli", "report", str(run)], capture_output=True,
                          text=True, timeout=600, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    report = json.loads((run / "report" / "report.json").read_text())
    assert report["run"]["kind"] == "shadow" and report["run"]["shadow"]["version"].startswith("Shadow 3.")
    assert report["verdict"]["verdict"] == "ok"
    assert "run under Shadow" in (run / "report" / "report.html").read_text()


def test_an_agent_that_fails_under_shadow_fails_the_run(tmp_path):
    trees = ROOT / "tests" / "sim_fixtures" / "trees"
    scenario = tmp_path / "doomed.yaml"
    scenario.write_text(f"""version: 1
name: doomed
seed: 3
duration: 2m
drain: 0s
expect: {{payments: {{}}}}
groups:
  - {{name: doomed, tree: {trees / 'doomed.yaml'}, wallet: false, params: {{after: 20s}}}}
  - {{name: idler, tree: {trees / 'idler.yaml'}, wallet: false}}
""")
    done = run_under_shadow(scenario, tmp_path / "run")
    assert done.returncode == 3, done.stderr[-3000:]
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("verdict: FAILED") and "doomed: ended exited: 1" in last, last
    record = json.loads((tmp_path / "run" / "run.json").read_text())
    doomed, idler = record["agents"]
    assert (doomed["outcome"], doomed["exit_code"], idler["outcome"]) == ("crashed", 1, "ok")
    assert os.path.exists(doomed["log"]), doomed
    assert record["shadow"]["exit_code"] != 0
    events = [r["event"] for r in journal(tmp_path / "run", "doomed")]
    assert events[:2] == ["agent_started", "hello"]


def test_ctrl_c_stops_shadow_and_every_process_in_it(tmp_path):
    run = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "sim.cli", "run", str(TWO_HOSTS), "--engine", "shadow",
                             "--out", str(run), "--quiet"], stderr=subprocess.PIPE, text=True, cwd=ROOT)
    deadline = time.monotonic() + 600
    while not list((run / "journals").glob("*.jsonl")) and time.monotonic() < deadline:
        time.sleep(1)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "interrupted by SIGINT; shadow stopped" in err
    left = [p.info["cmdline"] for p in psutil.process_iter(["cmdline"]) if str(run) in " ".join(p.info["cmdline"] or ())]
    assert left == []
    record = json.loads((run / "run.json").read_text())
    assert (record["status"], record["interrupted_by"]) == ("interrupted", "SIGINT")
