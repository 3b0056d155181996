"""The engine's own node types: composites, decorators and Subtree.

Each is declared the way a leaf is (behaviours.base.Leaf): its YAML type name, its parameters
(lang.params helpers), the parameters a rendering shows, and a docstring whose first paragraph
says what it returns when. It is registered in the same registry as the leaves (before them, so
no leaf can take its name) and knows how to build its py_trees behaviour from the loaded node:
`build(name, children, ctx, params)`. The clock-aware behaviours are in engine/decorators.py.
"""
from __future__ import annotations

import inspect
from typing import Any, ClassVar

import py_trees
from py_trees.behaviour import Behaviour

from lang.params import boolean, duration, integer, string

from . import decorators

__all__ = ["ControlNode", "CONTROL_NODES"]


class ControlNode:
    """Base of the engine's node types: declarations like a leaf's, and `build()`."""

    TYPE: ClassVar[str] = ""                  # YAML node type (default: the class name)
    KIND: ClassVar[str] = ""                  # "composite" | "decorator" | "subtree"
    PARAMS: ClassVar[dict[str, dict]] = {}    # parameter name -> JSON Schema
    REQUIRED: ClassVar[tuple[str, ...]] = ()  # parameters that must be given
    SHOWN: ClassVar[tuple[str, ...]] = ()     # parameters shown in renderings
    INPUTS: ClassVar[tuple[str, ...]] = ()    # a control node reads no blackboard key,
    OUTPUTS: ClassVar[dict[str, str]] = {}    # writes none
    RPC: ClassVar[tuple[str, ...]] = ()       # and calls no RPC

    @classmethod
    def type_name(cls) -> str:
        return cls.TYPE or cls.__name__

    @classmethod
    def summary(cls) -> str:
        """The docstring's first paragraph, on one line."""
        return " ".join(inspect.cleandoc(cls.__doc__ or "").split("\n\n")[0].split())

    @classmethod
    def build(cls, name: str, children: list[Behaviour], ctx: Any, params: dict) -> Behaviour:
        """The py_trees behaviour for one loaded node of this type."""
        raise NotImplementedError


_MEMORY = boolean("true: resume at the running child; false: re-check earlier children every tick",
                  default=True)


class _InOrder(ControlNode):
    """Base of Sequence and Selector: children ticked in order, `memory` passed on."""

    KIND = "composite"
    PARAMS = {"memory": _MEMORY}
    SHOWN = ("memory",)
    BEHAVIOUR: ClassVar[type] = py_trees.composites.Sequence

    @classmethod
    def build(cls, name, children, ctx, params):
        return cls.BEHAVIOUR(name, memory=params["memory"], children=children)


class Sequence(_InOrder):
    """Runs children in order; FAILURE at the first that fails, SUCCESS when all succeed."""

    BEHAVIOUR = py_trees.composites.Sequence


class Selector(_InOrder):
    """Runs children in order until one does not fail; FAILURE if all fail."""

    BEHAVIOUR = py_trees.composites.Selector


class Parallel(ControlNode):
    """Ticks all children every tick; policy all: SUCCESS when all succeed, one: SUCCESS when
    one succeeds; FAILURE when any fails."""

    KIND = "composite"
    PARAMS = {"policy": string("all | one", enum=["all", "one"], default="all")}
    SHOWN = ("policy",)

    @classmethod
    def build(cls, name, children, ctx, params):
        policy = (py_trees.common.ParallelPolicy.SuccessOnAll(synchronise=True) if params["policy"] == "all"
                  else py_trees.common.ParallelPolicy.SuccessOnOne())
        return py_trees.composites.Parallel(name, policy=policy, children=children)


class Repeat(ControlNode):
    """Runs its child again each time it succeeds, `times` times (default forever); FAILURE as
    soon as the child fails."""

    KIND = "decorator"
    PARAMS = {"times": integer("how many successful runs (default: forever)", minimum=1, random=False)}
    SHOWN = ("times",)

    @classmethod
    def build(cls, name, children, ctx, params):
        return decorators.Repeat(name, children[0], ctx, times=params.get("times"))


