"""GML network graphs as Shadow 3.x reads them (`src/lib/gml-parser`, `src/main/network/graph`).

`parse_gml` mirrors Shadow's grammar: `graph [` … `]`; items are `key value` with values an
integer (fits i32), a float or a double-quoted string (no escapes); `node [ … ]` / `edge [ … ]`
hold flat key-value pairs; whitespace separates every token. It then applies Shadow's attribute
rules. `graph_problems` checks what the hosts of a config need of the graph (self-loops,
duplicate edges, connectivity, completeness). `write_gml` writes a graph for the generator.
"""
from __future__ import annotations

import math
import re
from collections import defaultdict, deque
from dataclasses import dataclass, field

from sim.scenario.units import UnitError, parse_bits, parse_time_ns

__all__ = ["Graph", "GmlProblem", "parse_gml", "graph_problems", "write_gml", "format_loss"]

_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_INT = re.compile(r"[0-9]+")
_FLOAT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_WS = " \t\r\n"
_I32 = 2 ** 31 - 1


@dataclass(frozen=True)
class GmlProblem:
    line: int
    rule: str               # "gml", "gml float", "self-loop", "duplicate edge", "connectivity", …
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.rule}: {self.message}"


@dataclass
class Node:
    id: int
    line: int
    attrs: dict


@dataclass
class Edge:
    source: int
    target: int
    line: int
    attrs: dict


@dataclass
class Graph:
    directed: bool = False
    nodes: dict[int, Node] = field(default_factory=dict)
    edges: list[Edge] = field(default_factory=list)
    problems: list[GmlProblem] = field(default_factory=list)

    def bandwidth(self, node_id: int) -> tuple[bool, bool]:
        """Whether the node sets (host_bandwidth_down, host_bandwidth_up)."""
        attrs = self.nodes[node_id].attrs
        return "host_bandwidth_down" in attrs, "host_bandwidth_up" in attrs


class _Fail(Exception):
    def __init__(self, pos: int, message: str):
        self.pos, self.message = pos, message


class _Reader:
    def __init__(self, text: str):
        self.text, self.pos = text, 0

    def line(self, pos: int | None = None) -> int:
        return self.text.count("\n", 0, self.pos if pos is None else pos) + 1

    def spaces(self, required: bool = False) -> None:
        start = self.pos
        while self.pos < len(self.text) and self.text[self.pos] in _WS:
            self.pos += 1
        if required and self.pos == start:
            raise _Fail(self.pos, "expected whitespace")

    def inline_spaces(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] in " \t":
            self.pos += 1

    def literal(self, word: str) -> None:
        if not self.text.startswith(word, self.pos):
            found = self.text[self.pos:self.pos + 12].split("\n")[0] or "end of file"
            raise _Fail(self.pos, f"expected {word!r}, found {found!r}")
        self.pos += len(word)

    def key(self) -> str:
        match = _KEY.match(self.text, self.pos)
        if not match:
            found = self.text[self.pos:self.pos + 12].split("\n")[0] or "end of file"
            raise _Fail(self.pos, f"expected a key or ']', found {found!r}")
        self.pos = match.end()
        return match.group()

    def value(self):
        """An integer, float or string, then at least one whitespace character."""
        self.inline_spaces()
        start = self.pos
        for kind in ("int", "float", "str"):
            self.pos = start
            value = self._try(kind)
            if value is not None and self.pos < len(self.text) and self.text[self.pos] in _WS:
                self.spaces()
                return value
        self.pos = start
        found = self.text[start:start + 12].split("\n")[0] or "end of file"
        raise _Fail(start, f"expected a number or a \"string\" followed by whitespace, found {found!r}")

    def _try(self, kind: str):
        text = self.text
        if kind == "int":
            match = _INT.match(text, self.pos)
            if match and int(match.group()) <= _I32:
                self.pos = match.end()
                return int(match.group())
        elif kind == "float":
            match = _FLOAT.match(text, self.pos)
            if match:
                self.pos = match.end()
                return float(match.group())
        elif text.startswith('"', self.pos):
            end = text.find('"', self.pos + 1)
            if end >= 0:
                value = text[self.pos + 1:end]
                self.pos = end + 1
                return value
        return None

    def block(self) -> tuple[dict, int]:
        """`[ key value … ]` of a node or an edge; duplicate keys are an error."""
        self.inline_spaces()
        self.literal("[")
        self.spaces(required=True)
        out: dict = {}
        while not self.text.startswith("]", self.pos):
            at = self.pos
            key = self.key()
            value = self.value()
            if key in out:
                raise _Fail(at, f"duplicate key {key!r} (Shadow: duplicate keys are not supported)")
            out[key] = value
        self.pos += 1
        self.spaces(required=True)
        return out, 0


