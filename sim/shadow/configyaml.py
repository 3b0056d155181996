"""YAML as Shadow reads its config (serde_yaml: YAML 1.2 core types, plus anchors, aliases and
`<<` merge keys), keeping the line and column of every key and value for the checker.

Mappings come back as `YMap` (a dict with `.pos` and `.key_pos`), lists as `YList` (a list with
`.pos`); scalars as str, int, float, bool or None. Problems (syntax, duplicate keys, tags,
recursive aliases, bad merges) are raised together as `YamlError`.
"""
from __future__ import annotations

import math
import re

import yaml
from yaml.nodes import MappingNode, ScalarNode, SequenceNode

from lang.errors import InputError

__all__ = ["YMap", "YList", "YamlError", "load_config_yaml"]

_STR, _SEQ, _MAP = "tag:yaml.org,2002:str", "tag:yaml.org,2002:seq", "tag:yaml.org,2002:map"
_DEFAULT = {ScalarNode: _STR, SequenceNode: _SEQ, MappingNode: _MAP}


class _Loader(getattr(yaml, "CBaseLoader", yaml.BaseLoader)):   # libyaml when present
    """Composes nodes only; untagged nodes get the default tag (types are resolved by `scalar`)."""

    def resolve(self, kind, value, implicit):
        return _DEFAULT[kind]
_INT = re.compile(r"[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+")
_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
_INF = re.compile(r"[-+]?\.(inf|Inf|INF)")
_NAN = re.compile(r"\.(nan|NaN|NAN)")
_NULLS = ("", "~", "null", "Null", "NULL")
_TRUE, _FALSE = ("true", "True", "TRUE"), ("false", "False", "FALSE")


class YMap(dict):
    """A mapping with positions: `pos` (line, col) of the mapping, `key_pos[key]`, `value_pos[key]`."""

    __slots__ = ("pos", "key_pos", "value_pos")


class YList(list):
    """A list with positions: `pos` of the list, `item_pos[i]`."""

    __slots__ = ("pos", "item_pos")


class YamlError(InputError):
    """[(line, col, message)] that stop the config from loading."""

    def __init__(self, problems: list[tuple[int, int, str]]):
        self.problems = problems
        super().__init__("; ".join(f"{line}:{col}: {msg}" for line, col, msg in problems))


def _pos(node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def scalar(node: ScalarNode):
    """A scalar node's value under YAML 1.2's core schema (quoted scalars are strings)."""
    text = node.value
    if node.style not in (None, ""):      # libyaml marks plain scalars "", PyYAML None
        return text
    if text in _NULLS:
        return None
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    if _INT.fullmatch(text):
        base = {"0o": 8, "0x": 16}.get(text[:2])
        return int(text[2:], base) if base else int(text, 10)
    if _FLOAT.fullmatch(text):
        return float(text)
    if _INF.fullmatch(text):
        return -math.inf if text.startswith("-") else math.inf
    if _NAN.fullmatch(text):
        return math.nan
    return text


class _Builder:
    def __init__(self):
        self.problems: list[tuple[int, int, str]] = []
        self.done: dict[int, object] = {}       # id(node) -> value: aliases share their value
        self.active: set[int] = set()

    def build(self, node):
        if node.tag != _DEFAULT[type(node)]:
            line, col = _pos(node)
            self.problems.append((line, col, f"YAML tags are not supported ({node.tag})"))
            return None
        if isinstance(node, ScalarNode):
            return scalar(node)
        key = id(node)
        if key in self.done:
            return self.done[key]
        if key in self.active:
            line, col = _pos(node)
            self.problems.append((line, col, "recursive alias"))
            return None
        self.active.add(key)
        try:
            value = self._list(node) if isinstance(node, SequenceNode) else self._map(node)
        finally:
            self.active.discard(key)
        self.done[key] = value
        return value

    def _list(self, node: SequenceNode) -> YList:
        out = YList(self.build(item) for item in node.value)
        out.pos, out.item_pos = _pos(node), [_pos(item) for item in node.value]
        return out

    def _map(self, node: MappingNode) -> YMap:
        out = YMap()
        out.pos, out.key_pos, out.value_pos = _pos(node), {}, {}
        merged: list[YMap] = []
        for key_node, value_node in node.value:
            line, col = _pos(key_node)
            if isinstance(key_node, ScalarNode) and key_node.style in (None, "") and key_node.value == "<<":
                merged += self._merge_sources(value_node)
                continue
            if not isinstance(key_node, ScalarNode):
                self.problems.append((line, col, "a key must be a scalar, not a list or mapping"))
                continue
            key = self.build(key_node)
            if key in out.key_pos:
                first = out.key_pos[key][0]
                self.problems.append((line, col, f"duplicate key {key!r} (first at line {first})"))
                continue
            out[key] = self.build(value_node)
            out.key_pos[key], out.value_pos[key] = (line, col), _pos(value_node)
        for source in merged:                    # explicit keys win, then earlier sources
            for key, value in source.items():
                if key not in out.key_pos:
                    out[key] = value
                    out.key_pos[key], out.value_pos[key] = source.key_pos[key], source.value_pos[key]
        return out

    def _merge_sources(self, node) -> list[YMap]:
        items = node.value if isinstance(node, SequenceNode) else [node]
        out = []
        for item in items:
            value = self.build(item)
            if not isinstance(value, YMap):
                line, col = _pos(item)
                self.problems.append((line, col, "a merge key (<<) takes a mapping or a list of mappings"))
                continue
            out.append(value)
        return out


def load_config_yaml(text: str):
    """The single document in `text`. Raises YamlError."""
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise YamlError([(line, col, f"YAML syntax error: {(exc.problem or exc.context or '').strip()}")]) \
            from None
    except yaml.YAMLError as exc:
        raise YamlError([(1, 1, f"YAML error: {str(exc).splitlines()[0]}")]) from None
    if node is None:
        raise YamlError([(1, 1, "the file is empty")])
    builder = _Builder()
    data = builder.build(node)
    if builder.problems:
        raise YamlError(builder.problems)
    return data
