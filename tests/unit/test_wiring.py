"""Wiring between groups (`sim.scenario.wiring`), as `monerosim run --check` and every run see it.

The miswired scenarios are the shipped ones with one value changed: a controller waiting for
more pools than the scenario has, and a pool funding a role nobody publishes (a typo of the
guide's `saver`). Each is refused before anything starts, with file:line:col, exit code 2.
"""
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def variant(tmp_path: Path, source: str, old: str, new: str) -> Path:
    """A copy of `source` (relative to the repository) with `old` replaced once by `new`, its
    relative tree paths kept valid."""
    src = ROOT / source
    text = src.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    text = text.replace(old, new).replace("tree: ../../trees/", f"tree: {ROOT}/trees/") \
        .replace("tree: ../trees/", f"tree: {ROOT}/trees/") \
        .replace("tree: saver.yaml", f"tree: {src.parent}/saver.yaml")
    out = tmp_path / src.name
    out.write_text(text, encoding="utf-8")
    return out


def check(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sim.cli", "run", str(path), "--check"],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)


def line_of(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


MISWIRED = {
    "pools": ("scenarios/small.yaml", "params: {pools: 2,", "params: {pools: 3,", "3,",
              "groups[0].params.pools: AwaitPeers (trees/controller.yaml:23:9) waits for 3 agents "
              "of role 'pool', but the scenario has 2 (group controller)"),
    "fund_role": ("tests/guide/savers.yaml", "fund_role: saver,", "fund_role: savers,", "savers",
                  "groups[1].params.fund_role: FundPeers (trees/pool.yaml:59:35) looks up role "
                  "'savers', but no group publishes it (did you mean 'saver'?) (group pool)"),
}


@pytest.mark.parametrize("case", MISWIRED)
def test_a_miswired_scenario_is_refused_at_the_value_that_miswires_it(tmp_path, case):
    """A controller waiting for more pools than there are; a pool funding a role nobody
    publishes (a typo of the guide's `saver`)."""
    source, old, new, value, message = MISWIRED[case]
    path = variant(tmp_path, source, old, new)
    done = check(path)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    line = line_of(path, new)
    col = path.read_text().splitlines()[line - 1].index(value) + 1
    assert done.stderr.strip() == f"{path}:{line}:{col}: {message}"


def test_a_role_missing_by_the_trees_own_default_points_at_the_tree(tmp_path):
    """Without the `fund_role` param the pool funds `user` (its tree's default): the guide's
    scenario has no user, so the problem is in the tree, not in the scenario."""
    path = variant(tmp_path, "tests/guide/savers.yaml", "fund_role: saver, ", "")
    done = check(path)
    assert done.returncode == 2
    assert done.stderr.strip().startswith("trees/pool.yaml:59:53: root.Sequence.")   # role:
    assert done.stderr.strip().endswith(
        ".FundPeers.role: FundPeers (trees/pool.yaml:59:35) looks up role 'user', but no group "
        "publishes it (did you mean 'saver'?) (group pool)")


@pytest.mark.parametrize("scenario", ["scenarios/small.yaml", "scenarios/hundred.yaml",
                                      "tests/guide/savers.yaml"])
def test_the_shipped_scenarios_are_wired(scenario):
    done = check(ROOT / scenario)
    assert done.returncode == 0, done.stderr
