"""Tree files -> a validated spec: imports, params and `${p}` substitution, subtrees, and
parameter values turned into durations (seconds), distributions and blackboard references.

Every problem is collected with its file, line and column; `load_tree` raises one LoadError
listing them all.
"""
from __future__ import annotations

import copy
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lang.values import parse_duration

from lang.errors import LoadError, Problem, did_you_mean
from .paramvalues import PARAM_USE, ValueChecker, as_text, brief, example_for, has_param_use, kind_of
from .schema import PARAM_NAME_PATTERN, TOP_LEVEL_KEYS, Catalogue, NodeType
from .spec import Node, Tree, unwritten_keys
from lang.yamlload import Document, format_path, load_file

__all__ = ["Node", "Tree", "load_tree", "default_catalogue"]

_PARAM_NAME = re.compile(PARAM_NAME_PATTERN)
GIVEN = "set by --param/scenario"     # the source of a parameter given from outside the file


def _whole_use(value: Any) -> str | None:
    """'pools' for the value '${pools}', None for anything else."""
    match = re.fullmatch(r"\$\{([^}]*)\}", value) if isinstance(value, str) else None
    return match.group(1) if match else None
_NODE_KEYS = ("name", "children", "child")


_CATALOGUE: Catalogue | None = None


def default_catalogue() -> Catalogue:
    """The catalogue of built-in and entry-point leaves, built once per process."""
    global _CATALOGUE
    if _CATALOGUE is None:
        _CATALOGUE = Catalogue()
    return _CATALOGUE


def load_tree(path: str | Path, overrides: dict[str, Any] | None = None, *,
              catalogue: Catalogue | None = None, require_root: bool = True) -> Tree:
    """Load, validate and expand the tree file at `path`. Raises LoadError."""
    return _Loader(catalogue or default_catalogue()).load(Path(path), overrides or {}, require_root)


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