def parse_gml(text: str) -> Graph:
    """The graph in `text`, with every problem Shadow would refuse it for in `graph.problems`."""
    graph = Graph()
    reader = _Reader(text)
    directed_seen = False
    others: set[str] = set()
    try:
        reader.spaces()
        reader.literal("graph")
        reader.inline_spaces()
        reader.literal("[")
        reader.spaces(required=True)
        while not text.startswith("]", reader.pos):
            at = reader.pos
            key = reader.key()
            line = reader.line(at)
            if key in ("node", "edge"):
                attrs, _ = reader.block()
                _add(graph, key, attrs, line)
            elif key == "directed":
                value = reader.value()
                if directed_seen:
                    raise _Fail(at, "'directed' must only be given once")
                if value not in (0, 1) or isinstance(value, float):
                    raise _Fail(at, "'directed' must be 0 or 1")
                directed_seen, graph.directed = True, value == 1
            else:
                reader.value()
                if key in others:
                    raise _Fail(at, f"duplicate key {key!r}")
                others.add(key)
        reader.pos += 1
        reader.spaces()
        if reader.pos != len(text):
            raise _Fail(reader.pos, "text after the graph's closing ']'")
    except _Fail as exc:
        graph.problems.append(GmlProblem(reader.line(exc.pos), "gml", exc.message))
        return graph
    _check_edges(graph)
    return graph


def _add(graph: Graph, kind: str, attrs: dict, line: int) -> None:
    problems = graph.problems
    if kind == "node":
        node_id = attrs.pop("id", None)
        if node_id is None:
            problems.append(GmlProblem(line, "gml", "node has no 'id'"))
            return
        if not isinstance(node_id, int):
            problems.append(GmlProblem(line, "gml", f"node 'id' must be a non-negative integer, got {node_id!r}"))
            return
        if node_id in graph.nodes:
            problems.append(GmlProblem(line, "gml", f"duplicate node id {node_id} (first at line "
                                                    f"{graph.nodes[node_id].line})"))
            return
        for name in ("host_bandwidth_down", "host_bandwidth_up"):
            if name in attrs:
                _unit(problems, line, f"node {node_id}: {name}", attrs[name], parse_bits)
        graph.nodes[node_id] = Node(node_id, line, attrs)
        return
    ends = []
    for name in ("source", "target"):
        value = attrs.pop(name, None)
        if not isinstance(value, int):
            what = "is missing" if value is None else f"must be a non-negative integer, got {value!r}"
            problems.append(GmlProblem(line, "gml", f"edge '{name}' {what}"))
            return
        ends.append(value)
    edge = Edge(ends[0], ends[1], line, attrs)
    where = f"edge {edge.source}-{edge.target}"
    if "latency" not in attrs:
        problems.append(GmlProblem(line, "gml", f"{where}: 'latency' is missing"))
    elif _unit(problems, line, f"{where}: latency", attrs["latency"], parse_time_ns) == 0:
        problems.append(GmlProblem(line, "gml", f"{where}: 'latency' must not be 0"))
    if "jitter" in attrs:
        _unit(problems, line, f"{where}: jitter", attrs["jitter"], parse_time_ns)
    loss = attrs.get("packet_loss")
    if loss is None:
        problems.append(GmlProblem(line, "gml float", f"{where}: 'packet_loss' is missing (write 0.0)"))
    elif not isinstance(loss, float):
        problems.append(GmlProblem(line, "gml float", f"{where}: 'packet_loss' must be a float: write "
                                                      f"{loss!r}.0, not {loss!r}" if isinstance(loss, int)
                                   else f"{where}: 'packet_loss' must be a float, got {loss!r}"))
    elif not 0.0 <= loss <= 1.0 or math.isnan(loss):
        problems.append(GmlProblem(line, "gml float", f"{where}: 'packet_loss' {loss!r} is not in [0, 1]"))
    graph.edges.append(edge)


def _unit(problems: list, line: int, where: str, value, parse) -> int | None:
    if not isinstance(value, str):
        problems.append(GmlProblem(line, "gml", f"{where} must be a \"string\" with a unit, got {value!r}"))
        return None
    try:
        return parse(value)
    except UnitError as exc:
        problems.append(GmlProblem(line, "units", f"{where}: {exc}"))
        return None


