"""The leaf base class and the agent context the engine hands every leaf.

A leaf is a small py_trees behaviour that declares, as class attributes, its YAML type name,
the JSON Schema of its parameters, the blackboard keys it reads and writes, what a rendering
shows, and the RPC calls it makes. The engine validates and substitutes parameters before it
builds the leaf; the leaf resolves distributions and blackboard references each time it
starts (`self.args`). A leaf reaches the clock, RNG, journal, shared files and RPC clients only
through `self.ctx` (an AgentContext), so a test can hand it a context made by hand.

Leaves never import the engine.
"""
from __future__ import annotations

import random
from typing import Any, ClassVar

import py_trees
from py_trees.common import Access, Status

from .context import AgentContext, MemoryJournal, MissingEndpoint
from lang import events
from lang.params import anything, boolean, duration, integer, key, mapping, number, path_key, string
from lang.values import BlackboardRef, Distribution, parse_duration, refs_in

__all__ = [
    "Leaf", "AgentContext", "Args", "MemoryJournal", "MissingEndpoint", "Status", "LOOKS_UP",
    "PUBLISHES",
    "duration", "number", "integer", "string", "boolean", "key", "path_key", "mapping", "anything",
]


# ---------------------------------------------------------------- the leaf base class

LOOKS_UP, PUBLISHES = "looks up", "publishes"   # what a leaf does with a role (ROLES)

class Args(dict):
    """A leaf's resolved parameters: `self.args.duration` or `self.args["duration"]`."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"no parameter {name!r}") from None


def _rpc_error_class() -> type:
    """rpc_client's RpcError: a leaf's failure of this kind is journaled as rpc_failed.
    Imported here, not at the top: loading requests before the rest of the engine made
    tree-runner's start ~30 ms slower (bench engine.startup)."""
    from rpc_client.errors import RpcError
    return RpcError


