"""The status journal (engine.status, ipc.status): each tick's status changes and every finish,
the tree drawn as `tree-runner render` draws it, counts at the end, a new header on restart,
every line valid against docs/status.schema.json."""
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

import ipc
from behaviours.base import AgentContext
from engine import Factory
from engine.clock import SHADOW_EPOCH, VirtualClock
from engine.render import render_dot
from engine.runner import make_rng
from ipc.status import STATUS_SCHEMA

REPO = Path(__file__).resolve().parents[2]
TREE = """\
version: 1
role: demo
root:
  Sequence:
    name: main
    children:
      - Repeat:
          times: 3
          child:
            Sequence:
              children:
                - Wait: {duration: 2s}
                - Succeed: {}
      - Fail: {}
"""
MAIN, REPEAT, INNER, WAIT, SUCCEED, FAIL = range(6)


@pytest.fixture(autouse=True)
def clean_blackboard():
    yield
    import py_trees
    py_trees.blackboard.Blackboard.storage.clear()
    py_trees.blackboard.Blackboard.metadata.clear()
    py_trees.blackboard.Blackboard.clients.clear()


def run_agent(tmp_path, text=TREE, agent_id="a1"):
    path = tmp_path / "tree.yaml"
    path.write_text(textwrap.dedent(text))
    factory = Factory.for_plugins()
    tree = factory.load(path)
    clock = VirtualClock()
    ctx = AgentContext(agent_id, clock=clock, rng=make_rng(1, agent_id))
    writer = ipc.StatusWriter(ipc.status_path(tmp_path / "status", agent_id))
    agent = factory.agent(tree, ctx, clock, seed=1, status=writer)
    agent.run()
    return tree, factory, ipc.read_journal(ipc.status_path(tmp_path / "status", agent_id))


def states(lines, until):
    """Each node's status after the last tick at or before `until` (seconds after the start)."""
    header = lines[0]
    status = ["I"] * len(header["nodes"])
    for line in lines[1:]:
        if "c" in line and line["t"] - header["t"] <= until:
            for i, letter in zip(line["c"][::2], line["c"][1::2]):
                status[i] = letter
    return status


def test_lines_follow_the_ticks_and_the_schema(tmp_path):
    tree, factory, lines = run_agent(tmp_path)
    validator = Draft202012Validator(STATUS_SCHEMA)
    for line in lines:
        validator.validate(line)
    header = lines[0]
    assert header["t"] == SHADOW_EPOCH and header["agent"] == "a1" and header["role"] == "demo"
    assert [n[1] for n in header["nodes"]] == ["Sequence", "Repeat", "Sequence", "Wait", "Succeed", "Fail"]
    assert [n[3] for n in header["nodes"]] == [-1, MAIN, REPEAT, INNER, INNER, MAIN]
    assert states(lines, 0)[:5] == ["R", "R", "R", "R", "I"]         # waiting the first 2 s
    assert states(lines, 2)[WAIT] == "R" and states(lines, 2)[SUCCEED] == "I"   # the second round
    assert states(lines, 6) == ["F", "S", "S", "S", "S", "F"]
    finished = [line["t"] - header["t"] for line in lines if "c" in line
                and SUCCEED in line["c"][::2] and line["c"][line["c"].index(SUCCEED) + 1] == "S"]
    assert finished == [2, 4, 6]                                         # every success, not one
    counts = lines[-1]["counts"]
    assert counts["success"][SUCCEED] == 3 and counts["success"][WAIT] == 3
    assert counts["failure"][FAIL] == 1 and counts["failure"][MAIN] == 1
    assert counts["ticks"][WAIT] == 6 and counts["ticks"][FAIL] == 1 and counts["ticks"][MAIN] == 6


def test_node_i_is_the_drawing_s_n_i_plus_1(tmp_path):
    tree, factory, lines = run_agent(tmp_path)
    dot = render_dot(tree, factory.catalogue)
    for i, node in enumerate(lines[0]["nodes"]):
        title = node[5].split("\n")[0].replace('"', '\\"')
        assert f'n{i + 1} [label="{title}' in dot


