"""The tree loader's node part: one YAML node -> a checked engine.spec.Node, its children and
subtrees expanded, its parameters converted (durations in seconds, distributions, blackboard
references) or every problem reported with its place.

`NodeLoader` is a mixin of engine.language.TreeLoader, which gives it `cat`, `values`,
`unresolved`, `used_subtrees`, `report()` and `substitute()`.
"""
from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lang.errors import did_you_mean
from lang.values import parse_duration
from lang.yamlload import format_path

from .paramvalues import as_text, example_for, kind_of
from .schema import TOP_LEVEL_KEYS, NodeType
from .spec import Node

if TYPE_CHECKING:
    from .language import _File

__all__ = ["NodeLoader", "GIVEN"]

GIVEN = "set by --param/scenario"     # the source of a parameter given from outside the file


def _whole_use(value: Any) -> str | None:
    """'pools' for the value '${pools}', None for anything else."""
    match = re.fullmatch(r"\$\{([^}]*)\}", value) if isinstance(value, str) else None
    return match.group(1) if match else None


class NodeLoader:
    """Loads nodes for a TreeLoader (see the module docstring)."""

    def node(self, f: _File, raw: Any, path: tuple, params: dict, stack: list) -> Node | None:
        """The node `raw` at `path` of file `f`, with `params` in scope; None after reporting."""
        found = self.node_type(f, raw, path)
        if found is None:
            return None
        nt, body = found
        npath = path + (nt.name,)
        node = self.spec_node(f, nt, body, npath, params, stack)
        if node is None:
            return None
        if nt.kind == "composite":
            return self.composite(f, node, body, npath, params, stack)
        if nt.kind == "decorator":
            return self.decorated(f, node, body, npath, params, stack)
        for stray in ("children", "child"):
            if stray in body:
                self.report(f, npath + (stray,), f"{nt.name} is a leaf: it has no {stray}", key=True)
                return None
        if nt.kind == "subtree":
            return self.subtree(f, node, npath, params, stack)
        return node

    def node_type(self, f: _File, raw: Any, path: tuple) -> tuple[NodeType, dict] | None:
        """(its type, its body mapping) for a node `{Type: {...}}`; None after reporting."""
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
                hint = " (put the list under children:)"
            self.report(f, npath, f"{type_name} takes a mapping of parameters, got {kind_of(body)}{hint}")
            return None
        return nt, body

    def spec_node(self, f: _File, nt: NodeType, body: dict, npath: tuple, params: dict,
                  stack: list) -> Node | None:
        """The node without its children: name, converted parameters, place in the file."""
        line, col = f.doc.where(npath, key=True)
        values = {k: self.substitute(f, v, npath + (k,), params)
                  for k, v in body.items() if k not in ("children", "child")}
        name = values.pop("name", None)
        if name is not None and not isinstance(name, str):
            self.report(f, npath + ("name",), f"name: expected a string, got {kind_of(name)}")
            name = None
        converted = self.check_params(f, nt, values, npath)
        if converted is None:
            return None
        default_name = f"{nt.name}@{line}" if f.name == stack[0][0] else \
            f"{nt.name}@{Path(f.name).name}:{line}"
        return Node(nt.name, nt.kind, name or default_name, converted, [], f.name, line, col,
                    format_path(npath), {p: f.doc.where(npath + (p,)) for p in converted if p in body},
                    {p: use for p, use in ((p, _whole_use(body[p])) for p in converted if p in body)
                     if use in params and params[use][1] == f"{use} {GIVEN}"})

    def composite(self, f: _File, node: Node, body: dict, npath: tuple, params: dict,
                  stack: list) -> Node | None:
        """`node` with its `children:` loaded; None when one of them fails."""
        children = body.get("children")
        if "child" in body:
            self.report(f, npath + ("child",), f"{node.type} takes children: (a list), not child:", key=True)
            return None
        if not isinstance(children, list) or not children:
            what = "is missing" if children is None else f"must be a non-empty list, got {kind_of(children)}"
            self.report(f, npath if children is None else npath + ("children",),
                        f"{node.type}: children {what}", key=children is None)
            return None
        for i, raw_child in enumerate(children):
            child = self.node(f, raw_child, npath + ("children", i), params, stack)
            if child is not None:
                node.children.append(child)
        return node if len(node.children) == len(children) else None

    def decorated(self, f: _File, node: Node, body: dict, npath: tuple, params: dict,
                  stack: list) -> Node | None:
        """`node` with its `child:` loaded."""
        if "children" in body:
            self.report(f, npath + ("children",), f"{node.type} decorates one node: use child:, "
                                                  "not children:", key=True)
            return None
        if "child" not in body:
            self.report(f, npath, f"{node.type} needs a child:", key=True)
            return None
        child = self.node(f, body["child"], npath + ("child",), params, stack)
        if child is None:
            return None
        node.children.append(child)
        return node

    def subtree(self, f: _File, node: Node, npath: tuple, params: dict, stack: list) -> Node | None:
        """A Subtree node with the subtree it uses (its `with:` in scope) as its child."""
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
        """(the file, the raw node, its label) that `use:` names; (None, None, use) after reporting."""
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

    def check_params(self, f: _File, nt: NodeType, values: dict, npath: tuple) -> dict | None:
        """`values` converted against `nt`'s parameters, defaults added; None after reporting."""
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
                self.report(f, npath, f"{nt.name} needs {pname!r}{example_for(nt.params[pname])}", key=True)
                ok = False
        for pname, schema in nt.params.items():
            if pname not in out and "default" in schema and ok:
                out[pname] = copy.deepcopy(schema["default"])
                if schema.get("x-kind") == "duration":
                    out[pname] = parse_duration(out[pname])
        return out if ok else None