class Leaf(py_trees.behaviour.Behaviour):
    """Base of every leaf node.

    Subclasses set the class attributes below and implement `update()` (and, if they need,
    `initialise()`, `terminate()`, `shutdown()`) in py_trees style. Each time the leaf starts
    (its first tick after it was not RUNNING) `self.args` is rebuilt: distributions are
    re-drawn from the agent's RNG and "{key}" references re-read from the blackboard.

    An exception from `initialise()`/`update()` makes the leaf FAILURE and is journaled:
    `rpc_failed` (with the JSON-RPC `code` and `method`) for an rpc_client RpcError,
    `leaf_failed` otherwise. The agent goes on.
    """

    TYPE: ClassVar[str] = ""                 # YAML node type (default: the class name)
    PARAMS: ClassVar[dict[str, dict]] = {}    # parameter name -> JSON Schema (see helpers above)
    REQUIRED: ClassVar[tuple[str, ...]] = ()  # parameters that must be given
    INPUTS: ClassVar[tuple[str, ...]] = ()    # parameters naming blackboard keys the leaf reads
    OUTPUTS: ClassVar[dict[str, str]] = {}    # parameter naming a key the leaf writes -> what
    SHOWN: ClassVar[tuple[str, ...]] = ()     # parameters shown in renderings
    RPC: ClassVar[tuple[str, ...]] = ()       # RPC calls made, e.g. "daemon.get_info"
    DURABLE: ClassVar[tuple[str, ...]] = ()   # output parameters whose keys survive a restart
    ROLES: ClassVar[dict[str, str]] = {}      # parameter naming a role -> LOOKS_UP or PUBLISHES
    COUNTS: ClassVar[dict[str, str]] = {}     # parameter counting agents -> its role parameter

    def __init__(self, name: str | None = None, **params: Any):
        super().__init__(name=name or self.type_name())
        unknown = sorted(set(params) - set(self.PARAMS))
        if unknown:
            raise TypeError(f"{self.type_name()} has no parameter {', '.join(unknown)}")
        missing = [p for p in self.REQUIRED if p not in params]
        if missing:
            raise TypeError(f"{self.type_name()} needs {', '.join(missing)}")
        defaults = {p: s["default"] for p, s in self.PARAMS.items() if "default" in s and p not in params}
        for p in defaults:   # as the loader does: a duration default ("1s") becomes seconds
            if self.PARAMS[p].get("x-kind") == "duration":
                defaults[p] = parse_duration(defaults[p])
        self.params: dict[str, Any] = {**params, **defaults}
        self.args: Args = Args()
        self.ctx: AgentContext | None = None
        self.bb: py_trees.blackboard.Client | None = None

    # declarations
    @classmethod
    def type_name(cls) -> str:
        return cls.TYPE or cls.__name__

    @classmethod
    def roles(cls, params: dict, tree_role: str | None) -> list[tuple[str, str, str]]:
        """(LOOKS_UP or PUBLISHES, role, parameter) for these loaded params, from ROLES; a
        role given by parameter default counts too, a published role defaults to the tree's.
        Roles only known at run time (blackboard references) are left out."""
        found = []
        for pname, how in cls.ROLES.items():
            role = params.get(pname, cls.PARAMS.get(pname, {}).get("default"))
            if role is None and how == PUBLISHES:
                role = tree_role
            if isinstance(role, str):
                found.append((how, role, pname))
        return found

    @classmethod
    def parameter_schema(cls) -> dict:
        """JSON Schema of this leaf's parameter mapping (without the node-level `name`)."""
        schema: dict = {"type": "object", "properties": dict(cls.PARAMS), "additionalProperties": False}
        if cls.REQUIRED:
            schema["required"] = list(cls.REQUIRED)
        return schema

    @classmethod
    def summary(cls) -> str:
        """First line of the docstring."""
        return (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""

    # lifecycle
    def setup(self, **kwargs: Any) -> None:
        """Attach the agent context (`ctx=`) and register blackboard keys read and written."""
        ctx = kwargs.get("ctx")
        if ctx is None:
            return
        self.ctx = ctx
        self.bb = self.attach_blackboard_client(name=self.name, namespace=ctx.namespace)
        for ref_key in sorted(self.keys_read()):
            self.bb.register_key(key=ref_key, access=Access.READ)
        for out_key in sorted(self.keys_written()):
            self.bb.register_key(key=out_key, access=Access.WRITE)

    def keys_read(self) -> set[str]:
        keys = {str(self.params[p]).split(".")[0] for p in self.INPUTS if self.params.get(p)}
        for param, value in self.params.items():
            if param not in self.OUTPUTS and param not in self.INPUTS:
                keys.update(ref.key for ref in refs_in(value))
        return keys

    def keys_written(self) -> set[str]:
        return {self.params[p] for p in self.OUTPUTS if self.params.get(p)}

    def durable_keys(self) -> set[str]:
        """Blackboard keys the engine saves after each tick and restores when the agent
        restarts (the DURABLE outputs this tree names)."""
        return {self.params[p] for p in self.DURABLE if self.params.get(p)}

    def tick(self):
        """py_trees tick that turns an exception into FAILURE plus a journal entry."""
        try:
            if self.status != Status.RUNNING:
                self.args = self.resolve_args()
                self.initialise()
            new_status = self.update()
            if new_status not in (Status.SUCCESS, Status.FAILURE, Status.RUNNING):
                raise TypeError(f"update() returned {new_status!r}, not a py_trees Status")
        except Exception as exc:  # noqa: BLE001 - a leaf never kills the agent
            new_status = self.failed(exc)
        if new_status != Status.RUNNING:
            try:
                self.stop(new_status)
            except Exception as exc:  # noqa: BLE001 - terminate() raised
                new_status = self.failed(exc)
        self.status = new_status
        yield self

    def failed(self, exc: BaseException) -> Status:
        """Journal `exc` (rpc_failed / leaf_failed), log it, and return FAILURE."""
        rpc_error = _rpc_error_class()
        fields: dict[str, Any] = {"node": self.name, "type": self.type_name()}
        if rpc_error is not None and isinstance(exc, rpc_error):
            event = events.RPC_FAILED
            fields.update(method=getattr(exc, "method", None), code=getattr(exc, "code", None),
                          error=type(exc).__name__, message=getattr(exc, "message", str(exc)))
        else:
            event = events.LEAF_FAILED
            fields.update(error=type(exc).__name__, message=str(exc))
            code = getattr(exc, "code", None)
            if isinstance(code, int):
                fields["code"] = code
        self.feedback_message = f"{type(exc).__name__}: {exc}"
        if self.ctx is not None:
            self.ctx.logger.warning("%s %s failed: %s", self.type_name(), self.name, self.feedback_message)
            self.ctx.logger.debug("traceback", exc_info=exc)
            try:
                self.ctx.record(event, **fields)
            except Exception:  # noqa: BLE001 - an unwritable journal must not kill the agent
                self.ctx.logger.exception("could not journal %s", event)
        return Status.FAILURE

    # helpers for subclasses
    def resolve_args(self) -> Args:
        """Parameters for this run: distributions drawn, references read, durations in seconds."""
        args = Args()
        for param, value in self.params.items():
            if param in self.OUTPUTS or param in self.INPUTS:
                args[param] = value
                continue
            resolved = self._resolve(value)
            if isinstance(value, (BlackboardRef, Distribution)) and \
                    self.PARAMS.get(param, {}).get("x-kind") == "duration":
                resolved = parse_duration(resolved)
            args[param] = resolved
        return args

    def _resolve(self, value: Any) -> Any:
        if isinstance(value, Distribution):
            return self._resolve(value.draw(self._rng()))   # a choice may pick a "{key}"
        if isinstance(value, BlackboardRef):
            return self.read(value)
        if isinstance(value, dict):
            return {k: self._resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._resolve(v) for v in value]
        return value

    def _rng(self) -> random.Random:
        if self.ctx is None:
            raise RuntimeError(f"{self.name}: setup(ctx=...) was not called")
        return self.ctx.rng

    def draw(self, param: str) -> Any:
        """A fresh value of `param` (another draw if it is a distribution)."""
        return self._resolve(self.params[param])

    def read(self, ref: BlackboardRef | str) -> Any:
        """The blackboard value at `ref` ("key" or "key.field"); KeyError if it is not there."""
        if isinstance(ref, str):
            head, *fields = ref.strip("{}").split(".")
            ref = BlackboardRef(head, tuple(fields))
        if self.bb is None:
            raise RuntimeError(f"{self.name}: setup(ctx=...) was not called")
        if not self.bb.exists(ref.key):
            raise KeyError(f"blackboard has no {ref.key!r} (nothing has written it yet)")
        return ref.lookup(self.bb.get(ref.key))

    def write(self, param: str, value: Any) -> None:
        """Store `value` under the key named by output parameter `param` (if the tree set one)."""
        target = self.params.get(param)
        if target:
            self.bb.set(target, value, overwrite=True)

    def now(self) -> float:
        return self.ctx.now()

    def wake_at(self, when: float) -> Status:
        """Ask for the next tick at engine time `when`; returns RUNNING (`return self.wake_at(t)`)."""
        self.ctx.wake_at(when)
        return Status.RUNNING

    def wake_in(self, seconds: float) -> Status:
        """Ask for the next tick `seconds` from now; returns RUNNING."""
        return self.wake_at(self.ctx.now() + seconds)

    def record(self, event: str, /, **fields: Any) -> dict:
        """Append a domain event to the agent's journal: a built-in leaf's must be declared in
        lang.events; a plugin's leaf may also write events of its own (`ctx.record_own`)."""
        if type(self).__module__.partition(".")[0] == "behaviours":
            return self.ctx.record(event, **fields)
        return self.ctx.record_own(event, **fields)

    def shutdown(self) -> None:  # noqa: B027 - optional hook
        """Called once when the agent stops (SIGTERM/SIGINT or end of tree): release resources."""

