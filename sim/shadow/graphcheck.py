"""The network section of a Shadow config: its graph (1_gbit_switch, inline or file GML, xz or
not) read and held to Shadow's GML rules; problems in a graph file are reported in that file."""
from __future__ import annotations

import lzma
from pathlib import Path

from lang.errors import Problem

from sim.shadow.configyaml import YMap
from sim.shadow.rules import BOOL, STRING
from sim.shadow.walk import RuleWalker
from sim.scenario.gml import Edge, Graph, Node, graph_problems, parse_gml

__all__ = ["GraphChecks"]


class GraphChecks(RuleWalker):
    """`network()` reads the graph into `self.graph`; `used_nodes()` checks the nodes hosts
    are on once every host is read."""

    def __init__(self, file: str, base: Path, gml_files: dict[str, str]):
        super().__init__(file, base)
        self.gml_files = gml_files
        self.graph: Graph | None = None
        self.gml_where: tuple = (None, None, "network.graph")
        self.gml_file: Path | None = None
        self.used: dict[int, list[str]] = {}           # node id -> hosts on it

    def used_nodes(self, shortest: bool) -> None:
        """The graph's rules over the nodes that hosts are on (routes, latencies)."""
        if self.graph is not None and not self.graph.problems:
            used = set(self.used) & set(self.graph.nodes)
            for p in graph_problems(self.graph, used, shortest_path=shortest):
                self.gml_problem(p.line, p.rule, p.message)

    def network(self, network) -> bool:
        if not self.keys(network, "network", ("graph", "use_shortest_path"), ("graph",)):
            self.add_type(network, "network", "a mapping")
            return True
        shortest = self.value(network, "use_shortest_path", "network", BOOL) \
            if "use_shortest_path" in network else True
        if "graph" in network:
            self.load_graph(network["graph"], network)
        return shortest is not False

    def load_graph(self, graph, network) -> None:
        path = "network.graph"
        if not isinstance(graph, YMap) or graph.get("type") not in ("gml", "1_gbit_switch"):
            got = graph.get("type") if isinstance(graph, YMap) else graph
            self.add(network, "graph", path, "graph", f"type must be gml or 1_gbit_switch, got {got!r}")
            return
        if graph["type"] == "1_gbit_switch":
            self.keys(graph, path, ("type",))
            self.graph = Graph(nodes={0: Node(0, 1, {"host_bandwidth_down": "1 Gbit",
                                                     "host_bandwidth_up": "1 Gbit"})},
                               edges=[Edge(0, 0, 1, {"latency": "1 ms", "packet_loss": 0.0})])
            self.gml_where = (graph, "type", path)
            self.summary.nodes, self.summary.edges = 1, 1
            return
        self.keys(graph, path, ("type", "inline", "file"))
        sources = [k for k in ("inline", "file") if k in graph]
        if len(sources) != 1:
            self.add(network, "graph", path, "graph", "give exactly one of inline or file")
            return
        if sources == ["inline"]:
            text = self.value(graph, "inline", path, STRING)
            self.gml_where = (graph, "inline", f"{path}.inline")
        else:
            text = self.read_gml(graph["file"], f"{path}.file")
            self.gml_where = (graph, "file", f"{path}.file")
        if text is None:
            return
        self.graph = parse_gml(text)
        for p in self.graph.problems:
            self.gml_problem(p.line, p.rule, p.message)
        self.summary.nodes, self.summary.edges = len(self.graph.nodes), len(self.graph.edges)

    def read_gml(self, source, path: str) -> str | None:
        if not self.keys(source, path, ("path", "compression"), ("path",)):
            self.add_type(source, path, "a mapping {path, compression}")
            return None
        if "compression" in source and source["compression"] not in ("xz", None):
            self.add(source, "compression", f"{path}.compression", "type",
                     f"expected xz or null, got {source['compression']!r}")
        name = self.value(source, "path", path, STRING) if "path" in source else None
        if not name:
            return None
        file = (self.base / name).expanduser()
        self.gml_file = file
        if str(file) in self.gml_files:
            return self.gml_files[str(file)]
        try:
            if file.exists() and not file.is_file():
                raise OSError("not a regular file")
            raw = file.read_bytes()
            return (lzma.decompress(raw) if source.get("compression") == "xz" else raw).decode("utf-8")
        except (OSError, lzma.LZMAError, UnicodeDecodeError) as exc:
            self.add(source, "path", f"{path}.path", "graph", f"cannot read {file}: "
                                                              f"{getattr(exc, 'strerror', None) or exc}")
            return None

    def gml_problem(self, line: int, rule: str, message: str) -> None:
        parent, key, path = self.gml_where
        if key == "file":
            self.problems.append(Problem(str(self.gml_file), line, 1, "network.graph",
                                         f"{rule}: {message}"))
        else:
            self.add(parent, key, path, rule, f"GML line {line}: {message}")
