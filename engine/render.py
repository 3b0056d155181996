"""Draw a loaded tree: ASCII/Unicode text, Graphviz DOT, or SVG/PNG through `dot`.

Each node shows its type, its name when the tree gave one, and the parameters its type lists
as shown (durations as 5m, distributions as exponential(mean: 300)).
"""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

from lang.values import BlackboardRef, Distribution, format_duration

from lang.errors import UsageError
from .spec import Node, Tree
from .schema import Catalogue

__all__ = ["render_text", "render_dot", "render_file", "drawn_nodes", "dot_of", "FORMATS"]

FORMATS = {".txt": "ascii", ".ascii": "ascii", ".utf8": "unicode", ".unicode": "unicode",
           ".dot": "dot", ".gv": "dot", ".svg": "svg", ".png": "png"}
_SYMBOL = {"Sequence": "→", "Selector": "?", "Parallel": "⇉"}


def _value(value: Any, duration: bool) -> str:
    if isinstance(value, (Distribution, BlackboardRef)):
        return str(value) if isinstance(value, BlackboardRef) else _dist(value, duration)
    if duration and isinstance(value, (int, float)):
        return format_duration(value)
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _dist(dist: Distribution, duration: bool) -> str:
    parts = []
    for k, v in dist.args.items():
        if isinstance(v, (int, float)) and not isinstance(v, bool) and duration and k != "p":
            parts.append(f"{k}: {format_duration(v)}")
        elif isinstance(v, list):
            parts.append(f"{k}: [{', '.join(_value(x, duration) for x in v)}]")
        else:
            parts.append(f"{k}: {_value(v, False)}")
    return f"{dist.kind}({', '.join(parts)})"


def describe(node: Node, cat: Catalogue) -> tuple[str, list[str]]:
    """(title, ["param: value", ...]) for one node."""
    nt = cat.types[node.type]
    title = node.type
    if not node.name.startswith(f"{node.type}@") and node.name != node.params.get("use"):
        title += f" “{node.name}”"
    lines = []
    for pname in nt.shown:
        if pname not in node.params or node.params[pname] is None:
            continue
        schema = nt.params.get(pname, {})
        if "default" in schema and node.params[pname] == schema["default"] and pname != "use":
            continue
        lines.append(f"{pname}: {_value(node.params[pname], schema.get('x-kind') == 'duration')}")
    for pname in nt.outputs:
        if node.params.get(pname) and pname not in nt.shown:
            lines.append(f"{pname} → {node.params[pname]}")
    return title, lines


def render_text(tree: Tree, cat: Catalogue, unicode: bool = True) -> str:
    tee, last, bar, gap = ("├── ", "└── ", "│   ", "    ") if unicode else ("|-- ", "`-- ", "|   ", "    ")
    out: list[str] = []

    def emit(node: Node, prefix: str, connector: str, child_prefix: str) -> None:
        title, lines = describe(node, cat)
        if not unicode:
            title = title.replace("“", '"').replace("”", '"')
        params = f"  ({', '.join(lines)})" if lines else ""
        if not unicode:
            params = params.replace("→", "->")
        out.append(f"{prefix}{connector}{title}{params}")
        for i, child in enumerate(node.children):
            end = i == len(node.children) - 1
            emit(child, prefix + child_prefix, last if end else tee, gap if end else bar)

    header = f"{tree.file}" + (f"  [role: {tree.role}]" if tree.role else "")
    out.append(header)
    if tree.root is not None:
        emit(tree.root, "", "", "")
    return "\n".join(out) + "\n"


def _dot_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def drawn_nodes(tree: Tree, cat: Catalogue) -> list[dict]:
    """Each node depth-first (node i is drawn as n{i+1}): {path, type, name, kind, parent,
    label}; `label` is the title and the shown parameters, one per line."""
    nodes: list[dict] = []

    def walk(node: Node, parent: int) -> None:
        title, params = describe(node, cat)
        kind = cat.types[node.type].kind
        if kind == "composite":
            title = f"{_SYMBOL.get(node.type, '')} {title}".strip()
        index = len(nodes)
        nodes.append({"path": node.path, "type": node.type, "name": node.name, "kind": kind,
                      "parent": parent, "label": "\n".join([title, *params])})
        for child in node.children:
            walk(child, index)

    if tree.root is not None:
        walk(tree.root, -1)
    return nodes


_STYLE = {"composite": 'shape=box, style="filled", fillcolor="#cfe2f3"',
          "decorator": 'shape=hexagon, style="filled", fillcolor="#fff2cc"',
          "subtree": 'shape=box, style="dashed,rounded"'}
_LEAF_STYLE = 'shape=box, style="rounded,filled", fillcolor="#d9ead3"'


def dot_of(nodes: list[dict]) -> str:
    """Graphviz DOT of `drawn_nodes` (or the same list read back from a status journal)."""
    lines = ["digraph tree {", '  graph [rankdir=TB, fontname="Helvetica", ordering=out];',
             '  node [fontname="Helvetica", fontsize=11];', '  edge [arrowhead=none];']
    for i, node in enumerate(nodes):
        label = "\\n".join(_dot_escape(x) for x in node["label"].split("\n"))
        lines.append(f'  n{i + 1} [label="{label}", {_STYLE.get(node["kind"], _LEAF_STYLE)}];')
    lines += [f"  n{node['parent'] + 1} -> n{i + 1};" for i, node in enumerate(nodes)
              if node["parent"] >= 0]
    lines.append("}")
    return "\n".join(lines) + "\n"


def render_dot(tree: Tree, cat: Catalogue) -> str:
    return dot_of(drawn_nodes(tree, cat))


def render_file(tree: Tree, output: str | Path, cat: Catalogue) -> Path:
    """Write the rendering whose format OUT's suffix picks; creates the folder."""
    out = Path(output)
    fmt = FORMATS.get(out.suffix.lower())
    if fmt is None:
        raise UsageError(f"render: cannot tell the format of {out.name!r}; use one of "
                         f"{', '.join(sorted(FORMATS))}")
    if fmt in ("svg", "png"):
        dot = shutil.which("dot")
        if dot is None:
            raise UsageError("render: SVG/PNG need Graphviz's `dot` (apt-get install graphviz); "
                             "write .dot or .txt instead")
        result = subprocess.run([dot, f"-T{fmt}"], input=render_dot(tree, cat).encode(),
                                capture_output=True, timeout=60)
        if result.returncode != 0:
            raise UsageError(f"render: dot failed: {result.stderr.decode(errors='replace').strip()}")
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(result.stdout)
        return out
    text = render_dot(tree, cat) if fmt == "dot" else render_text(tree, cat, unicode=fmt == "unicode")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    return out
