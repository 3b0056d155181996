"""The live view of `monerosim run` in a real headless Chromium: the page answers while the run
goes (agents in their leaves, the run's state), and at the end shows the final counts, equal to
what the agents' status journals hold."""
from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from selenium.webdriver.support.ui import WebDriverWait

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = ROOT / "tests" / "report_fixtures" / "tiny-real.yaml"


def table(browser) -> list[list[str]]:
    return browser.execute_script(
        "return [...document.querySelectorAll('#fleet tr')].slice(1).map("
        "r => [...r.cells].map(c => c.textContent));")


def finishes(run_dir: Path) -> dict[tuple[str, str], list[int]]:
    """(role, leaf title) -> [successes, failures], summed from the raw status journals."""
    found: dict[tuple[str, str], list[int]] = {}
    for path in (run_dir / "status").glob("*.jsonl"):
        nodes, role = [], None
        for line in map(json.loads, path.read_text().splitlines()):
            if "nodes" in line:
                nodes, role = line["nodes"], line["role"]
            for i, letter in zip(line.get("c", [])[::2], line.get("c", [])[1::2]):
                if nodes[i][4] == "leaf" and letter in "SF":
                    row = found.setdefault((role, nodes[i][5].split("\n")[0]), [0, 0])
                    row[letter == "F"] += 1
    return found


def test_the_live_page_answers_during_the_run_and_ends_with_the_final_counts(tmp_path, browser):
    run_dir = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "sim.cli", "run", str(SCENARIO), "--duration", "3m",
                             "--out", str(run_dir), "--live-hold", "30s"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = proc.stderr.readline()
        url = re.fullmatch(r"live view: (http://127\.0\.0\.1:\d+/)\n", first)
        assert url, first
        browser.get(url.group(1))
        roles = {"controller", "marketplace", "pool", "user"}
        WebDriverWait(browser, 300, 0.5).until(lambda b: {r[0] for r in table(b)} == roles)
        during = browser.find_element("id", "state")
        assert during.get_attribute("data-status") in ("starting", "running"), during.text
        assert proc.poll() is None                        # the run was still going
        assert sum(int(r[2]) for r in table(browser)) >= 1   # agents waiting in their leaves
        WebDriverWait(browser, 600, 1).until(
            lambda b: "verdict" in b.find_element("id", "state").text)
        time.sleep(2.5)                                   # one more refresh after the verdict
        state = browser.find_element("id", "state").text
        assert "5 agents, 5 ended" in state, state
        rows = table(browser)
        shown = {(role, label.split(" #")[0]): [0, 0] for role, label, *_ in rows}
        for role, label, now, _bar, success, failure in rows:
            assert now == "0"                             # the agents have all stopped
            shown[(role, label.split(" #")[0])][0] += int(success)
            shown[(role, label.split(" #")[0])][1] += int(failure)
        assert shown == finishes(run_dir)
        assert sum(s for s, _ in shown.values()) > 20
    finally:
        out, err = proc.communicate(timeout=120)
    # 3 simulated minutes are too short for users to be funded: the verdict says so (exit 3)
    assert proc.returncode == 3 and "users never paid" in err, out + err
