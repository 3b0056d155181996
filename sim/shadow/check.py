"""Hold a Shadow 3.x config to every rule in SHADOW_NOTES (mirrored from Shadow's
`configuration.rs`, `units.rs` and its GML graph code). Independent of the generator.

Each problem is `file:line:col: path: RULE: message`; RULES lists the rule names. Only top-level
keys may be `x-` extension fields. Values are typed as serde_yaml types them (YAML 1.2 core):
`yes` is a string, `1.5` a float (no time), an unquoted `1` is not a string.
"""
from __future__ import annotations

import ipaddress
import lzma
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

from lang.errors import Problem, did_you_mean, kind_of

from sim.shadow.configyaml import YamlError, YList, YMap, load_config_yaml
from sim.scenario.gml import Edge, Graph, Node, graph_problems, parse_gml
from sim.shadow.rules import (BITS, BOOL, BYTES, SCALAR_OK, STRING, STRING_NULL, TIME, TIME_NULL, U32, WORDS,
                    EXPERIMENTAL, GENERAL, HOST_KEYS, HOST_OPTIONS, I32, PROCESS_KEYS, RULES, SIGNALS, is_int)
from sim.scenario.units import UnitError, parse_bits, parse_bytes, parse_time_ns

__all__ = ["check_config", "check_text", "RULES", "Summary"]

_HOST_CHAR = re.compile(r"[^a-z0-9.-]")
_QUOTING = re.compile(r"['\"\\]")
_IPV4 = re.compile(r"(0|[1-9][0-9]{0,2})(\.(0|[1-9][0-9]{0,2})){3}")


@dataclass
class Summary:
    hosts: int = 0
    processes: int = 0
    nodes: int = 0
    edges: int = 0
    stop_time_ns: int | None = None

    def line(self, file: str) -> str:
        stop = f", stop_time {self.stop_time_ns // 10 ** 9} s" if self.stop_time_ns is not None else ""
        return (f"{file}: ok: {_n(self.hosts, 'host')}, {_n(self.processes, 'process')}, graph of "
                f"{_n(self.nodes, 'node')} and {_n(self.edges, 'edge')}{stop}")


def check_config(path: str | Path) -> tuple[list[Problem], Summary]:
    """Every rule broken by the Shadow config at `path` (relative paths resolve against its folder)."""
    path = Path(path)
    try:
        if path.exists() and not path.is_file():     # /dev/zero never ends, a FIFO blocks
            raise OSError("not a regular file")
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return [Problem(str(path), 1, 1, "", f"yaml: cannot read: {getattr(exc, 'strerror', None) or exc}")], \
            Summary()
    return check_text(text, str(path), path.resolve().parent)


def check_text(text: str, file: str, base: Path, *,
               gml_files: dict[str, str] | None = None) -> tuple[list[Problem], Summary]:
    """Every rule broken by the config `text`. `gml_files` gives the content of graph files by
    path, for a config checked before its graph is written."""
    checker = _Checker(file, base, gml_files or {})
    try:
        data = load_config_yaml(text)
    except YamlError as exc:
        return [Problem(file, line, col, "", f"yaml: {msg}") for line, col, msg in exc.problems], Summary()
    checker.top(data)
    return sorted(set(checker.problems)), checker.summary


