"""Strict YAML for tree files: positions for every value, no surprises.

- Only JSON-like data: mappings with string keys, lists, strings, numbers, true/false, null.
- YAML 1.1 surprises stay strings: `yes`, `no`, `on`, `off`, `010`, `0x1f`, `1_000`, `.inf`.
- Duplicate keys, tags (`!!python/object`, even `!!int`), several documents, recursive aliases,
  numbers too large for a float or past 2**63, and non-UTF-8 bytes are errors with a position.
- Bad input stays cheap: a file larger than MAX_BYTES or not a regular file (/dev/zero, a FIFO)
  is refused unread, and nesting deeper than MAX_DEPTH is refused while parsing (no
  RecursionError).
- `${param}` is allowed inside plain scalars even in flow context (`{duration: ${t}}`).
"""
from __future__ import annotations

import math
import os
import re
import stat
from pathlib import Path
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.nodes import MappingNode, ScalarNode, SequenceNode
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.resolver import BaseResolver
from yaml.scanner import ScalarToken, Scanner

from lang.errors import LoadError, Problem

__all__ = ["Document", "load_file", "load_text", "parse_value", "MAX_NODES", "MAX_DEPTH", "MAX_BYTES"]

MAX_NODES = 200_000   # values after alias expansion ("billion laughs" guard)
MAX_DEPTH = 100
MAX_BYTES = 2 ** 20   # 1 MiB: far above any real tree or scenario; PyYAML needs ~4 s per MiB
MAX_INT = 2 ** 63 - 1

_STR = "tag:yaml.org,2002:str"
_DEFAULT_TAGS = {ScalarNode: _STR, SequenceNode: "tag:yaml.org,2002:seq",
                 MappingNode: "tag:yaml.org,2002:map"}
_BREAK = "\0 \t\r\n\x85\u2028\u2029"
_INT = re.compile(r"[-+]?(0|[1-9][0-9]*)")
_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
_LEADING_ZERO = re.compile(r"[-+]?0[0-9]")  # 010, 007.5: YAML 1.1 octal-looking, kept as text
_PARAM_IN_PLAIN = re.compile(r"\$\{[A-Za-z0-9_.\-]*\}")


class _Scanner(Scanner):
    """PyYAML's scanner, except that `${...}` inside a plain scalar never ends it."""

    def scan_plain(self):
        chunks = []
        start_mark = self.get_mark()
        end_mark = start_mark
        indent = self.indent + 1
        spaces = []
        while True:
            length = 0
            if self.peek() == "#":
                break
            while True:
                ch = self.peek(length)
                if ch == "$" and self.peek(length + 1) == "{":
                    match = _PARAM_IN_PLAIN.match(self.prefix(length + 80)[length:])
                    if match:
                        length += match.end()
                        continue
                if ch in _BREAK or (ch == ":" and self.peek(length + 1) in _BREAK
                                    + (",[]{}" if self.flow_level else "")) \
                        or (self.flow_level and ch in ",?[]{}"):
                    break
                length += 1
            if length == 0:
                break
            self.allow_simple_key = False
            chunks.extend(spaces)
            chunks.append(self.prefix(length))
            self.forward(length)
            end_mark = self.get_mark()
            spaces = self.scan_plain_spaces(indent, start_mark)
            if not spaces or self.peek() == "#" or (not self.flow_level and self.column < indent):
                break
        return ScalarToken("".join(chunks), True, start_mark, end_mark)


class _TooDeep(Exception):
    def __init__(self, mark):
        super().__init__(mark)
        self.mark = mark


