"""Durable blackboard keys: saved after each tick, restored when the agent starts again."""
import json
import sys
import textwrap
from pathlib import Path

import py_trees
import pytest

from behaviours.base import AgentContext, MemoryJournal
from engine.clock import VirtualClock
from engine import Factory
from engine.runner import make_rng
from engine.state import AgentState

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "engine"))

TREE = """
version: 1
root:
  Repeat:
    times: 3
    child:
      Sequence:
        children:
          - Tally: {}
          - Wait: {duration: 1m}
"""


@pytest.fixture(autouse=True)
def clean_blackboard():
    yield
    py_trees.blackboard.Blackboard.storage.clear()
    py_trees.blackboard.Blackboard.metadata.clear()
    py_trees.blackboard.Blackboard.clients.clear()


def run_once(tmp_path, state_dir):
    path = tmp_path / "tree.yaml"
    path.write_text(textwrap.dedent(TREE))
    factory = Factory.for_plugins(["plugin_leaves"], entry_points=False)
    tree = factory.load(path)
    clock = VirtualClock()
    ctx = AgentContext("keeper", clock=clock, rng=make_rng(1, "keeper"), journal=MemoryJournal(clock.now))
    agent = factory.agent(tree, ctx, clock, state=AgentState(state_dir, "keeper"))
    agent.run()
    value = ctx.get("tally")
    py_trees.blackboard.Blackboard.storage.clear()
    return value, ctx.journal.records


def test_durable_key_survives_a_restart(tmp_path):
    state_dir = tmp_path / "state"
    first, records = run_once(tmp_path, state_dir)
    assert first == 3
    assert "agent_resumed" not in [r["event"] for r in records]
    saved = json.loads((state_dir / "keeper.json").read_text())
    assert saved["keys"] == {"tally": 3} and saved["agent"] == "keeper"
    second, records = run_once(tmp_path, state_dir)
    assert second == 6
    resumed = [r for r in records if r["event"] == "agent_resumed"]
    assert resumed and resumed[0]["keys"] == ["tally"]


def test_corrupt_state_starts_afresh_and_is_journaled(tmp_path):
    state_dir = tmp_path / "state"
    state_dir.mkdir()
    (state_dir / "keeper.json").write_text("{torn")
    value, records = run_once(tmp_path, state_dir)
    assert value == 3
    assert "state_unreadable" in [r["event"] for r in records]


def test_state_is_written_only_when_a_durable_key_changes(tmp_path):
    state = AgentState(tmp_path, "keeper")
    ctx = AgentContext("keeper", clock=VirtualClock())
    state.restore(ctx, {"tally"})
    assert state.save(ctx) is False          # nothing set yet: nothing to write... but {} differs
    ctx.set("tally", 1)
    assert state.save(ctx) is True
    assert state.save(ctx) is False
    ctx.set("tally", 2)
    assert state.save(ctx) is True
