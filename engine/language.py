"""Tree files -> a validated spec: imports, params and `${p}` substitution, subtrees, and
parameter values turned into durations (seconds), distributions and blackboard references.

Every problem is collected with its file, line and column; `TreeLoader.load` raises one
LoadError listing them all. The node part of the loader is engine/loadnodes.py; trees are
loaded through engine.Factory.
"""
from __future__ import annotations

import copy
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lang.errors import LoadError, Problem, did_you_mean
from lang.yamlload import Document, load_file, load_text

from .loadnodes import GIVEN, NodeLoader
from .paramvalues import PARAM_USE, ValueChecker, as_text, brief, has_param_use, kind_of
from .schema import PARAM_NAME_PATTERN, TOP_LEVEL_KEYS, Catalogue
from .spec import Node, Tree, unwritten_keys

__all__ = ["Node", "Tree", "TreeLoader"]

_PARAM_NAME = re.compile(PARAM_NAME_PATTERN)


def _shown(path: Path) -> str:
    """A path as the user should read it: relative to the cwd when below it."""
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return str(path)
    return rel if not rel.startswith("..") else str(path)


@dataclass
class _File:
    path: Path
    doc: Document
    params: dict[str, tuple[Any, str]] = field(default_factory=dict)   # name -> (value, source)
    imports: dict[str, "_File"] = field(default_factory=dict)
    subtrees: dict[str, Any] = field(default_factory=dict)
    root: Any = None
    has_root: bool = False

    @property
    def name(self) -> str:
        return self.doc.file


