"""The report's "Trees in time" in a real headless Chromium (Debian's chromium and chromedriver,
driven by Selenium): the replay loads, moving the time slider colours a node as its agent's
status journal says it was then, and the fleet view's numbers are the journals' numbers.

Everything expected is recomputed here from the raw status journals (status/<agent>.jsonl) of
the shared tiny-real run (conftest.py `reported`), not from sim.report.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

COLOURS = {"R": "#ff9800", "S": "#4caf50", "F": "#e53935"}


def status_journals(run_dir: Path) -> dict[str, list[dict]]:
    return {p.stem: [json.loads(line) for line in p.read_text().splitlines()]
            for p in sorted((run_dir / "status").glob("*.jsonl"))}


def states_at(lines: list[dict], t_abs: float) -> list[str]:
    status: list[str] = []
    for line in lines:
        if line["t"] > t_abs:
            break
        if "nodes" in line:
            status = ["I"] * len(line["nodes"])
        for i, letter in zip(line.get("c", [])[::2], line.get("c", [])[1::2]):
            status[i] = letter
    return status


@pytest.fixture(scope="module")
def page(reported, browser):
    run_dir, report, _ = reported
    browser.get((run_dir / "report" / "report.html").as_uri())
    browser.find_element("id", "replay-time")
    return browser, run_dir, report


def move_to(browser, agent: str, t: float) -> None:
    """Pick `agent`, drag the slider to `t` (seconds after the origin) as a user does: the
    value changes and the input event fires."""
    browser.execute_script(
        "const pick = document.getElementById('replay-agent'); pick.value = arguments[0];"
        "pick.dispatchEvent(new Event('change'));"
        "const s = document.getElementById('replay-time'); s.value = arguments[1];"
        "s.dispatchEvent(new Event('input'));", agent, t)


def node_colour(browser, i: int) -> tuple[str, str]:
    """(data-status, fill) of drawn node n{i+1}."""
    return tuple(browser.execute_script(
        "for (const g of document.querySelectorAll('#replay-tree g.node')) {"
        "  if (g.querySelector('title').textContent === 'n' + arguments[0]) {"
        "    const s = g.querySelector('polygon, path, ellipse');"
        "    return [g.dataset.status, s.getAttribute('fill')]; } }"
        "return [null, null];", i + 1))


def test_the_replay_loads_with_every_agent_and_its_tree(page):
    browser, run_dir, report = page
    options = [o.get_attribute("value") for o in browser.find_elements("css selector", "#replay-agent option")]
    assert options == sorted(status_journals(run_dir)) == sorted(report["agents"])
    drawn = browser.find_elements("css selector", "#replay-tree g.node")
    first = status_journals(run_dir)[options[0]][0]
    assert len(drawn) == len(first["nodes"])
    assert float(browser.find_element("id", "replay-time").get_attribute("max")) >= report["run"]["span"] - 1


def test_moving_the_slider_colours_a_node_as_its_status_was_then(page):
    browser, run_dir, report = page
    origin = report["run"]["origin"]
    lines = status_journals(run_dir)["user-0"]
    nodes = lines[0]["nodes"]
    funds = next(i for i, n in enumerate(nodes) if n[1] == "AwaitFunds")
    # the times the user's AwaitFunds leaf changed status: before funding RUNNING, then not
    changes = [(line["t"], line["c"][line["c"].index(funds) + 1]) for line in lines
               if "c" in line and funds in line["c"][::2]]
    assert changes[0][1] == "R" and any(s != "R" for _, s in changes[1:]), changes
    seen = set()
    for t_abs, _ in changes[:6]:
        for t in (t_abs - origin, t_abs - origin + 0.5):
            move_to(browser, "user-0", t)
            expected = states_at(lines, origin + t)
            status, fill = node_colour(browser, funds)
            assert status == expected[funds], (t, status, expected[funds])
            if status in COLOURS:
                assert fill == COLOURS[status]
            seen.add(status)
    assert {"R"} < seen                    # the colour did change as the slider moved
    clock = browser.find_element("id", "replay-clock").text
    assert ":" in clock


def test_the_fleet_now_table_counts_the_agents_in_each_leaf(page):
    browser, run_dir, report = page
    origin, journals = report["run"]["origin"], status_journals(run_dir)
    for fraction in (0.1, 0.5, 0.9):
        t = report["run"]["span"] * fraction
        move_to(browser, "controller", t)
        expected: dict[tuple[str, str], int] = {}
        for agent, lines in journals.items():
            started = [line for line in lines if "nodes" in line and line["t"] <= origin + t]
            if not started:
                continue
            header = started[-1]
            states = states_at(lines, origin + t)
            for i, node in enumerate(header["nodes"]):
                if node[4] == "leaf" and states[i] == "R":
                    key = (header["role"], node[5].split("\n")[0])
                    expected[key] = expected.get(key, 0) + 1
        rows = browser.execute_script(
            "return [...document.querySelectorAll('#fleet-now tr')].slice(1).map("
            "r => [...r.cells].map(c => c.textContent));")
        shown = {(role, label.split(" #")[0]): 0 for role, label, _ in rows}
        for role, label, count in rows:
            shown[(role, label.split(" #")[0])] += int(count)
        assert shown == expected, (t, shown, expected)


def test_the_leaf_table_sums_the_journals_counts(page):
    browser, run_dir, report = page
    totals: dict[tuple[str, str], list[int]] = {}
    for lines in status_journals(run_dir).values():
        header = [line for line in lines if "nodes" in line][0]
        for line in lines:
            if "counts" not in line:
                continue
            for i, node in enumerate(header["nodes"]):
                if node[4] != "leaf":
                    continue
                row = totals.setdefault((header["role"], node[5].split("\n")[0]), [0, 0, 0])
                for k, name in enumerate(("ticks", "success", "failure")):
                    row[k] += line["counts"][name][i]
    rows = browser.execute_script(
        "return [...document.querySelectorAll('#leaf-stats tr')].slice(1).map("
        "r => [...r.cells].map(c => c.textContent));")
    shown: dict[tuple[str, str], list[int]] = {}
    for role, label, _agents, ticks, success, failure, _running in rows:
        row = shown.setdefault((role, label.split(" #")[0]), [0, 0, 0])
        for k, value in enumerate((ticks, success, failure)):
            row[k] += int(value)
    assert shown == {k: v for k, v in totals.items() if any(v)}
    assert sum(v[0] for v in shown.values()) > 100          # a real run ticked its leaves
