"""The behaviour-tree engine. `from engine import Factory` loads, builds and runs trees.

Factory is imported on first use, so a module that needs only the clocks (engine.clock) does not
load the tree language.
"""
from __future__ import annotations

from typing import Any

__all__ = ["Factory"]


def __getattr__(name: str) -> Any:
    if name == "Factory":
        from .factory import Factory
        return Factory
    raise AttributeError(f"module 'engine' has no attribute {name!r}")
