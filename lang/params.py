"""Parameter schema helpers for leaves: each returns the JSON Schema of one parameter value.

Extension keywords (editors ignore them):
  x-kind: "duration" (normalised to seconds at load) | "key" (a blackboard key name)
  x-random: true  -> the value may be a distribution, re-drawn each time the leaf starts
  x-ref: false    -> the value may not be a "{key}" blackboard reference
"""
from __future__ import annotations

from typing import Any

from lang.values import BB_KEY_PATTERN, BB_PATH_PATTERN, DURATION_PATTERN

__all__ = ["duration", "number", "integer", "string", "boolean", "key", "path_key", "mapping", "anything"]


def _param(schema: dict, doc: str, default: Any, random_: bool, ref: bool) -> dict:
    schema = {"description": doc, **schema}
    if default is not None:
        schema["default"] = default
    if random_:
        schema["x-random"] = True
    if not ref:
        schema["x-ref"] = False
    return schema


def duration(doc: str, *, default: Any = None, random: bool = True) -> dict:
    """A duration: a number of seconds or a string with units (250ms, 30s, 5m, 2h, 1d)."""
    return _param({"x-kind": "duration", "anyOf": [
        {"type": "number", "minimum": 0},
        {"type": "string", "pattern": DURATION_PATTERN},
    ]}, doc, default, random, True)


def number(doc: str, *, default: Any = None, minimum: float | None = None,
           maximum: float | None = None, exclusive_minimum: float | None = None,
           random: bool = True) -> dict:
    """A number (int or float) with optional bounds."""
    return _param(_bounded("number", minimum=minimum, exclusiveMinimum=exclusive_minimum, maximum=maximum),
                  doc, default, random, True)


def integer(doc: str, *, default: Any = None, minimum: int | None = None,
            maximum: int | None = None, random: bool = True) -> dict:
    """An integer with optional bounds."""
    return _param(_bounded("integer", minimum=minimum, maximum=maximum), doc, default, random, True)


def _bounded(kind: str, **bounds: Any) -> dict:
    """{"type": kind} with the JSON Schema bounds that are given."""
    return {"type": kind, **{name: value for name, value in bounds.items() if value is not None}}


def string(doc: str, *, default: Any = None, enum: list | None = None,
           pattern: str | None = None, random: bool = False) -> dict:
    """A string, optionally one of `enum` or matching `pattern`."""
    schema: dict = {"type": "string", "minLength": 1}
    if enum is not None:
        schema = {"enum": list(enum)}
    elif pattern is not None:
        schema["pattern"] = pattern
    return _param(schema, doc, default, random, True)


def boolean(doc: str, *, default: Any = None, random: bool = False) -> dict:
    """true or false (YAML's yes/no/on/off are strings, not booleans)."""
    return _param({"type": "boolean"}, doc, default, random, True)


def key(doc: str, *, default: Any = None) -> dict:
    """The name of a blackboard key (letters, digits, _), e.g. `output: last_tx`."""
    return _param({"x-kind": "key", "type": "string", "pattern": BB_KEY_PATTERN},
                  doc, default, False, False)


def path_key(doc: str) -> dict:
    """A blackboard key, optionally with fields: `shop` or `shop.address`."""
    return _param({"x-kind": "key", "type": "string", "pattern": BB_PATH_PATTERN},
                  doc, None, False, False)


def mapping(doc: str, *, default: Any = None, random: bool = False) -> dict:
    """A mapping of names to values. Values may be "{key}" references and, with `random`,
    distributions (each re-drawn when the leaf starts)."""
    return _param({"type": "object"}, doc, default, random, True)


def anything(doc: str, *, default: Any = None, random: bool = True) -> dict:
    """Any YAML value."""
    return _param({}, doc, default, random, True)
