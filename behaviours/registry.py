"""The registry of node types: the engine's composites, decorators and Subtree (handed in by the
engine, registered first), the built-in leaf modules, the `monerosim.behaviours` entry-point
group, and plugin modules named on the command line. The engine builds its JSON Schema from it,
so a new leaf extends the tree language without touching the engine.
"""
from __future__ import annotations

import importlib
import inspect
from types import ModuleType
from typing import Iterable, Iterator

from lang.errors import InputError

from .base import Leaf

__all__ = ["ENTRY_POINT_GROUP", "BUILTIN_MODULES", "CONTROL_KINDS", "BehaviourRegistry", "RegistryError",
           "default_registry", "node_kind"]

ENTRY_POINT_GROUP = "monerosim.behaviours"
# Modules whose Leaf subclasses are built in (Monero leaves join this list).
BUILTIN_MODULES: tuple[str, ...] = (
    "behaviours.core", "behaviours.daemon", "behaviours.wallet", "behaviours.peers",
    "behaviours.mining", "behaviours.payments", "behaviours.shop", "behaviours.p2p",
    "behaviours.selfish", "behaviours.flood",
)


# What an engine node type declares as its KIND; a Leaf subclass is of kind "leaf".
CONTROL_KINDS = ("composite", "decorator", "subtree")


def node_kind(cls: type) -> str:
    """"leaf" for a Leaf subclass, else the KIND the class declares."""
    return "leaf" if issubclass(cls, Leaf) else getattr(cls, "KIND", "")


class RegistryError(InputError):
    """A plugin could not be loaded, or two leaves claim the same type name."""


class BehaviourRegistry:
    """Node classes by YAML type name, with where each came from.

    `control_nodes` are the engine's composites, decorators and Subtree (classes declaring a
    KIND from CONTROL_KINDS and a `build` classmethod); they are registered first, so a leaf
    cannot take their names.
    """

    def __init__(self, control_nodes: Iterable[type] = ()):
        self._nodes: dict[str, type] = {}
        self._origin: dict[str, str] = {}
        for cls in control_nodes:
            self.register(cls)

    def register(self, cls: type, origin: str | None = None) -> type:
        """Add `cls` under its type name; RegistryError if the name is taken."""
        control = inspect.isclass(cls) and getattr(cls, "KIND", None) in CONTROL_KINDS \
            and callable(getattr(cls, "build", None))
        if not control and not (inspect.isclass(cls) and issubclass(cls, Leaf)):
            raise RegistryError(f"{cls!r} is not a behaviours.base.Leaf subclass")
        name = cls.type_name()
        origin = origin or cls.__module__
        taken = self._nodes.get(name)
        if taken is not None and taken is not cls and node_kind(taken) != "leaf":
            raise RegistryError(f"{origin}: leaf type {name!r} is a built-in composite or decorator")
        if taken is not None and taken is not cls:
            raise RegistryError(f"{origin}: leaf type {name!r} is already defined by {self._origin[name]}")
        self._nodes[name] = cls
        self._origin[name] = origin
        return cls

    def register_module(self, module: ModuleType | str, origin: str | None = None) -> list[str]:
        """Register every Leaf subclass defined in `module` (or listed in its LEAVES)."""
        if isinstance(module, str):
            try:
                module = importlib.import_module(module)
            except Exception as exc:  # noqa: BLE001 - report any plugin import failure
                raise RegistryError(f"cannot import plugin module {module!r}: {type(exc).__name__}: {exc}") from exc
        leaves = getattr(module, "LEAVES", None)
        if leaves is None:
            leaves = [obj for obj in vars(module).values()
                      if inspect.isclass(obj) and issubclass(obj, Leaf) and obj is not Leaf
                      and obj.__module__ == module.__name__ and not inspect.isabstract(obj)
                      and not obj.__name__.startswith("_")]
        return [self.register(cls, origin or module.__name__).type_name() for cls in leaves]

    def load_entry_points(self) -> list[str]:
        """Register what the `monerosim.behaviours` entry points name (a Leaf class or a module)."""
        from importlib.metadata import entry_points
        names: list[str] = []
        for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
            try:
                target = ep.load()
            except Exception as exc:  # noqa: BLE001
                raise RegistryError(f"entry point {ep.name} = {ep.value}: {type(exc).__name__}: {exc}") from exc
            origin = f"entry point {ep.name} ({ep.value})"
            if inspect.ismodule(target):
                names += self.register_module(target, origin)
            else:
                names.append(self.register(target, origin).type_name())
        return names

    def get(self, name: str) -> type | None:
        return self._nodes.get(name)

    def origin(self, name: str) -> str:
        return self._origin[name]

    def __contains__(self, name: object) -> bool:
        return name in self._nodes

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._nodes))

    def __len__(self) -> int:
        return len(self._nodes)

    def items(self) -> list[tuple[str, type]]:
        """Every node type: the engine's in the order registered, then the leaves by name."""
        return self.control_nodes() + self.leaves()

    def control_nodes(self) -> list[tuple[str, type]]:
        """The engine's node types (composites, decorators, Subtree), in the order registered."""
        return [(n, c) for n, c in self._nodes.items() if node_kind(c) != "leaf"]

    def leaves(self) -> list[tuple[str, type[Leaf]]]:
        """The leaf types, by name."""
        return sorted((n, c) for n, c in self._nodes.items() if node_kind(c) == "leaf")


def default_registry(plugins: Iterable[str] = (), *, entry_points: bool = True,
                     control_nodes: Iterable[type] = ()) -> BehaviourRegistry:
    """`control_nodes`, built-in leaves, then entry-point plugins, then `plugins` (module names)."""
    registry = BehaviourRegistry(control_nodes)
    for module in BUILTIN_MODULES:
        registry.register_module(module)
    if entry_points:
        registry.load_entry_points()
    for module in plugins:
        registry.register_module(module)
    return registry