class _Loader(Reader, _Scanner, Parser, Composer, BaseResolver):
    """Composes nodes only; BaseResolver has no implicit resolvers, so every tag is default."""

    def __init__(self, stream: str):
        Reader.__init__(self, stream)
        _Scanner.__init__(self)
        Parser.__init__(self)
        Composer.__init__(self)
        BaseResolver.__init__(self)
        self._depth = -1

    def compose_node(self, parent, index):
        # PyYAML composes recursively: stop at the depth _Builder refuses anyway, before
        # Python's recursion limit turns `[[[[...` into a RecursionError.
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _TooDeep(self.peek_event().start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


class Document:
    """A loaded YAML document: `data` plus the line/column of every value and key."""

    def __init__(self, file: str, data: Any, values: dict, keys: dict):
        self.file = file
        self.data = data
        self._values = values
        self._keys = keys
        self._overrides: dict[tuple, str] = {}

    def mark_override(self, path: tuple, option: str) -> None:
        """The value at `path` came from the command line (`option`, e.g. `--param a.b=1`): a
        problem there or below names the option instead of a line of the file."""
        self._overrides[tuple(path)] = option

    def where(self, path: tuple, *, key: bool = False) -> tuple[int, int]:
        """(line, col), 1-based, of the value at `path` (or of its key); nearest ancestor if unknown."""
        path = tuple(path)
        while True:
            if key and path in self._keys:
                return self._keys[path]
            if path in self._values:
                return self._values[path]
            if not path:
                return (1, 1)
            path = path[:-1]
            key = False

    def problem(self, path: tuple, message: str, *, key: bool = False, shown: str | None = None) -> Problem:
        path = tuple(path)
        for depth in range(len(path), 0, -1):
            option = self._overrides.get(path[:depth])
            if option is not None:
                return Problem(option, 0, 0, shown if shown is not None else format_path(path), message)
        line, col = self.where(path, key=key)
        return Problem(self.file, line, col, shown if shown is not None else format_path(path), message)


def format_path(path: tuple) -> str:
    """('root', 'Sequence', 'children', 2, 'Wait') -> 'root.Sequence.children[2].Wait'."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def load_file(path: str | Path, shown: str | None = None) -> Document:
    """Read and parse a tree file. Raises LoadError (never a YAML or OS exception)."""
    shown = shown or str(path)
    try:
        mode = os.stat(path).st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(path)
        if not stat.S_ISREG(mode):      # /dev/zero never ends, a FIFO blocks
            raise LoadError.one(shown, 1, 1, "", "not a regular file")
        with open(path, "rb") as f:
            raw = f.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise LoadError.one(shown, 1, 1, "", "no such file") from None
    except IsADirectoryError:
        raise LoadError.one(shown, 1, 1, "", "is a directory, not a tree file") from None
    except OSError as exc:
        raise LoadError.one(shown, 1, 1, "", f"cannot read: {exc.strerror or exc}") from None
    if len(raw) > MAX_BYTES:
        raise LoadError.one(shown, 1, 1, "", f"file is larger than {MAX_BYTES // 2 ** 20} MiB "
                                             "(tree and scenario files are small YAML)")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise LoadError.one(shown, line, col, "",
                            f"not UTF-8 text (byte 0x{raw[exc.start]:02x}); tree files are UTF-8 YAML") from None
    return load_text(text, shown)


def load_text(text: str, file: str = "<string>") -> Document:
    """Parse YAML text strictly. Raises LoadError."""
    if text.startswith("\ufeff"):
        text = text[1:]
    loader = None
    try:
        loader = _Loader(text)
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        raise _syntax_error(file, exc) from None
    except _TooDeep as exc:
        raise LoadError.one(file, exc.mark.line + 1, exc.mark.column + 1, "",
                            f"nested deeper than {MAX_DEPTH} levels") from None
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        col = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        raise LoadError.one(file, line, col, "",
                            f"character U+{exc.character:04X} is not allowed in YAML (binary data?)") from None
    except yaml.YAMLError as exc:
        raise LoadError.one(file, 1, 1, "", f"YAML error: {exc}") from None
    finally:
        if loader is not None:
            loader.dispose()
    if node is None:
        raise LoadError.one(file, 1, 1, "", "the file is empty")
    builder = _Builder(file)
    data = builder.build(node, ())
    if builder.problems:
        raise LoadError(builder.problems)
    return Document(file, data, builder.values, builder.keys)


def parse_value(text: str, what: str = "<value>") -> Any:
    """A single value from the command line (`--param k=v`): strict YAML, e.g. `5m`, `0.2`,
    `{exponential: {mean: 5m}}`. An empty string is "". Raises LoadError."""
    if text.strip() == "":
        return ""
    return load_text(text, what).data


def _syntax_error(file: str, exc: yaml.MarkedYAMLError) -> LoadError:
    mark = exc.problem_mark or exc.context_mark
    line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    problem = (exc.problem or "syntax error").strip()
    if "expected a single document" in (exc.context or ""):
        message = "only one YAML document per file (remove the second '---')"
    elif problem.startswith("found undefined alias"):
        message = problem.replace("found undefined alias", "undefined alias")
    else:
        message = f"YAML syntax error: {problem}"
        if exc.context and exc.context_mark and exc.context_mark is not mark:
            message += f" ({exc.context.strip()} at line {exc.context_mark.line + 1})"
        if "found character '\\t'" in problem:
            message = "YAML syntax error: tab characters cannot indent YAML; use spaces"
    return LoadError.one(file, line, col, "", message)


class _Builder:
    """Node graph -> plain data, recording positions and collecting problems."""

    def __init__(self, file: str):
        self.file = file
        self.values: dict[tuple, tuple[int, int]] = {}
        self.keys: dict[tuple, tuple[int, int]] = {}
        self.problems: list[Problem] = []
        self.count = 0
        self._active: set[int] = set()

    def _problem(self, node, path: tuple, message: str) -> None:
        self.problems.append(Problem(self.file, node.start_mark.line + 1, node.start_mark.column + 1,
                                     format_path(path), message))

    def build(self, node, path: tuple) -> Any:
        self.values.setdefault(path, (node.start_mark.line + 1, node.start_mark.column + 1))
        self.count += 1
        if self.count > MAX_NODES:
            if self.count == MAX_NODES + 1:
                self._problem(node, path, f"more than {MAX_NODES} values (alias bomb?)")
            return None
        if len(path) > MAX_DEPTH:
            self._problem(node, path, f"nested deeper than {MAX_DEPTH} levels")
            return None
        if node.tag != _DEFAULT_TAGS[type(node)]:
            self._problem(node, path, f"YAML tags are not allowed ({node.tag.replace('tag:yaml.org,2002:', '!!')}); "
                                      "tree files hold plain data")
            return None
        if isinstance(node, ScalarNode):
            return self._scalar(node, path)
        if id(node) in self._active:
            self._problem(node, path, "recursive alias")
            return None
        self._active.add(id(node))
        try:
            if isinstance(node, SequenceNode):
                return [self.build(item, path + (i,)) for i, item in enumerate(node.value)]
            return self._mapping(node, path)
        finally:
            self._active.discard(id(node))

    def _mapping(self, node: MappingNode, path: tuple) -> dict:
        out: dict[str, Any] = {}
        first: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                self._problem(key_node, path, "a key must be a plain name, not a list or mapping")
                continue
            if key_node.tag != _STR:
                self._problem(key_node, path, "YAML tags are not allowed on keys")
                continue
            key = key_node.value
            if key == "<<" and key_node.style is None:
                self._problem(key_node, path, "YAML merge keys (<<) are not supported; use a Subtree")
                continue
            if key in first:
                self._problem(key_node, path + (key,),
                              f"duplicate key {key!r} (first at line {first[key].start_mark.line + 1})")
                continue
            first[key] = key_node
            self.keys[path + (key,)] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            out[key] = self.build(value_node, path + (key,))
        return out

    def _scalar(self, node: ScalarNode, path: tuple) -> Any:
        text = node.value
        if node.style is not None:      # quoted or block scalar: always a string
            return text
        if text in ("", "~", "null", "Null", "NULL"):
            return None
        if text in ("true", "True", "TRUE"):
            return True
        if text in ("false", "False", "FALSE"):
            return False
        if _INT.fullmatch(text):
            digits = text.lstrip("+-")
            if len(digits) > 19 or abs(int(text)) > MAX_INT:
                self._problem(node, path, f"number {_clip(text)} is too large (at most 2**63-1)")
                return None
            return int(text)
        if _FLOAT.fullmatch(text) and not _LEADING_ZERO.match(text):
            value = float(text)
            if not math.isfinite(value):
                self._problem(node, path, f"number {_clip(text)} is too large for a float")
                return None
            return value
        return text


def _clip(text: str) -> str:
    return text if len(text) <= 24 else f"{text[:12]}…{text[-6:]} ({len(text)} digits)"
