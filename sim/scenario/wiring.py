"""Wiring of a scenario: every role a tree looks up is published by some group, every count
of agents a tree waits for exists, and a tree that calls a private daemon's RPC has one.

Leaves declare what they do with roles (`Leaf.ROLES`: looks up / publishes, `Leaf.COUNTS`), so
the check knows no role by name: a new role and its leaves are checked like the shipped ones.
A problem points at the scenario line that set the value (a group's `params`) when there is
one, else at the tree line, and suggests the closest published role.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any, Iterable

from behaviours.base import LOOKS_UP, PUBLISHES
from lang.errors import Problem, did_you_mean
from engine.spec import Node, Tree

__all__ = ["Loaded", "check_wiring"]


@dataclass
class Loaded:
    """One group's tree as its agents will load it (the params of its first agent)."""

    group: Any                  # sim.scenario.load.Group
    params: dict
    tree: Tree
    catalogue: Any              # engine.schema.Catalogue the tree was loaded with


@dataclass
class _Use:
    loaded: Loaded
    node: Node
    param: str
    role: str
    count: int | None = None    # for a count: how many agents it waits for


def check_wiring(doc, loaded: Iterable[Loaded]) -> list[Problem]:
    """Problems with the roles the groups' trees look up and the counts they wait for. `doc`
    is the scenario's yamlload.Document (for positions in the scenario file)."""
    loaded = list(loaded)
    published: Counter = Counter()
    uses: list[_Use] = []
    for item in loaded:
        roles = set()
        for node, how, role, param in _roles(item.tree, item.catalogue):
            if how == PUBLISHES:
                roles.add(role)
            else:
                uses.append(_Use(item, node, param, role))
        for role in roles:
            published[role] += item.group.count
        uses += _counts(item, item.catalogue)
    problems = [p for item in loaded for p in _private_daemon(doc, item)]
    for use in uses:
        have = published.get(use.role, 0)
        if use.count is None and have == 0:
            hint = did_you_mean(use.role, published) or (
                f" (published: {', '.join(sorted(published))})" if published else "")
            problems.append(_problem(doc, use, f"{use.node.type} ({use.node.where}) "
                                     f"looks up role {use.role!r}, but no group publishes it{hint}"))
        elif use.count is not None and use.count > have:
            problems.append(_problem(doc, use, f"{use.node.type} ({use.node.where}) "
                                     f"waits for {use.count} agents of role {use.role!r}, but the "
                                     f"scenario has {have}"))
    return problems


def _private_daemon(doc, item: Loaded) -> list[Problem]:
    """A tree with a leaf that calls `private.*` in a group without `private_daemon: true`."""
    if item.tree.root is None or getattr(item.group, "private_daemon", False):
        return []
    for node in item.tree.root.walk():
        leaf = getattr(item.catalogue.types.get(node.type), "leaf", None)
        if any(call.startswith("private.") for call in getattr(leaf, "RPC", ())):
            return [doc.problem(("groups", item.group.position, "name"),
                                f"{node.type} ({node.where}) calls the private daemon's RPC: give group "
                                f"{item.group.name} `private_daemon: true`")]
    return []


def _roles(tree: Tree, catalogue) -> list[tuple[Node, str, str, str]]:
    if tree.root is None:
        return []
    out = []
    for node in tree.root.walk():
        leaf = getattr(catalogue.types.get(node.type), "leaf", None)
        if leaf is not None:
            out += [(node, how, role, param) for how, role, param in leaf.roles(node.params, tree.role)]
    return out


def _counts(item: Loaded, catalogue) -> list[_Use]:
    out = []
    for node in item.tree.root.walk() if item.tree.root is not None else ():
        leaf = getattr(catalogue.types.get(node.type), "leaf", None)
        for param, role_param in (getattr(leaf, "COUNTS", None) or {}).items():
            count = node.params.get(param, leaf.PARAMS.get(param, {}).get("default"))
            looked_up = {p: r for how, r, p in leaf.roles(node.params, item.tree.role)
                         if how == LOOKS_UP}
            if isinstance(count, int) and role_param in looked_up:
                out.append(_Use(item, node, param, looked_up[role_param], count))
    return out


def _problem(doc, use: _Use, message: str) -> Problem:
    """At the group's param that set the value, else at the tree node's parameter."""
    group = use.loaded.group
    given = use.node.given_by.get(use.param)
    if given in group.params:
        return doc.problem(("groups", group.position, "params", given),
                           f"{message} (group {group.name})")
    line, col = use.node.param_where.get(use.param, (use.node.line, use.node.col))
    return Problem(use.node.file, line, col, f"{use.node.path}.{use.param}",
                   f"{message} (group {group.name})")
