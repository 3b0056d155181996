"""A role the code does not know (docs/guide.md's saver, with its own `saved` event) on a real
run: the summary, report.json and report.html count its events, and the agents carry its role.

Every count is recomputed from the journals.
"""
from __future__ import annotations

import collections
import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def monerosim(*args: str, timeout: float) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sim.cli", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT)


@pytest.fixture(scope="module")
def savers(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("savers") / "run"
    done = monerosim("run", "tests/guide/savers.yaml", "--duration", "15m", "--out", str(run_dir),
                     timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr
    report = monerosim("report", str(run_dir), timeout=300)
    assert report.returncode == 0, report.stderr
    journals = {p.stem: [json.loads(line) for line in p.read_text().splitlines()]
                for p in (run_dir / "journals").glob("*.jsonl")}
    return run_dir, done.stdout, journals


def test_the_saved_events_are_counted_per_role(savers):
    run_dir, stdout, journals = savers
    counted = collections.Counter(r["event"] for a, records in journals.items()
                                  if a.startswith("saver-") for r in records)
    assert counted["saved"] >= 3                                     # they did save
    report = json.loads((run_dir / "report" / "report.json").read_text())
    assert report["events"]["saver"] == {"agents": 3, "events": dict(sorted(counted.items()))}
    assert {a: row["role"] for a, row in report["agents"].items() if a.startswith("saver")} == \
        {"saver-0": "saver", "saver-1": "saver", "saver-2": "saver"}
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["events"]["saver"]["events"]["saved"] == counted["saved"]
    assert f"saved {counted['saved']}" in next(line for line in stdout.splitlines()
                                               if line.startswith("Events of saver (3):"))


def test_the_page_shows_the_new_roles_events_and_its_timeline(savers):
    run_dir, _, journals = savers
    html = (run_dir / "report" / "report.html").read_text()
    events = html[html.index("<h2>Events per role</h2>"):]
    assert "<h3>saver (3 agents)</h3>" in events
    saved = sum(1 for a, records in journals.items() for r in records if r["event"] == "saved")
    assert f"<td class=l>saved</td><td>{saved}</td>" in events
    svg = (run_dir / "report" / "activity.svg").read_text()
    assert f"saved ({saved})" in svg                                  # its own legend entry