class _Loader:
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
    def load(self, path: Path, overrides: dict[str, Any], require_root: bool) -> Tree:
        main = self.file(path, [], None)
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

    def file(self, path: Path, stack: list[Path], importer: tuple[_File, tuple] | None) -> _File | None:
        real = path.resolve()
        if real in stack:
            chain = " -> ".join(_shown(p) for p in stack[stack.index(real):] + [real])
            f, where = importer  # type: ignore[misc]
            self.report(f, where, f"import cycle: {chain}")
            return None
        if real in self.files:
            return self.files[real]
        try:
            doc = load_file(path, _shown(path))
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

    # ------------------------------------------------------------ nodes
    def node(self, f: _File, raw: Any, path: tuple, params: dict, stack: list) -> Node | None:
        if not isinstance(raw, dict) or not raw:
            example = " e.g. `Wait: {duration: 5s}`"
            if isinstance(raw, str) and raw in self.cat:
                self.report(f, path, f"write `{raw}: {{}}` (a node is a mapping with one key, its type)")
            else:
                self.report(f, path, f"expected a node (a mapping with one key, its type,{example}), "
                                     f"got {kind_of(raw)}")
            return None
        if len(raw) > 1:
            keys = list(raw)
            types = [k for k in keys if k in self.cat]
            if len(types) == 1:
                stray = next(k for k in keys if k != types[0])
                self.report(f, path + (stray,), f"{stray!r} is beside {types[0]!r}, not inside it: indent "
                                                f"it under {types[0]} (a node has exactly one key, its type)",
                            key=True)
            else:
                self.report(f, path + (keys[1],), f"a node has exactly one key, its type; found {len(keys)}: "
                                                  f"{', '.join(keys)}", key=True)
            return None
        (type_name, body), = raw.items()
        npath = path + (type_name,)
        nt = self.cat.types.get(type_name)
        if nt is None:
            hint = did_you_mean(type_name, self.cat.types)
            if not hint and type_name in TOP_LEVEL_KEYS:
                hint = f" ({type_name}: belongs at the top of the file)"
            self.report(f, npath, f"unknown node type {type_name!r}{hint}", key=True)
            return None
        if body is None:
            body = {}
        if not isinstance(body, dict):
            hint = ""
            if len(nt.required) == 1 and not isinstance(body, list):
                hint = f" (write {type_name}: {{{nt.required[0]}: {as_text(body)}}})"
            elif nt.kind == "composite" and isinstance(body, list):
                hint = f" (put the list under children:)"
            self.report(f, npath, f"{type_name} takes a mapping of parameters, got {kind_of(body)}{hint}")
            return None
        line, col = f.doc.where(npath, key=True)
        values = {k: self.substitute(f, v, npath + (k,), params)
                  for k, v in body.items() if k not in ("children", "child")}
        name = values.pop("name", None)
        if name is not None and not isinstance(name, str):
            self.report(f, npath + ("name",), f"name: expected a string, got {kind_of(name)}")
            name = None
        converted = self.check_params(f, nt, values, body, npath)
        if converted is None:
            return None
        default_name = f"{type_name}@{line}" if f.name == stack[0][0] else \
            f"{type_name}@{Path(f.name).name}:{line}"
        node = Node(type_name, nt.kind, name or default_name, converted, [], f.name, line, col,
                    format_path(npath), {p: f.doc.where(npath + (p,)) for p in converted if p in body},
                    {p: use for p, use in ((p, _whole_use(body[p])) for p in converted if p in body)
                     if use in params and params[use][1] == f"{use} {GIVEN}"})
        if nt.kind == "composite":
            children = body.get("children")
            if "child" in body:
                self.report(f, npath + ("child",), f"{type_name} takes children: (a list), not child:", key=True)
                return None
            if not isinstance(children, list) or not children:
                what = "is missing" if children is None else f"must be a non-empty list, got {kind_of(children)}"
                self.report(f, npath if children is None else npath + ("children",),
                            f"{type_name}: children {what}", key=children is None)
                return None
            for i, raw_child in enumerate(children):
                child = self.node(f, raw_child, npath + ("children", i), params, stack)
                if child is not None:
                    node.children.append(child)
            return node if len(node.children) == len(children) else None
        if nt.kind == "decorator":
            if "children" in body:
                self.report(f, npath + ("children",), f"{type_name} decorates one node: use child:, "
                                                      "not children:", key=True)
                return None
            if "child" not in body:
                self.report(f, npath, f"{type_name} needs a child:", key=True)
                return None
            child = self.node(f, body["child"], npath + ("child",), params, stack)
            if child is None:
                return None
            node.children.append(child)
            return node
        for stray in ("children", "child"):
            if stray in body:
                self.report(f, npath + (stray,), f"{type_name} is a leaf: it has no {stray}", key=True)
                return None
        if nt.kind == "subtree":
            return self.subtree(f, node, npath, params, stack)
        return node

    def subtree(self, f: _File, node: Node, npath: tuple, params: dict, stack: list) -> Node | None:
        use = node.params["use"]
        target, raw, label = self.find_subtree(f, use, npath + ("use",))
        if target is None:
            return None
        overrides = node.params.get("with") or {}
        scope = dict(target.params)
        for name, value in overrides.items():
            if name not in target.params:
                hint = did_you_mean(name, target.params) or \
                    (f" (it has: {', '.join(sorted(target.params))})" if target.params else
                     f" ({target.name} declares no params)")
                self.report(f, npath + ("with", name), f"{label} has no parameter {name!r}{hint}", key=True)
                return None
            line, col = f.doc.where(npath + ("with", name))
            scope[name] = (value, f"set by with: at {f.name}:{line}:{col}")
        frame = (target.name, label)
        if frame in stack:
            chain = " -> ".join(lbl for _file, lbl in stack[stack.index(frame):] + [frame])
            self.report(f, npath + ("use",), f"subtree cycle: {chain}")
            return None
        rpath = ("root",) if label.endswith("root") and raw is target.root else ("subtrees", label.split(".")[-1])
        child = self.node(target, raw, rpath, scope, stack + [frame])
        if child is None:
            return None
        self.used_subtrees.append(label)
        node.params = {"use": use, "with": overrides}
        node.children.append(child)
        if node.name.startswith("Subtree@"):
            node.name = use
        return node

    def find_subtree(self, f: _File, use: str, path: tuple) -> tuple[_File | None, Any, str]:
        if "." not in use:
            if use in f.subtrees:
                return f, f.subtrees[use], use
            options = list(f.subtrees) + [f"{a}.{s}" for a, t in f.imports.items() for s in t.subtrees]
            hint = did_you_mean(use, options) or (f" (known: {', '.join(options)})" if options else
                                                  " (this file defines no subtrees:)")
            self.report(f, path, f"unknown subtree {use!r}{hint}")
            return None, None, use
        alias, _, name = use.partition(".")
        target = f.imports.get(alias)
        if target is None:
            hint = did_you_mean(alias, f.imports) or (" (add it under imports:)")
            self.report(f, path, f"unknown import alias {alias!r} in {use!r}{hint}")
            return None, None, use
        if name == "root":
            if not target.has_root:
                self.report(f, path, f"{target.name} has no root:")
                return None, None, use
            return target, target.root, use
        if name not in target.subtrees:
            options = list(target.subtrees) + (["root"] if target.has_root else [])
            hint = did_you_mean(name, options) or (f" (it has: {', '.join(options)})" if options else "")
            self.report(f, path, f"{target.name} has no subtree {name!r}{hint}")
            return None, None, use
        return target, target.subtrees[name], use

    # ------------------------------------------------------------ parameters
    def check_params(self, f: _File, nt: NodeType, values: dict, body: dict, npath: tuple) -> dict | None:
        ok = True
        out: dict[str, Any] = {}
        suggested: set[str] = set()
        for pname, value in values.items():
            schema = nt.params.get(pname)
            if schema is None:
                hint = did_you_mean(pname, list(nt.params) + ["name"])
                suggested.update(p for p in nt.params if hint == f" (did you mean {p!r}?)")
                if not hint and pname in self.cat:
                    hint = " (a child node goes under children: or child:)"
                elif not hint and nt.params:
                    hint = f" ({nt.name} takes: {', '.join(nt.params)})"
                elif not hint:
                    hint = f" ({nt.name} takes no parameters)"
                self.report(f, npath + (pname,), f"unknown parameter {pname!r} for {nt.name}{hint}", key=True)
                ok = False
                continue
            if any(fp[:len(npath) + 1] == npath + (pname,) for fn, fp in self.unresolved if fn == f.name):
                ok = False   # already reported by substitute()
                continue
            converted, message = self.values.convert(value, schema)
            if message is not None:
                self.report(f, npath + (pname,), message)
                ok = False
            else:
                out[pname] = converted
        for pname in nt.required:
            if pname not in values and pname not in suggested:
                example = example_for(nt.params[pname])
                self.report(f, npath, f"{nt.name} needs {pname!r}{example}", key=True)
                ok = False
        for pname, schema in nt.params.items():
            if pname not in out and "default" in schema and ok:
                out[pname] = copy.deepcopy(schema["default"])
                if schema.get("x-kind") == "duration":
                    out[pname] = parse_duration(out[pname])
        return out if ok else None

