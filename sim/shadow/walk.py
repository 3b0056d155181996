"""Walking a Shadow config's YAML against typed rules: each problem found is kept with the
position of the key or value it is about (see `sim.shadow.check`)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lang.errors import Problem, did_you_mean, kind_of

from sim.shadow.configyaml import YList, YMap
from sim.shadow.rules import BITS, BYTES, SCALAR_OK, STRING_NULL, TIME, TIME_NULL, WORDS
from sim.scenario.units import UnitError, parse_bits, parse_bytes, parse_time_ns

__all__ = ["RuleWalker", "Summary", "join"]


@dataclass
class Summary:
    """What a config that passes holds; `line()` is what `monerosim check-shadow` prints."""

    hosts: int = 0
    processes: int = 0
    nodes: int = 0
    edges: int = 0
    stop_time_ns: int | None = None

    def line(self, file: str) -> str:
        stop = f", stop_time {self.stop_time_ns // 10 ** 9} s" if self.stop_time_ns is not None else ""
        return (f"{file}: ok: {_n(self.hosts, 'host')}, {_n(self.processes, 'process')}, graph of "
                f"{_n(self.nodes, 'node')} and {_n(self.edges, 'edge')}{stop}")


class RuleWalker:
    """Problems of one config file: `add` one at a YAML position, `keys`/`value`/`fields` check
    a mapping, a typed value or a table of typed values."""

    def __init__(self, file: str, base: Path):
        self.file, self.base = file, base
        self.problems: list[Problem] = []
        self.summary = Summary()

    def add(self, parent, key, path: str, rule: str, message: str, *, at_key: bool = False) -> None:
        if isinstance(parent, YMap) and key in parent.key_pos:
            line, col = parent.key_pos[key] if at_key else parent.value_pos[key]
        elif isinstance(parent, YList) and isinstance(key, int) and key < len(parent.item_pos):
            line, col = parent.item_pos[key]
        else:
            line, col = getattr(parent, "pos", (1, 1))
        self.problems.append(Problem(self.file, line, col, path, f"{rule}: {message}"))

    def keys(self, mapping, path: str, allowed, required=(), *, extensions: bool = False) -> bool:
        """Unknown and missing keys of `mapping`; False if it is not a mapping."""
        if not isinstance(mapping, YMap):
            return False
        for key in mapping:
            if key not in allowed and not (extensions and isinstance(key, str) and key.startswith("x-")):
                hint = did_you_mean(str(key), allowed) or f" (allowed: {', '.join(allowed)})"
                self.add(mapping, key, join(path, key), "unknown key", f"{key!r}{hint}", at_key=True)
        for key in required:
            if key not in mapping:
                self.add(mapping, None, path or "(top)", "missing key", f"{key!r} is required")
        return True

    def value(self, parent, key, path: str, kind):
        """Check one typed value; returns it converted (ns, bits, …) or None if it is wrong."""
        value = parent[key]
        where = join(path, key)
        if isinstance(kind, tuple):
            if value not in kind or isinstance(value, bool):
                self.add(parent, key, where, "type", f"expected one of {', '.join(map(str, kind))}, got {value!r}")
            return value
        if value is None and kind in (TIME_NULL, STRING_NULL):
            return None
        if kind in (TIME, TIME_NULL, BITS, BYTES):
            parse = {BITS: parse_bits, BYTES: parse_bytes}.get(kind, parse_time_ns)
            try:
                return parse(value)
            except UnitError as exc:
                self.add(parent, key, where, "units", str(exc))
                return None
        if not SCALAR_OK[kind](value):
            self.add(parent, key, where, "type", f"expected {WORDS[kind]}, got {kind_of(value)}")
            return None
        return value

    def fields(self, mapping, path: str, table: dict, required=()) -> dict:
        if not self.keys(mapping, path, tuple(table), required):
            self.add_type(mapping, path, "a mapping")
            return {}
        return {key: self.value(mapping, key, path, table[key]) for key in mapping if key in table}

    def add_type(self, value, path: str, expected: str) -> None:
        self.problems.append(Problem(self.file, *getattr(value, "pos", (1, 1)), path,
                                     f"type: expected {expected}, got {kind_of(value)}"))

def _n(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "es" if word.endswith("s") else "s")



def join(path: str, key) -> str:
    return f"{path}.{key}" if path else str(key)
