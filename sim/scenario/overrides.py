"""`--seed N` and `--param KEY=VALUE`: changes to a scenario given on the command line.

KEY is dotted. Its first part names a group (`user.count=50`) or a top-level scenario key
(`duration=30m`, `daemons.peers=8`, `network.latency.eu.us=80ms`). After a group's name comes one
of the group's keys (`count`, `start`, `region`, ...) or, for any other name, a param of its tree:
`pool.hashrate=[60,40]` is `groups[<pool>].params.hashrate`. A part made of digits indexes a
list (`pool.hashrate.0=70`). VALUE is strict YAML, as tree-runner's `--param`.

The changed scenario is then checked exactly like the file: every problem in an overridden value
names its option (`--param user.count=x: groups[2].count: expected a whole number, got a string`).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from lang.errors import LoadError, UsageError, did_you_mean
from lang.yamlload import Document, format_path, parse_value

from sim.scenario.schema import GROUP_SCHEMA, SCHEMA

__all__ = ["Override", "parse_override", "apply_overrides", "seed_override", "shown"]

_GROUP_KEYS = tuple(GROUP_SCHEMA["properties"])
_TOP_KEYS = tuple(k for k in SCHEMA["properties"] if k != "groups")


@dataclass(frozen=True)
class Override:
    """One `--param KEY=VALUE`: the key as given, its value, and the option's own text."""

    key: str
    value: Any
    option: str

    def as_argv(self) -> list[str]:
        return ["--param", self.option.split(" ", 1)[1]]


def shown(value: Any) -> str:
    """A value as a person reads it in a label or a table: a string as it is, else JSON."""
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))


def parse_override(text: str, option: str = "--param") -> Override:
    """`KEY=VALUE` as an Override; UsageError (exit 2) when it is not one."""
    key, eq, raw = text.partition("=")
    shown = f"{option} {text}"
    if not eq or not key.strip():
        raise UsageError(f"{shown}: expected KEY=VALUE, e.g. user.count=50 or pool.hashrate=[60,40]")
    parts = key.split(".")
    if any(not part for part in parts):
        raise UsageError(f"{shown}: {key!r} has an empty part between dots")
    try:
        value = parse_value(raw, shown)
    except LoadError as exc:
        raise UsageError(f"{shown}: the value is not YAML: {exc.problems[0].message}") from None
    return Override(key, value, shown)


def seed_override(seed: str) -> Override:
    """`--seed N`: the scenario's `seed` (checked by the schema: a whole number ≥ 0)."""
    try:
        value: Any = int(seed)
    except ValueError:
        value = seed
    return Override("seed", value, f"--seed {seed}")


def apply_overrides(doc: Document, overrides: list[Override]) -> None:
    """Set each override in `doc.data` (in order; a later one wins) and mark it in `doc`, so that
    problems found there name the option. UsageError for a key that addresses nothing."""
    for override in overrides:
        path = _path(doc.data, override)
        _set(doc.data, path, override)
        doc.mark_override(path, override.option)


def _path(data: dict, override: Override) -> tuple:
    """The scenario path that `override.key` addresses."""
    parts: list[Any] = [int(p) if p.isdigit() else p for p in override.key.split(".")]
    groups = [g.get("name") for g in data.get("groups") or [] if isinstance(g, dict)]
    head = parts[0]
    if head in groups:
        rest = parts[1:]
        if not rest:
            raise UsageError(f"{override.option}: name a key of group {head!r} ({', '.join(_GROUP_KEYS)}) "
                             "or a param of its tree after the dot, e.g. "
                             f"{head}.count=10")
        where = ("groups", groups.index(head))
        return where + tuple(rest) if rest[0] in _GROUP_KEYS else where + ("params",) + tuple(rest)
    if head in _TOP_KEYS:
        return tuple(parts)
    names = [str(g) for g in groups] + list(_TOP_KEYS)
    raise UsageError(f"{override.option}: {head!r} is neither a group of the scenario ("
                     f"{', '.join(map(str, groups))}) nor a scenario key"
                     f"{did_you_mean(str(head), names) or ''}")


def _set(data: Any, path: tuple, override: Override) -> None:
    """Set `path` to the override's value, making the mappings on the way that are missing."""
    node = data
    for depth, part in enumerate(path):
        last = depth == len(path) - 1
        so_far = format_path(path[:depth]) or "the scenario"
        if isinstance(node, list):
            if not isinstance(part, int) or not 0 <= part < len(node):
                raise UsageError(f"{override.option}: {so_far} is a list of {len(node)}: "
                                 f"{part!r} is not one of its indexes (0-{len(node) - 1})")
        elif isinstance(node, dict):
            if not last and node.get(part) is None:
                node[part] = {}
        else:
            raise UsageError(f"{override.option}: {so_far} is a single value; {part!r} is not in it")
        if last:
            node[part] = override.value
        else:
            node = node[part]