def _check_edges(graph: Graph) -> None:
    for edge in graph.edges:
        for name, end in (("source", edge.source), ("target", edge.target)):
            if end not in graph.nodes:
                graph.problems.append(GmlProblem(edge.line, "gml", f"edge {name} {end} is not a node"))


def graph_problems(graph: Graph, used: set[int], *, shortest_path: bool = True) -> list[GmlProblem]:
    """What hosts on the `used` nodes need: one self-loop each, no duplicate edges, the used nodes
    connected (strongly, if directed), and with `use_shortest_path: false` a complete graph."""
    problems: list[GmlProblem] = []
    pairs: dict[tuple[int, int], list[Edge]] = defaultdict(list)
    for edge in graph.edges:
        key = (edge.source, edge.target)
        if not graph.directed:
            key = tuple(sorted(key))
        pairs[key].append(edge)
    for (a, b), edges in sorted(pairs.items()):
        if len(edges) > 1:
            lines = ", ".join(str(e.line) for e in edges)
            problems.append(GmlProblem(edges[1].line, "duplicate edge",
                                       f"{len(edges)} edges between nodes {a} and {b} (lines {lines})"))
    for node in sorted(used):
        if node in graph.nodes and (node, node) not in pairs:
            problems.append(GmlProblem(graph.nodes[node].line, "self-loop",
                                       f"node {node} hosts processes but has no self-loop edge "
                                       f"(source {node} target {node})"))
    present = sorted(n for n in used if n in graph.nodes)
    if len(present) > 1:
        apart = _unreachable(graph, present)
        if apart:
            shown = ", ".join(map(str, apart[:10])) + (" …" if len(apart) > 10 else "")
            problems.append(GmlProblem(graph.nodes[apart[0]].line, "connectivity",
                                       f"node(s) {shown} cannot reach node {present[0]} and back"
                                       if graph.directed else
                                       f"node(s) {shown} are not connected to node {present[0]}"))
        if not shortest_path:
            missing = [(a, b) for a in present for b in present
                       if a != b and (a, b) not in pairs and (graph.directed or (b, a) not in pairs)]
            if missing:
                a, b = missing[0]
                problems.append(GmlProblem(graph.nodes[a].line, "complete graph",
                                           f"use_shortest_path is false but there is no edge {a}-{b} "
                                           f"({len(missing)} pairs missing)"))
    return problems


def _unreachable(graph: Graph, present: list[int]) -> list[int]:
    forward: dict[int, list[int]] = defaultdict(list)
    backward: dict[int, list[int]] = defaultdict(list)
    for edge in graph.edges:
        forward[edge.source].append(edge.target)
        backward[edge.target].append(edge.source)
        if not graph.directed:
            forward[edge.target].append(edge.source)
    seen = _reach(forward, present[0])
    if graph.directed:
        back = _reach(backward, present[0])
        return [n for n in present if n not in seen or n not in back]
    return [n for n in present if n not in seen]


def _reach(adjacent: dict[int, list[int]], start: int) -> set[int]:
    seen, todo = {start}, deque([start])
    while todo:
        for nxt in adjacent[todo.popleft()]:
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def format_loss(loss: float) -> str:
    """A GML float Shadow reads as a float: `0.0`, `0.01`, `1e-05` (never `0`)."""
    return repr(float(loss))


def write_gml(nodes: list[tuple[int, str, str, str]], edges: list[tuple]) -> str:
    """An undirected graph: nodes (id, label, bandwidth down, bandwidth up), edges (source, target,
    latency, packet loss[, jitter]; a jitter of None or "" is left out). Strings must not hold '"'
    (Shadow's GML has no escapes)."""
    out = ["graph [", "  directed 0"]
    for node_id, label, down, up in nodes:
        out += ["  node [", f"    id {node_id}", f'    label "{label}"',
                f'    host_bandwidth_down "{down}"', f'    host_bandwidth_up "{up}"', "  ]"]
    for source, target, latency, loss, *jitter in edges:
        out += ["  edge [", f"    source {source}", f"    target {target}", f'    latency "{latency}"']
        out += [f'    jitter "{jitter[0]}"'] if jitter and jitter[0] else []
        out += [f"    packet_loss {format_loss(loss)}", "  ]"]
    return "\n".join(out + ["]", ""])
