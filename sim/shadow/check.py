"""Hold a Shadow 3.x config to every rule Shadow applies when it loads one (mirrored from Shadow's
`configuration.rs`, `units.rs` and its GML graph code; docs/shadow.md §6). Independent of the generator.

Each problem is `file:line:col: path: RULE: message`; RULES lists the rule names. Only top-level
keys may be `x-` extension fields. Values are typed as serde_yaml types them (YAML 1.2 core):
`yes` is a string, `1.5` a float (no time), an unquoted `1` is not a string.
"""
from __future__ import annotations

import ipaddress
import re
import shlex
from pathlib import Path

from lang.errors import Problem, kind_of

from sim.shadow.configyaml import YamlError, YList, YMap, load_config_yaml
from sim.shadow.graphcheck import GraphChecks
from sim.shadow.rules import (BITS, GENERAL, EXPERIMENTAL, HOST_KEYS, HOST_OPTIONS, I32, PROCESS_KEYS, RULES,
                              SIGNALS, STRING, TIME, TIME_NULL, U32, is_int)
from sim.shadow.walk import Summary, join

__all__ = ["check_config", "check_text", "RULES", "Summary"]

_HOST_CHAR = re.compile(r"[^a-z0-9.-]")
_QUOTING = re.compile(r"['\"\\]")
_IPV4 = re.compile(r"(0|[1-9][0-9]{0,2})(\.(0|[1-9][0-9]{0,2})){3}")


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


class _Checker(GraphChecks):
    """Every section of a config: the top level, hosts and their processes."""

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
        self.used_nodes(shortest)

    def hosts(self, hosts, stop_ns: int | None) -> None:
        if not isinstance(hosts, YMap):
            self.add_type(hosts, "hosts", "a mapping of host names")
            return
        ips: dict[ipaddress.IPv4Address, str] = {}
        for name, host in hosts.items():
            self.summary.hosts += 1
            path = join("hosts", name)
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
                self.add(env, name, join(where, name), "environment", f"bad variable name {name!r}", at_key=True)
            elif not isinstance(value, str):
                self.add(env, name, join(where, name), "environment", f"expected a string, got {kind_of(value)} "
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
        self.add(parent, key, join(where, key), "signal", f"{value!r} is not a signal (SIGTERM, SIGINT, 15, …)")
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


def _secs(ns: int) -> str:
    return f"{ns / 1e9:g} s"