def test_a_restarted_agent_starts_a_new_header(tmp_path):
    run_agent(tmp_path)
    _, _, lines = run_agent(tmp_path)
    headers = [i for i, line in enumerate(lines) if "nodes" in line]
    assert len(headers) == 2 and "counts" in lines[headers[1] - 1]


def test_the_published_schema_is_current():
    text = (REPO / "docs" / "status.schema.json").read_text(encoding="utf-8")
    assert json.loads(text) == STATUS_SCHEMA, "docs/status.schema.json is stale: run `make schema`"
    Draft202012Validator.check_schema(STATUS_SCHEMA)


def test_tree_runner_writes_it_and_refuses_a_status_dir_it_cannot_write(tmp_path):
    tree = tmp_path / "t.yaml"
    tree.write_text("version: 1\nroot:\n  Wait: {duration: 1s}\n")
    ok = subprocess.run([sys.executable, "-m", "engine", "run", str(tree), "--agent", "a2", "--virtual",
                         "--status", str(tmp_path / "st")], cwd=REPO, capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    lines = ipc.read_journal(tmp_path / "st" / "a2.jsonl")
    assert lines[0]["nodes"][0][1] == "Wait" and lines[-1]["counts"]["success"] == [1]
    (tmp_path / "file").write_text("")
    bad = subprocess.run([sys.executable, "-m", "engine", "run", str(tree), "--agent", "a2", "--virtual",
                          "--status", str(tmp_path / "file")], cwd=REPO, capture_output=True, text=True)
    assert bad.returncode == 2 and "--status" in bad.stderr and "Traceback" not in bad.stderr


def test_the_report_counts_agents_of_one_role_running_different_trees(tmp_path):
    """A selfish and an honest pool share the role `pool` with different trees: the fleet and the
    leaf table go by each agent's own leaves."""
    from sim.report.livefleet import LiveFleet
    from sim.report.statuses import fleet, leaf_stats, read_statuses
    status = tmp_path / "status"
    status.mkdir()
    leaf = lambda name, parent: [f"p.{name}", name, name, parent, "leaf", name]  # noqa: E731
    seq = ["p", "Sequence", "s", -1, "composite", "→ Sequence"]
    (status / "honest.jsonl").write_text(
        json.dumps({"t": 0, "agent": "honest", "tree": "pool.yaml", "role": "pool",
                    "nodes": [seq, leaf("AwaitMiningSignal", 0)]}) + "\n"
        + json.dumps({"t": 0, "c": [0, "R", 1, "R"]}) + "\n"
        + json.dumps({"t": 10, "c": [1, "S"]}) + "\n")
    (status / "selfish.jsonl").write_text(
        json.dumps({"t": 0, "agent": "selfish", "tree": "selfish-pool.yaml", "role": "pool",
                    "nodes": [seq, leaf("ReadChains", 0), leaf("MineWithheld", 0), leaf("Wait", 0)]}) + "\n"
        + json.dumps({"t": 0, "c": [0, "R", 1, "S", 2, "S", 3, "R"]}) + "\n"
        + json.dumps({"t": 20, "counts": {"ticks": [1, 1, 1, 1], "success": [0, 1, 1, 0],
                                          "failure": [0, 0, 0, 0]}}) + "\n")
    statuses = read_statuses(tmp_path)
    series = {s["label"]: s["counts"] for s in fleet(statuses, 20, points=3)["pool"]["series"]}
    assert series == {"AwaitMiningSignal": [1, 0, 0], "Wait": [1, 1, 0]}
    rows = {r["label"]: (r["agents"], r["success"]) for r in leaf_stats(statuses, 20)["pool"]}
    assert rows == {"AwaitMiningSignal": (1, 1), "ReadChains": (1, 1), "MineWithheld": (1, 1),
                    "Wait": (1, 0)}
    live = LiveFleet(tmp_path)
    live.update()
    now = {r["label"]: (r["now"], r["success"]) for r in live.snapshot()["roles"]["pool"]["leaves"]}
    assert now == {"AwaitMiningSignal": (0, 1), "ReadChains": (0, 1), "MineWithheld": (0, 1),
                   "Wait": (1, 0)}