class TreeLoader(NodeLoader):
    """Loads one tree file (or text) with the files it imports, against a catalogue."""

    def __init__(self, catalogue: Catalogue):
        self.cat = catalogue
        self.values = ValueChecker(catalogue)
        self.problems: list[Problem] = []
        self.files: dict[Path, _File] = {}
        self.origins: dict[tuple[str, tuple], str] = {}
        self.used_subtrees: list[str] = []
        self.unresolved: set[tuple[str, tuple]] = set()   # (file, path) where ${p} failed

    # ------------------------------------------------------------ reporting
    def report(self, f: _File, path: tuple, message: str, *, key: bool = False) -> None:
        note = ""
        for depth in range(len(path), -1, -1):
            origin = self.origins.get((f.name, path[:depth]))
            if origin:
                note = f" [{origin}]"
                break
        self.problems.append(f.doc.problem(path, message + note, key=key))

    # ------------------------------------------------------------ files
    def load(self, path: Path, overrides: dict[str, Any], require_root: bool = True) -> Tree:
        """The tree in the file at `path`, `overrides` (--param / scenario) applied."""
        return self.tree(self.file(path, [], None), overrides, require_root)

    def load_text(self, text: str, file: str, overrides: dict[str, Any], require_root: bool = True) -> Tree:
        """The tree in `text`; messages name it `file`, its imports are relative to `file`'s folder."""
        return self.tree(self.file(Path(file), [], None, load_text(text, file)), overrides, require_root)

    def tree(self, main: _File | None, overrides: dict[str, Any], require_root: bool) -> Tree:
        """The loaded tree of file `main`; raises LoadError with every problem found."""
        if main is None:
            raise LoadError(self.problems)
        for name, value in overrides.items():
            if name not in main.params:
                known = list(main.params)
                hint = did_you_mean(name, known) or (f" (it has: {', '.join(known)})" if known else
                                                     " (it declares no params)")
                self.report(main, ("params",), f"--param {name}: the tree has no parameter {name!r}{hint}",
                            key=True)
            else:
                main.params[name] = (value, f"{name} {GIVEN}")
        root = None
        if require_root and not main.has_root:
            self.report(main, (), "the tree has no root: (a file with only subtrees: can be imported, not run)")
        elif main.has_root and not self.problems:
            root = self.node(main, main.root, ("root",), main.params, [(main.name, "root")])
        if self.problems:
            raise LoadError(self.problems)
        if main.has_root and root is None:  # every failing path above reports a problem
            raise LoadError([main.doc.problem(("root",), "internal error: the root could not be built")])
        data = main.doc.data
        warnings = unwritten_keys(root, self.cat) if root is not None else []
        return Tree(main.name, root, data.get("role"), data.get("description"),
                    {k: v for k, (v, _src) in main.params.items()}, self.used_subtrees, warnings)

    def file(self, path: Path, stack: list[Path], importer: tuple[_File, tuple] | None,
             doc: Document | None = None) -> _File | None:
        """The file at `path` (already read: `doc`) and, recursively, its imports; None after
        reporting why it cannot be read."""
        real = path.resolve()
        if real in stack:
            chain = " -> ".join(_shown(p) for p in stack[stack.index(real):] + [real])
            f, where = importer  # type: ignore[misc]
            self.report(f, where, f"import cycle: {chain}")
            return None
        if real in self.files:
            return self.files[real]
        try:
            doc = doc or load_file(path, _shown(path))
        except LoadError as exc:
            if importer is not None and exc.problems[0].message == "no such file":
                f, where = importer
                self.report(f, where, f"imported file {_shown(path)} does not exist")
            else:
                self.problems.extend(exc.problems)
            return None
        f = _File(real, doc)
        self.files[real] = f
        if not isinstance(doc.data, dict):
            self.report(f, (), "a tree file is a mapping with root:, params:, imports:, subtrees: "
                               f"(got {kind_of(doc.data)})")
            return f
        self.top_level(f)
        for alias, rel in (doc.data.get("imports") or {}).items() if isinstance(doc.data.get("imports"), dict) else ():
            if not _PARAM_NAME.match(alias):
                self.report(f, ("imports", alias), f"bad import alias {alias!r}: use letters, digits and _", key=True)
                continue
            if not isinstance(rel, str) or not rel:
                self.report(f, ("imports", alias), f"expected the path of a tree file, got {kind_of(rel)}")
                continue
            target = self.file(real.parent / rel, stack + [real], (f, ("imports", alias)))
            if target is not None:
                f.imports[alias] = target
        return f

    def top_level(self, f: _File) -> None:
        data = f.doc.data
        for key in data:
            if key not in TOP_LEVEL_KEYS and not key.startswith("x-"):
                hint = did_you_mean(key, TOP_LEVEL_KEYS)
                if not hint and key in self.cat:
                    hint = " (a tree's top node goes under root:)"
                self.report(f, (key,), f"unknown top-level key {key!r}{hint}", key=True)
        if "version" in data and data["version"] != 1:
            self.report(f, ("version",), f"unsupported version {data['version']!r} (this engine reads version 1)")
        for key in ("role", "description"):
            if key in data and not isinstance(data[key], str):
                self.report(f, (key,), f"expected a string, got {kind_of(data[key])}")
        for key in ("params", "imports", "subtrees"):
            if key in data and data[key] is not None and not isinstance(data[key], dict):
                self.report(f, (key,), f"{key}: must be a mapping of names, got {kind_of(data[key])}")
        params = data.get("params") if isinstance(data.get("params"), dict) else {}
        for name, value in params.items():
            if not _PARAM_NAME.match(name):
                self.report(f, ("params", name), f"bad parameter name {name!r}: use letters, digits and _",
                            key=True)
            elif has_param_use(value):
                self.report(f, ("params", name), "a parameter default cannot use ${...}; "
                                                 "pass values with Subtree with: instead")
            else:
                line, col = f.doc.where(("params", name))
                f.params[name] = (value, f"{name} defaults to it at {f.name}:{line}:{col}")
        subtrees = data.get("subtrees") if isinstance(data.get("subtrees"), dict) else {}
        for name, node in subtrees.items():
            if not _PARAM_NAME.match(name) or name == "root":
                self.report(f, ("subtrees", name), f"bad subtree name {name!r}: use letters, digits and _ "
                                                   "(not 'root')", key=True)
            f.subtrees[name] = node
        if "root" in data:
            f.root, f.has_root = data["root"], True

    # ------------------------------------------------------------ substitution
    def substitute(self, f: _File, value: Any, path: tuple, params: dict[str, tuple[Any, str]]) -> Any:
        """`${p}` -> the parameter's value (its own type when it is the whole string)."""
        if isinstance(value, dict):
            return {k: self.substitute(f, v, path + (k,), params) for k, v in value.items()}
        if isinstance(value, list):
            return [self.substitute(f, v, path + (i,), params) for i, v in enumerate(value)]
        if not isinstance(value, str) or "$" not in value:
            return value
        whole = re.fullmatch(r"\$\{([^}]*)\}", value)
        if whole:
            found = self.param(f, whole.group(1), path, params)
            if found is None:
                return value
            self.origins[(f.name, path)] = f"from ${{{whole.group(1)}}} = {brief(found[0])}: {found[1]}"
            return copy.deepcopy(found[0])

        def replace(match: re.Match) -> str:
            if match.group(0) == "$${":
                return "${"
            found = self.param(f, match.group(1), path, params)
            if found is None:
                return match.group(0)
            if isinstance(found[0], (dict, list)) or found[0] is None:
                self.report(f, path, f"${{{match.group(1)}}} is {kind_of(found[0])} and cannot be part of a string")
                return match.group(0)
            self.origins[(f.name, path)] = f"from ${{{match.group(1)}}}: {found[1]}"
            return as_text(found[0])
        return PARAM_USE.sub(replace, value)

    def param(self, f: _File, name: str, path: tuple, params: dict) -> tuple[Any, str] | None:
        if name in params:
            return params[name]
        self.unresolved.add((f.name, path))
        if not _PARAM_NAME.match(name):
            self.report(f, path, f"bad parameter reference ${{{name}}}: a name has letters, digits and _")
        else:
            hint = did_you_mean(name, params) or (" (this file declares no params:)" if not params else
                                                  f" (declared: {', '.join(sorted(params))})")
            self.report(f, path, f"unknown parameter ${{{name}}}{hint}")
        return None