class _Checker:
    def __init__(self, file: str, base: Path, gml_files: dict[str, str]):
        self.file, self.base, self.gml_files = file, base, gml_files
        self.problems: list[Problem] = []
        self.summary = Summary()
        self.graph: Graph | None = None
        self.gml_where: tuple = (None, None, "network.graph")
        self.gml_file: Path | None = None
        self.used: dict[int, list[str]] = {}           # node id -> hosts on it

    # ------------------------------------------------------------ reporting
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
                self.add(mapping, key, _join(path, key), "unknown key", f"{key!r}{hint}", at_key=True)
        for key in required:
            if key not in mapping:
                self.add(mapping, None, path or "(top)", "missing key", f"{key!r} is required")
        return True

    def value(self, parent, key, path: str, kind):
        """Check one typed value; returns it converted (ns, bits, …) or None if it is wrong."""
        value = parent[key]
        where = _join(path, key)
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

    # ------------------------------------------------------------ sections
    def top(self, data) -> None:
        if not self.keys(data, "", ("general", "network", "hosts", "experimental", "host_option_defaults"),
                         ("general", "network", "hosts"), extensions=True):
            self.add_type(data, "(top)", "a mapping")
            return
        general = self.fields(data["general"], "general", GENERAL, ("stop_time",)) if "general" in data else {}
        self.summary.stop_time_ns = general.get("stop_time")
        if general.get("stop_time") == 0:
            self.add(data["general"], "stop_time", "general.stop_time", "time order", "stop_time must be above 0")
        directory = general.get("data_directory")
        if directory and (self.base / directory).expanduser().exists():
            self.add(data["general"], "data_directory", "general.data_directory", "data directory",
                     f"{directory} exists; Shadow refuses to overwrite it (remove it first)")
        for key, table in (("experimental", EXPERIMENTAL), ("host_option_defaults", HOST_OPTIONS)):
            if key in data:
                self.fields(data[key], key, table)
        shortest = True
        if "network" in data:
            shortest = self.network(data["network"])
        if "hosts" in data:
            self.hosts(data["hosts"], general.get("stop_time"))
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

    def hosts(self, hosts, stop_ns: int | None) -> None:
        if not isinstance(hosts, YMap):
            self.add_type(hosts, "hosts", "a mapping of host names")
            return
        ips: dict[ipaddress.IPv4Address, str] = {}
        for name, host in hosts.items():
            self.summary.hosts += 1
            path = _join("hosts", name)
            self.host_name(hosts, name, path)
            if not self.keys(host, path, HOST_KEYS, ("network_node_id", "processes")):
                self.add_type(host, path, "a mapping")
                continue
            node = self.value(host, "network_node_id", path, U32) if "network_node_id" in host else None
            bandwidth = [self.value(host, k, path, BITS) if k in host else None
                         for k in ("bandwidth_down", "bandwidth_up")]
            if node is not None and self.graph is not None and not self.graph.problems:
                if node not in self.graph.nodes:
                    self.add(host, "network_node_id", f"{path}.network_node_id", "node id",
                             f"node {node} is not in the graph")
                else:
                    self.used.setdefault(node, []).append(str(name))
                    for have, side, value in zip(self.graph.bandwidth(node), ("down", "up"), bandwidth):
                        if not have and value is None and f"bandwidth_{side}" not in host:
                            self.add(hosts, name, path, "bandwidth", f"node {node} sets no host_bandwidth_{side}"
                                                                     f" and the host no bandwidth_{side}")
            if "ip_addr" in host:
                self.ip(host, path, ips, str(name))
            if "host_options" in host:
                self.fields(host["host_options"], f"{path}.host_options", HOST_OPTIONS)
            if "processes" in host:
                self.processes(host["processes"], f"{path}.processes", stop_ns)

    def host_name(self, hosts, name, path: str) -> None:
        if not isinstance(name, str):
            self.add(hosts, name, path, "type", f"a host name must be a string, got {kind_of(name)}", at_key=True)
            return
        bad = _HOST_CHAR.search(name)
        message = (f"only lowercase a-z, 0-9, '-' and '.' are allowed (found {bad.group()!r})" if bad else
                   "must not be empty" if not name else "must not start with '-'" if name.startswith("-") else
                   f"at most 253 characters, got {len(name)}" if len(name) > 253 else None)
        if message:
            self.add(hosts, name, path, "host name", message, at_key=True)

    def ip(self, host, path: str, ips: dict, name: str) -> None:
        text = host["ip_addr"]
        where = f"{path}.ip_addr"
        if not isinstance(text, str) or not _IPV4.fullmatch(text) or any(int(p) > 255 for p in text.split(".")):
            self.add(host, "ip_addr", where, "ip address", f"{text!r} is not an IPv4 address like 11.0.0.1")
            return
        ip = ipaddress.IPv4Address(text)
        why = ("unspecified" if ip.is_unspecified else "loopback" if ip.is_loopback else
               "multicast" if ip.is_multicast else "broadcast" if text == "255.255.255.255" else None)
        if why:
            self.add(host, "ip_addr", where, "ip address", f"{text} is a {why} address")
        elif ip in ips:
            self.add(host, "ip_addr", where, "ip address", f"{text} is also the address of host {ips[ip]!r}")
        else:
            ips[ip] = name

    def processes(self, processes, path: str, stop_ns: int | None) -> None:
        if not isinstance(processes, YList):
            self.add_type(processes, path, "a list of processes")
            return
        for i, proc in enumerate(processes):
            self.summary.processes += 1
            where = f"{path}[{i}]"
            if not self.keys(proc, where, PROCESS_KEYS, ("path",)):
                self.add_type(proc, where, "a mapping")
                continue
            exe = self.value(proc, "path", where, STRING) if "path" in proc else None
            if exe is not None and not exe.startswith("/"):
                self.add(proc, "path", f"{where}.path", "path", f"{exe!r}: use an absolute path "
                                                                "(a process's cwd is shadow.data/hosts/NAME)")
            if "args" in proc:
                self.args(proc, f"{where}.args")
            if "environment" in proc:
                self.environment(proc["environment"], f"{where}.environment")
            self.timing(proc, where, stop_ns)

    def args(self, proc, where: str) -> None:
        args = proc["args"]
        if isinstance(args, str):
            try:
                if _QUOTING.search(args):       # plain words split on whitespace: no need to parse
                    shlex.split(args)
            except ValueError as exc:
                self.add(proc, "args", where, "args", f"does not split like a shell: {exc}")
        elif isinstance(args, YList):
            for j, arg in enumerate(args):
                if not isinstance(arg, str):
                    self.add(args, j, f"{where}[{j}]", "args", f"expected a string, got {kind_of(arg)} (quote it)")
        else:
            self.add(proc, "args", where, "args", f"expected a string or a list of strings, got {kind_of(args)}")

    def environment(self, env, where: str) -> None:
        if not isinstance(env, YMap):
            self.add_type(env, where, "a mapping of names to strings")
            return
        for name, value in env.items():
            if not isinstance(name, str) or "=" in name:
                self.add(env, name, _join(where, name), "environment", f"bad variable name {name!r}", at_key=True)
            elif not isinstance(value, str):
                self.add(env, name, _join(where, name), "environment", f"expected a string, got {kind_of(value)} "
                                                                       "(quote every value)")

    def timing(self, proc, where: str, stop_ns: int | None) -> None:
        start = self.value(proc, "start_time", where, TIME) if "start_time" in proc else 0
        stop = self.value(proc, "shutdown_time", where, TIME_NULL) if "shutdown_time" in proc else None
        signal = self.signal(proc, "shutdown_signal", where) if "shutdown_signal" in proc else "SIGTERM"
        state = self.final_state(proc, where) if "expected_final_state" in proc else ("exited", 0)
        if start is not None and stop_ns is not None and start >= stop_ns:
            self.add(proc, "start_time", f"{where}.start_time", "time order",
                     f"start_time must be before general.stop_time ({_secs(start)} >= {_secs(stop_ns)})")
        if stop is not None and start is not None and stop <= start:
            self.add(proc, "shutdown_time", f"{where}.shutdown_time", "time order",
                     f"shutdown_time must be after start_time ({_secs(stop)} <= {_secs(start)})")
        if stop is not None and stop_ns is not None and stop >= stop_ns:
            self.add(proc, "shutdown_time", f"{where}.shutdown_time", "time order",
                     f"shutdown_time must be before general.stop_time ({_secs(stop)} >= {_secs(stop_ns)})")
        if stop is not None and signal in ("SIGKILL", 9) and state is not None and state[0] != "signaled":
            self.add(proc, "expected_final_state" if "expected_final_state" in proc else "shutdown_signal",
                     f"{where}.expected_final_state", "final state",
                     "a process sent SIGKILL at shutdown_time ends {signaled: SIGKILL}")

    def signal(self, parent, key, where: str):
        value = parent[key]
        if isinstance(value, str) and value in SIGNALS or is_int(value) and 1 <= value <= 31:
            return value
        self.add(parent, key, _join(where, key), "signal", f"{value!r} is not a signal (SIGTERM, SIGINT, 15, …)")
        return None

    def final_state(self, proc, where: str):
        state = proc["expected_final_state"]
        path = f"{where}.expected_final_state"
        if state == "running":
            return ("running",)
        if isinstance(state, YMap) and len(state) == 1 and "exited" in state:
            return ("exited", self.value(state, "exited", path, I32))
        if isinstance(state, YMap) and len(state) == 1 and "signaled" in state:
            return ("signaled", self.signal(state, "signaled", path))
        self.add(proc, "expected_final_state", path, "final state",
                 f"expected {{exited: N}}, {{signaled: SIGNAME}} or running, got {state!r}")
        return None


def _n(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "es" if word.endswith("s") else "s")


def _join(path: str, key) -> str:
    return f"{path}.{key}" if path else str(key)


def _secs(ns: int) -> str:
    return f"{ns / 1e9:g} s"
