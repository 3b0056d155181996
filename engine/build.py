"""Loaded spec (engine.language.Node) -> a py_trees tree bound to one agent's context."""
from __future__ import annotations

from typing import Any

import py_trees
from py_trees.behaviour import Behaviour

from engine import decorators
from .spec import Node
from .schema import Catalogue

__all__ = ["build", "BuildError"]


class BuildError(Exception):
    """A spec node the engine cannot build (a bug: the loader validated it)."""


def build(node: Node, ctx: Any, catalogue: Catalogue) -> Behaviour:
    """Build `node` and its descendants; every behaviour gets `.spec` (the Node it came from)."""
    behaviour = _build(node, ctx, catalogue)
    behaviour.spec = node  # type: ignore[attr-defined]
    return behaviour


def _build(node: Node, ctx: Any, catalogue: Catalogue) -> Behaviour:
    p = node.params
    children = [build(child, ctx, catalogue) for child in node.children]
    t = node.type
    if t == "Sequence":
        return py_trees.composites.Sequence(node.name, memory=p["memory"], children=children)
    if t == "Selector":
        return py_trees.composites.Selector(node.name, memory=p["memory"], children=children)
    if t == "Parallel":
        policy = (py_trees.common.ParallelPolicy.SuccessOnAll(synchronise=True) if p["policy"] == "all"
                  else py_trees.common.ParallelPolicy.SuccessOnOne())
        return py_trees.composites.Parallel(node.name, policy=policy, children=children)
    if t == "Repeat":
        return decorators.Repeat(node.name, children[0], ctx, times=p.get("times"))
    if t == "Retry":
        return decorators.Retry(node.name, children[0], ctx, attempts=p["attempts"], delay=p["delay"])
    if t == "Timeout":
        return decorators.Timeout(node.name, children[0], ctx, after=p["after"])
    if t == "Once":
        return decorators.Once(node.name, children[0], ctx, until=p["until"])
    if t == "RateLimit":
        return decorators.RateLimit(node.name, children[0], ctx, every=p["every"],
                                    when_limited=p["when_limited"])
    if t == "Inverter":
        return py_trees.decorators.Inverter(node.name, children[0])
    if t == "ForceSuccess":
        return py_trees.decorators.FailureIsSuccess(node.name, children[0])
    if t == "ForceFailure":
        return py_trees.decorators.SuccessIsFailure(node.name, children[0])
    if t == "Subtree":
        return decorators.Subtree(node.name, children[0])
    leaf = catalogue.registry.get(t)
    if leaf is None:
        raise BuildError(f"{node.where}: no behaviour for node type {t!r}")
    return leaf(name=node.name, **p)
