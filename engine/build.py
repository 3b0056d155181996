"""Loaded spec (engine.spec.Node) -> a py_trees tree bound to one agent's context."""
from __future__ import annotations

from typing import Any

from py_trees.behaviour import Behaviour

from lang.errors import MonerosimError

from .schema import Catalogue
from .spec import Node

__all__ = ["build", "BuildError"]


class BuildError(MonerosimError):
    """A spec node the engine cannot build (a bug: the loader validated it)."""


def build(node: Node, ctx: Any, catalogue: Catalogue) -> Behaviour:
    """Build `node` and its descendants; every behaviour gets `.spec` (the Node it came from).

    An engine node type builds itself (`ControlNode.build`); a leaf is its class called with
    the node's name and parameters."""
    nt = catalogue.types.get(node.type)
    if nt is None:
        raise BuildError(f"{node.where}: no behaviour for node type {node.type!r}")
    children = [build(child, ctx, catalogue) for child in node.children]
    if nt.kind == "leaf":
        behaviour = nt.cls(name=node.name, **node.params)
    else:
        behaviour = nt.cls.build(node.name, children, ctx, node.params)
    behaviour.spec = node  # type: ignore[attr-defined]
    return behaviour
