"""engine.Factory and the engine's node types: control nodes registered like leaves, one shared
catalogue per plugin list, trees loaded from files or text, built, and the engine's errors under
the project's root error."""
import py_trees
import pytest
from py_trees.common import Status

from behaviours.base import AgentContext
from behaviours.registry import BehaviourRegistry, RegistryError
from engine import Factory
from engine.build import BuildError
from engine.clock import ClockGone, VirtualClock
from engine.nodes import CONTROL_NODES, ControlNode
from engine.runner import make_rng
from engine.schema import engine_registry
from lang.errors import LoadError, MonerosimError
from lang.values import BlackboardRef, make_distribution, refs_in

TREE = """\
root:
  Sequence:
    children:
      - Retry:
          attempts: 2
          child: {SetValue: {key: x, value: 1}}
      - Inverter: {child: {Fail: {}}}
"""


def test_control_nodes_are_registered_like_leaves():
    registry = engine_registry(entry_points=False)
    names = [name for name, _cls in registry.control_nodes()]
    assert names == ["Sequence", "Selector", "Parallel", "Repeat", "Retry", "Timeout", "Inverter",
                     "ForceSuccess", "ForceFailure", "Once", "RateLimit", "Subtree"]
    assert "Sequence" in registry and "Wait" in registry
    assert all(issubclass(cls, ControlNode) for _name, cls in registry.control_nodes())
    assert not any(name in names for name, _cls in registry.leaves())
    assert [name for name, _cls in registry.items()][:len(names)] == names


def test_catalogue_reads_control_nodes_and_leaves_the_same_way():
    types = Factory.for_plugins().catalogue.types
    assert types["Retry"].kind == "decorator" and types["Retry"].required == ("attempts",)
    assert types["Retry"].doc.startswith("Runs its child again when it fails, up to `attempts` runs, waiting")
    assert types["Subtree"].kind == "subtree" and types["Subtree"].leaf is None
    assert types["Wait"].kind == "leaf" and types["Wait"].leaf is types["Wait"].cls


def test_a_class_that_is_neither_leaf_nor_control_node_is_refused():
    class Loose:
        KIND = "composite"      # declares a kind but cannot build itself

    with pytest.raises(RegistryError, match="is not a behaviours.base.Leaf subclass"):
        BehaviourRegistry().register(Loose)
    assert len(BehaviourRegistry(CONTROL_NODES)) == len(CONTROL_NODES)


def test_for_plugins_builds_one_factory_per_plugin_list():
    from engine.options import factory as _factory
    assert Factory.for_plugins() is Factory.for_plugins(()) is _factory([])
    assert Factory.for_plugins(entry_points=False) is not Factory.for_plugins()


def test_text_loads_like_the_file_and_messages_name_it(tmp_path):
    path = tmp_path / "t.yaml"
    path.write_text(TREE)
    factory = Factory.for_plugins()
    from_file, from_text = factory.load(path), factory.load_text(TREE, "inline.yaml")
    assert [n.type for n in from_text.root.walk()] == [n.type for n in from_file.root.walk()]
    assert from_text.file == "inline.yaml" and from_text.root.name == "Sequence@2"
    with pytest.raises(LoadError) as caught:
        factory.load_text("root:\n  Wiat: {}\n", "inline.yaml")
    assert str(caught.value) == "inline.yaml:2:3: root.Wiat: unknown node type 'Wiat' (did you mean 'Wait'?)"


def test_build_and_agent_run_the_loaded_tree():
    factory = Factory.for_plugins()
    tree = factory.load_text(TREE, "inline.yaml")
    clock = VirtualClock()
    ctx = AgentContext("a1", clock=clock, rng=make_rng(1, "a1"))
    root = factory.build(tree, ctx)
    assert isinstance(root, py_trees.composites.Sequence) and root.spec is tree.root
    assert isinstance(root.children[1], py_trees.decorators.Inverter)
    agent = factory.agent(tree, ctx, clock, seed=1)
    try:
        assert agent.run() == Status.SUCCESS
    finally:
        ctx.clear_blackboard()


def test_engine_errors_sit_under_the_project_root():
    assert issubclass(BuildError, MonerosimError) and BuildError.exit_code == 1
    assert issubclass(ClockGone, MonerosimError) and issubclass(ClockGone, RuntimeError)


def test_refs_in_finds_references_in_distributions_mappings_and_lists():
    ref, other = BlackboardRef("shop", ("address",)), BlackboardRef("amount")
    value = {"to": ref, "each": [make_distribution("choice", {"values": [other, 1]}), 2]}
    assert list(refs_in(value)) == [ref, other]
    assert list(refs_in("shop")) == []
