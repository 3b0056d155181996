"""engine.Factory: the one way in to the tree language. It holds a catalogue of node types (the
engine's and the leaves of a registry), loads a tree from a file or from text, builds it into
py_trees behaviours or a ready Agent, and gives the editor schema.

Catalogues are built once per process for each set of plugins: `Factory.for_plugins()`.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Iterable

from py_trees.behaviour import Behaviour

from behaviours.registry import BehaviourRegistry

from .build import build
from .clock import Clock
from .language import TreeLoader
from .runner import Agent
from .schema import Catalogue, engine_registry
from .spec import Tree

__all__ = ["Factory"]


class Factory:
    """Loads and builds trees with one catalogue (default: the engine's node types, the
    built-in leaves and the entry-point plugins)."""

    _BY_PLUGINS: ClassVar[dict[tuple, "Factory"]] = {}

    def __init__(self, registry: BehaviourRegistry | None = None):
        self.catalogue = Catalogue(registry)

    @classmethod
    def for_plugins(cls, plugins: Iterable[str] = (), *, entry_points: bool = True) -> "Factory":
        """The factory whose catalogue adds the plugin modules named (entry points too unless
        `entry_points` is false), built on first use and shared afterwards. Raises
        behaviours.registry.RegistryError when a plugin cannot be loaded."""
        key = (tuple(plugins), entry_points)
        found = cls._BY_PLUGINS.get(key)
        if found is None:
            found = cls._BY_PLUGINS[key] = cls(engine_registry(key[0], entry_points=entry_points))
        return found

    def load(self, path: str | Path, overrides: dict[str, Any] | None = None, *,
             require_root: bool = True) -> Tree:
        """The tree in the file at `path` with `overrides` (--param / scenario). Raises LoadError."""
        return TreeLoader(self.catalogue).load(Path(path), overrides or {}, require_root)

    def load_text(self, text: str, file: str = "<string>", overrides: dict[str, Any] | None = None, *,
                  require_root: bool = True) -> Tree:
        """The tree in `text`; messages call it `file`, imports are relative to `file`'s folder.
        Raises LoadError."""
        return TreeLoader(self.catalogue).load_text(text, file, overrides or {}, require_root)

    def build(self, tree: Tree, ctx: Any) -> Behaviour:
        """The py_trees behaviours of a loaded tree, bound to the agent context `ctx`."""
        if tree.root is None:
            raise ValueError(f"{tree.file}: the tree has no root")
        return build(tree.root, ctx, self.catalogue)

    def agent(self, tree: Tree, ctx: Any, clock: Clock, **options: Any) -> Agent:
        """An Agent ticking `tree` (options: idle, seed, state, status; see engine.runner.Agent)."""
        return Agent(tree, ctx, clock, self.catalogue, **options)

    def schema(self) -> dict:
        """The JSON Schema of a tree file with this catalogue's node types."""
        return self.catalogue.schema()