class Retry(ControlNode):
    """Runs its child again when it fails, up to `attempts` runs, waiting `delay` between;
    SUCCESS as soon as it succeeds."""

    KIND = "decorator"
    PARAMS = {"attempts": integer("how many runs at most", minimum=1, random=False),
              "delay": duration("pause before each new attempt", default=0)}
    REQUIRED = ("attempts",)
    SHOWN = ("attempts", "delay")

    @classmethod
    def build(cls, name, children, ctx, params):
        return decorators.Retry(name, children[0], ctx, attempts=params["attempts"], delay=params["delay"])


class Timeout(ControlNode):
    """FAILURE (and the child is stopped) if the child is still RUNNING `after` the decorator
    started; otherwise the child's result."""

    KIND = "decorator"
    PARAMS = {"after": duration("time limit on the engine clock")}
    REQUIRED = ("after",)
    SHOWN = ("after",)

    @classmethod
    def build(cls, name, children, ctx, params):
        return decorators.Timeout(name, children[0], ctx, after=params["after"])


class _StatusMap(ControlNode):
    """Base of the decorators that map the child's status (py_trees does the mapping)."""

    KIND = "decorator"
    BEHAVIOUR: ClassVar[type] = py_trees.decorators.Inverter

    @classmethod
    def build(cls, name, children, ctx, params):
        return cls.BEHAVIOUR(name, children[0])


class Inverter(_StatusMap):
    """SUCCESS <-> FAILURE; RUNNING stays RUNNING."""

    BEHAVIOUR = py_trees.decorators.Inverter


class ForceSuccess(_StatusMap):
    """FAILURE becomes SUCCESS; RUNNING stays RUNNING."""

    BEHAVIOUR = py_trees.decorators.FailureIsSuccess


class ForceFailure(_StatusMap):
    """SUCCESS becomes FAILURE; RUNNING stays RUNNING."""

    BEHAVIOUR = py_trees.decorators.SuccessIsFailure


class Once(ControlNode):
    """Runs its child until it has succeeded once (until: success) or finished once (until:
    completion); afterwards returns that result without ticking it."""

    KIND = "decorator"
    PARAMS = {"until": string("success | completion", enum=["success", "completion"], default="success")}
    SHOWN = ("until",)

    @classmethod
    def build(cls, name, children, ctx, params):
        return decorators.Once(name, children[0], ctx, until=params["until"])


class RateLimit(ControlNode):
    """Starts its child at most once per `every`. When too early: RUNNING until the next slot
    (when_limited: wait) or FAILURE (fail)."""

    KIND = "decorator"
    PARAMS = {"every": duration("minimum time between two starts of the child"),
              "when_limited": string("wait | fail", enum=["wait", "fail"], default="wait")}
    REQUIRED = ("every",)
    SHOWN = ("every", "when_limited")

    @classmethod
    def build(cls, name, children, ctx, params):
        return decorators.RateLimit(name, children[0], ctx, every=params["every"],
                                    when_limited=params["when_limited"])


class Subtree(ControlNode):
    """Inserts a named subtree: `use: name` (this file), `alias.name` or `alias.root` (an
    imported file); `with:` overrides its params."""

    KIND = "subtree"
    PARAMS = {"use": {"type": "string", "description": "name, alias.name or alias.root", "x-ref": False},
              "with": {"type": "object", "description": "parameter overrides for this use", "x-ref": False}}
    REQUIRED = ("use",)
    SHOWN = ("use",)

    @classmethod
    def build(cls, name, children, ctx, params):
        return decorators.Subtree(name, children[0])


# In the order the engine has always listed them.
CONTROL_NODES: tuple[type[ControlNode], ...] = (
    Sequence, Selector, Parallel, Repeat, Retry, Timeout, Inverter, ForceSuccess, ForceFailure,
    Once, RateLimit, Subtree,
)
