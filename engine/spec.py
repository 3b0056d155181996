"""The loaded form of a tree: Node and Tree, plus checks that need the whole tree."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lang.errors import Problem, did_you_mean
from lang.values import refs_in

from .schema import Catalogue

__all__ = ["Node", "Tree", "unwritten_keys"]


@dataclass
class Node:
    """One node of a loaded tree; `params` hold plain values, durations in seconds,
    Distribution and BlackboardRef objects."""

    type: str
    kind: str
    name: str
    params: dict[str, Any]
    children: list["Node"] = field(default_factory=list)
    file: str = ""
    line: int = 0
    col: int = 0
    path: str = ""
    param_where: dict[str, tuple[int, int]] = field(default_factory=dict, repr=False)
    given_by: dict[str, str] = field(default_factory=dict, repr=False)  # param -> --param that set it

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"

    def walk(self):
        yield self
        for child in self.children:
            yield from child.walk()


@dataclass
class Tree:
    """A loaded tree file: its root node and the parameter values it was loaded with."""

    file: str
    root: Node | None
    role: str | None = None
    description: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    subtrees: list[str] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)


def unwritten_keys(root: Node, cat: Catalogue) -> list[Problem]:
    """Warnings for blackboard keys a node reads that no node of the tree writes (a typo, most
    often). Only a warning: the leaf fails at run time when the key is still missing."""
    written: set[str] = set()
    reads: list[tuple[Node, str, str]] = []
    for node in root.walk():
        nt = cat.types[node.type]
        if nt.kind != "leaf":
            continue
        written.update(str(node.params[p]) for p in nt.outputs if node.params.get(p))
        inputs = nt.cls.INPUTS
        for pname, value in node.params.items():
            if pname in nt.outputs:
                continue
            if pname in inputs and isinstance(value, str):
                reads.append((node, pname, value.split(".")[0]))
            else:
                reads.extend((node, pname, ref.key) for ref in refs_in(value))
    warnings = []
    for node, pname, key in reads:
        if key not in written:
            line, col = node.param_where.get(pname, (node.line, node.col))
            hint = did_you_mean(key, written)
            warnings.append(Problem(node.file, line, col, f"{node.path}.{pname}",
                                    f"warning: no node of this tree writes blackboard key {key!r}{hint}"))
    return sorted(set(warnings))

