"""The JSON Schema built from the registry: valid 2020-12, equal to docs/tree.schema.json,
accepting every valid fixture and extended by a plugin leaf without touching the engine."""
import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from behaviours.base import Leaf, Status, duration, key
from behaviours.registry import BehaviourRegistry, RegistryError, default_registry
from engine import Factory
from engine.cli import main
from lang.errors import LoadError
from engine.nodes import CONTROL_NODES
from engine.schema import engine_registry
from lang.yamlload import load_file

REPO = Path(__file__).resolve().parents[2]
VALID = sorted((REPO / "tests" / "trees" / "valid").rglob("*.yaml"))


def test_schema_is_valid_draft_2020_12():
    Draft202012Validator.check_schema(Factory.for_plugins().schema())


def test_docs_schema_equals_tree_runner_schema(capsys):
    assert main(["schema"]) == 0
    printed = capsys.readouterr().out
    assert printed == (REPO / "docs" / "tree.schema.json").read_text(encoding="utf-8"), \
        "docs/tree.schema.json is stale: run `tree-runner schema -o docs/tree.schema.json`"


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.name)
def test_valid_fixtures_pass_the_editor_schema(path):
    validator = Draft202012Validator(Factory.for_plugins().schema())
    errors = list(validator.iter_errors(load_file(path).data))
    assert errors == []


@pytest.mark.parametrize("name", ["unknown-node-type.yaml", "unknown-parameter.yaml", "missing-required.yaml",
                                  "duration-in-words.yaml", "bad-enum.yaml", "top-level-typo.yaml"])
def test_malformed_fixtures_fail_the_editor_schema(name):
    validator = Draft202012Validator(Factory.for_plugins().schema())
    data = load_file(REPO / "tests" / "trees" / "malformed" / name).data
    assert list(validator.iter_errors(data)), f"{name} should not pass the editor schema"


class Mine(Leaf):
    """Mines `blocks` blocks. Returns SUCCESS."""

    TYPE = "MineSome"
    PARAMS = {"every": duration("pause"), "output": key("where the count goes")}
    REQUIRED = ("every",)
    OUTPUTS = {"output": "number of blocks"}
    RPC = ("daemon.generateblocks",)

    def update(self):
        return Status.SUCCESS


def test_a_new_leaf_extends_schema_and_loader(tmp_path):
    registry = engine_registry(entry_points=False)
    registry.register(Mine)
    factory = Factory(registry)
    node = factory.schema()["$defs"]["node_MineSome"]
    assert node["x-outputs"] == {"output": "number of blocks"} and node["x-rpc"] == ["daemon.generateblocks"]
    assert node["properties"]["MineSome"]["required"] == ["every"]
    tree = tmp_path / "t.yaml"
    tree.write_text("root:\n  MineSome: {every: 2m, output: n}\n")
    assert factory.load(tree).root.params == {"every": 120.0, "output": "n"}
    with pytest.raises(LoadError, match="unknown node type 'MineSome'"):
        Factory.for_plugins().load(tree)  # the default catalogue does not know it


def test_registry_refuses_clashing_names():
    registry = BehaviourRegistry(CONTROL_NODES)
    with pytest.raises(RegistryError, match="built-in composite"):
        registry.register(type("Sequence", (Leaf,), {"update": lambda self: Status.SUCCESS}))
    registry.register(Mine)
    with pytest.raises(RegistryError, match="already defined"):
        registry.register(type("MineSome", (Leaf,), {"update": lambda self: Status.SUCCESS}))


def test_plugin_module_registers_its_leaves(monkeypatch):
    monkeypatch.syspath_prepend(str(REPO / "tests" / "engine"))
    registry = engine_registry(["plugin_leaves"], entry_points=False)
    assert {"ShutdownProbe", "Explode", "AskDaemon"} <= set(registry)
    with pytest.raises(RegistryError, match="cannot import plugin module 'no_such_module'"):
        default_registry(["no_such_module"], entry_points=False)


def test_schema_lists_every_core_leaf_and_engine_node():
    defs = json.loads(json.dumps(Factory.for_plugins().schema()))["$defs"]
    engine_nodes = [cls.type_name() for cls in CONTROL_NODES]
    assert len(engine_nodes) == 12
    for name in ["Wait", "Succeed", "Fail", "SetValue", "CheckValue", "RecordEvent", *engine_nodes]:
        assert f"node_{name}" in defs


def test_entry_point_group_registers_plugin_leaves(monkeypatch):
    import importlib.metadata as metadata

    from behaviours.registry import ENTRY_POINT_GROUP
    monkeypatch.syspath_prepend(str(REPO / "tests" / "engine"))
    points = [metadata.EntryPoint("probes", "plugin_leaves", ENTRY_POINT_GROUP),
              metadata.EntryPoint("mine", f"{__name__}:Mine", ENTRY_POINT_GROUP)]
    monkeypatch.setattr(metadata, "entry_points", lambda group: [p for p in points if p.group == group])
    registry = engine_registry()
    assert {"ShutdownProbe", "Explode", "AskDaemon", "MineSome"} <= set(registry)
    assert registry.origin("MineSome") == f"entry point mine ({__name__}:Mine)"
