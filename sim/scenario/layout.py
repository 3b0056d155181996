"""Where a scenario's agents run: the network, the daemon placement, extra Monero process
arguments and the wallet RPC login. Their schema is in `sim.scenario.schema`; `sim.scenario.load` calls
`load_layout` after the schema passed; every problem is a positioned `Problem`.

    network: {type: switch, latency: 1ms, bandwidth: 1 Gbit, packet_loss: 0}     # the default
    network: {type: gml, file: net.gml}              # relative to the scenario
    network:
      type: regions
      regions: {eu: {bandwidth: 100 Mbit}, us: {bandwidth_down: 50 Mbit, bandwidth_up: 10 Mbit}}
      latency: {eu: 5ms, us: 10ms, eu-us: 80ms}      # every region needs its own (intra) latency
      packet_loss: {eu-us: 0.01}                     # or one number for every link; default 0
      jitter: {eu-us: 20ms}                          # likewise; extra delay 0..jitter per packet
    daemons: {placement: per-host | shared, count: 2, peers: 4, overlay: random | line}
    monerod_args: [--log-level, "1"]                 # replace or add options (not the wiring)
    wallet_rpc_args: []
    wallet_login: {user: sim, password: secret}
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lang.values import DurationError, parse_duration
from lang.errors import Problem, did_you_mean
from lang.yamlload import Document

__all__ = ["Bandwidth", "Region", "Network", "Daemons", "WalletLogin", "Layout", "load_layout",
           "parse_bandwidth", "group_layout", "PER_HOST", "SHARED",
           "SWITCH", "GML", "REGIONS", "WIRING_OPTIONS"]

PER_HOST, SHARED = "per-host", "shared"
SWITCH, GML, REGIONS = "switch", "gml", "regions"
_REGION_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_BITS = {"": 1, "K": 10 ** 3, "Ki": 2 ** 10, "M": 10 ** 6, "Mi": 2 ** 20, "G": 10 ** 9,
         "Gi": 2 ** 30, "T": 10 ** 12, "Ti": 2 ** 40}
# options monerosim sets to wire processes together: a scenario may not replace them
WIRING_OPTIONS = frozenset({
    "--regtest", "--testnet", "--stagenet", "--data-dir", "--log-file", "--rpc-bind-ip",
    "--rpc-bind-port", "--p2p-bind-ip", "--p2p-bind-port", "--add-exclusive-node", "--add-peer",
    "--add-priority-node", "--seed-node", "--daemon-address", "--daemon-host", "--daemon-port",
    "--wallet-dir", "--wallet-file", "--shared-ringdb-dir", "--rpc-login", "--disable-rpc-login",
    "--confirm-external-bind", "--non-interactive", "--detach", "--offline",
})


def parse_bandwidth(text: str) -> int:
    """Bits per second in `100 Mbit` (the scenario schema's BANDWIDTH_PATTERN)."""
    match = re.fullmatch(r"([0-9]+) ?([KMGT]i?)?bit", text)
    if match is None:
        raise ValueError(f"bad bandwidth {text!r}")
    return int(match.group(1)) * _BITS[match.group(2) or ""]


@dataclass(frozen=True)
class Bandwidth:
    down: int                       # bits per second
    up: int


@dataclass(frozen=True)
class Region:
    name: str
    bandwidth: Bandwidth


@dataclass
class Network:
    type: str = SWITCH
    latency: float = 0.001          # switch: seconds on every path
    bandwidth: Bandwidth = Bandwidth(10 ** 9, 10 ** 9)
    packet_loss: float = 0.0
    jitter: float = 0.0             # seconds: switch, or every regions link not in `jitters`
    file: Path | None = None        # gml
    nodes: tuple[int, ...] = ()     # gml: nodes with a self-loop (hosts can sit there), file order
    all_nodes: frozenset[int] = frozenset()          # gml: every node id
    no_bandwidth: frozenset[int] = frozenset()       # gml: nodes without both host bandwidths
    regions: dict[str, Region] = field(default_factory=dict)
    latencies: dict[tuple[str, str], float] = field(default_factory=dict)   # sorted name pairs
    losses: dict[tuple[str, str], float] = field(default_factory=dict)
    jitters: dict[tuple[str, str], float] = field(default_factory=dict)

    def link(self, a: str, b: str) -> tuple[float, float, float] | None:
        """(latency s, packet loss, jitter s) between regions `a` and `b`, None without a direct link."""
        key = tuple(sorted((a, b)))
        if key not in self.latencies:
            return None
        return self.latencies[key], self.losses.get(key, self.packet_loss), self.jitters.get(key, self.jitter)


@dataclass(frozen=True)
class Daemons:
    placement: str | None = None    # None: per-host under Shadow, one shared daemon locally
    count: int = 1                  # shared daemons
    peers: int = 4                  # exclusive P2P neighbours per daemon
    overlay: str = "random"         # random (ring + chords) | line

    def resolved(self, default: str) -> str:
        return self.placement or default

    def several(self) -> bool:
        """More than one daemon in a local run: `per-host`, or `shared` with count > 1."""
        return self.placement == PER_HOST or (self.placement == SHARED and self.count > 1)


@dataclass(frozen=True)
class WalletLogin:
    user: str
    password: str

    @property
    def pair(self) -> tuple[str, str]:
        return self.user, self.password

    def __str__(self) -> str:
        return f"{self.user}:{self.password}"


@dataclass
class Layout:
    network: Network = field(default_factory=Network)
    daemons: Daemons = field(default_factory=Daemons)
    monerod_args: tuple[str, ...] = ()
    wallet_rpc_args: tuple[str, ...] = ()
    wallet_login: WalletLogin | None = None


def load_layout(doc: Document, data: dict, base: Path) -> tuple[Layout, list[Problem]]:
    """The layout keys of a schema-valid scenario mapping; paths relative to `base`."""
    problems: list[Problem] = []
    layout = Layout()
    if "network" in data:
        layout.network = _network(doc, data["network"], base, problems)
    if "daemons" in data:
        raw = data["daemons"]
        layout.daemons = Daemons(raw.get("placement"), raw.get("count", 1), raw.get("peers", 4),
                                 raw.get("overlay", "random"))
        if "count" in raw and raw.get("placement") != SHARED:
            problems.append(doc.problem(("daemons", "count"), "count is for `placement: shared` daemons",
                                        key=True))
    for key in ("monerod_args", "wallet_rpc_args"):
        args = tuple(data.get(key, ()))
        setattr(layout, key, args)
        problems += _args_problems(doc, key, args)
    if "wallet_login" in data:
        layout.wallet_login = WalletLogin(data["wallet_login"]["user"], data["wallet_login"]["password"])
    return layout, problems


def _args_problems(doc: Document, key: str, args: tuple[str, ...]) -> list[Problem]:
    if args and not args[0].startswith("--"):
        return [doc.problem((key, 0), f"{args[0]!r}: the first item must be an option (--name)")]
    for i, arg in enumerate(args):
        name = arg.split("=", 1)[0]
        if name in WIRING_OPTIONS:
            return [doc.problem((key, i), f"{name} is set by monerosim to wire the processes together; "
                                          "it cannot be changed here")]
    return []


def _seconds(doc: Document, path: tuple, value: Any, problems: list) -> float:
    try:
        seconds = parse_duration(value)
    except DurationError as exc:
        problems.append(doc.problem(path, str(exc)))
        return 0.0
    if seconds <= 0 or round(seconds * 1e9) == 0:
        problems.append(doc.problem(path, "latency must be above 0"))
    return seconds


def _jitter(doc: Document, path: tuple, value: Any, problems: list) -> float:
    try:
        return parse_duration(value)          # refuses a negative one
    except DurationError as exc:
        problems.append(doc.problem(path, str(exc)))
        return 0.0


def _network(doc: Document, raw: dict, base: Path, problems: list) -> Network:
    kind = raw["type"]
    if kind == SWITCH:
        bits = parse_bandwidth(raw.get("bandwidth", "1 Gbit"))
        latency = _seconds(doc, ("network", "latency"), raw["latency"], problems) if "latency" in raw else 0.001
        jitter = _jitter(doc, ("network", "jitter"), raw.get("jitter", 0), problems)
        return Network(SWITCH, latency, Bandwidth(bits, bits), float(raw.get("packet_loss", 0.0)), jitter)
    if kind == GML:
        return _gml_network(doc, raw, base, problems)
    net = Network(REGIONS, packet_loss=float(raw["packet_loss"]) if isinstance(raw.get("packet_loss"),
                                                                             (int, float)) else 0.0)
    for name, spec in raw["regions"].items():
        path = ("network", "regions", name)
        if not _REGION_NAME.match(name):
            problems.append(doc.problem(path, f"region name {name!r}: use lowercase a-z, 0-9 and _, "
                                              "starting with a letter", key=True))
            continue
        both = spec.get("bandwidth")
        down, up = spec.get("bandwidth_down", both), spec.get("bandwidth_up", both)
        if down is None or up is None:
            problems.append(doc.problem(path, "give bandwidth (or bandwidth_down and bandwidth_up)"))
            continue
        if both is not None and ("bandwidth_down" in spec and "bandwidth_up" in spec):
            problems.append(doc.problem(path + ("bandwidth",), "bandwidth is overridden by bandwidth_down "
                                                               "and bandwidth_up: remove one", key=True))
        net.regions[name] = Region(name, Bandwidth(parse_bandwidth(down), parse_bandwidth(up)))
    net.latencies = _pairs(doc, ("network", "latency"), raw["latency"], net, problems,
                           lambda path, v: _seconds(doc, path, v, problems))
    for name in net.regions:
        if (name, name) not in net.latencies and raw["latency"]:
            problems.append(doc.problem(("network", "latency"), f"missing {name!r}: the latency between "
                                                                f"two hosts of region {name}"))
    apart = _unlinked(net)
    if apart and not problems:
        problems.append(doc.problem(("network", "latency"), f"region {apart[1]!r} is not linked to region "
                                    f"{apart[0]!r}, directly or through others: add a latency like "
                                    f"{apart[0]}-{apart[1]}"))
    if isinstance(raw.get("jitter"), dict):
        net.jitters = _pairs(doc, ("network", "jitter"), raw["jitter"], net, problems,
                             lambda path, v: _jitter(doc, path, v, problems))
        for key in set(net.jitters) - set(net.latencies):
            problems.append(doc.problem(("network", "jitter", "-".join(key) if key[0] != key[1] else key[0]),
                                        "no latency is given for this link", key=True))
    elif "jitter" in raw:
        net.jitter = _jitter(doc, ("network", "jitter"), raw["jitter"], problems)
    if isinstance(raw.get("packet_loss"), dict):
        net.losses = _pairs(doc, ("network", "packet_loss"), raw["packet_loss"], net, problems,
                            lambda path, v: float(v))
        for key in set(net.losses) - set(net.latencies):
            problems.append(doc.problem(("network", "packet_loss", "-".join(key) if key[0] != key[1]
                                         else key[0]), "no latency is given for this link", key=True))
    return net


def _unlinked(net: Network) -> tuple[str, str] | None:
    """Two regions no chain of latencies joins, or None."""
    names = list(net.regions)
    if not names:
        return None
    seen, todo = {names[0]}, [names[0]]
    while todo:
        here = todo.pop()
        for a, b in net.latencies:
            other = b if a == here else a if b == here else None
            if other is not None and other not in seen:
                seen.add(other)
                todo.append(other)
    missing = [n for n in names if n not in seen]
    return (names[0], missing[0]) if missing else None


def _pairs(doc: Document, where: tuple, raw: dict, net: Network, problems: list, convert) -> dict:
    """`{eu: x, eu-us: y}` -> {("eu", "eu"): x, ("eu", "us"): y} with names checked."""
    out: dict[tuple[str, str], Any] = {}
    for key, value in raw.items():
        path = where + (key,)
        names = key.split("-")
        if len(names) == 1:
            names = names * 2
        bad = [n for n in names if n not in net.regions] if len(names) == 2 else [key]
        if bad:
            hint = did_you_mean(bad[0], net.regions) or f" (regions: {', '.join(net.regions)})"
            problems.append(doc.problem(path, f"{key!r}: write REGION or REGION-REGION; unknown region "
                                              f"{bad[0]!r}{hint}", key=True))
            continue
        pair = tuple(sorted(names))
        if pair in out:
            problems.append(doc.problem(path, f"{key!r}: the link {'-'.join(pair)} is given twice", key=True))
            continue
        out[pair] = convert(path, value)
    return out


def _gml_network(doc: Document, raw: dict, base: Path, problems: list) -> Network:
    from sim.scenario.gml import parse_gml
    path = (base / raw["file"]).resolve()
    where = ("network", "file")
    try:
        if path.exists() and not path.is_file():     # /dev/zero never ends, a FIFO blocks
            raise OSError("not a regular file")
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(doc.problem(where, f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}"))
        return Network(GML, file=path)
    graph = parse_gml(text)
    for p in graph.problems[:10]:
        problems.append(doc.problem(where, f"{path}:{p.line}: {p.rule}: {p.message}"))
    looped = {e.source for e in graph.edges if e.source == e.target}
    nodes = tuple(n for n in graph.nodes if n in looped)
    if not graph.problems and not nodes:
        problems.append(doc.problem(where, f"{path}: no node has a self-loop edge, so no host can sit "
                                           "on one"))
    return Network(GML, file=path, nodes=nodes, all_nodes=frozenset(graph.nodes),
                   no_bandwidth=frozenset(n for n in graph.nodes if not all(graph.bandwidth(n))))


def group_layout(doc: Document, raw: dict, group, network: Network,
                  duration: float | None) -> list[Problem]:
    """Set start/stagger, region, network_node, host_bandwidth and spy of `group` (a
    sim.scenario.load.Group) from its raw mapping; the problems found."""
    problems: list[Problem] = []
    gpath = ("groups", group.position)
    group.spy = bool(raw.get("spy", False))
    for key in ("start", "stagger"):
        if key in raw:
            try:
                setattr(group, key, parse_duration(raw[key]))
            except DurationError as exc:
                problems.append(doc.problem(gpath + (key,), str(exc)))
    last = group.start_of(group.count - 1)
    if duration and last >= duration and not problems:
        key = "stagger" if group.start < duration else "start"
        problems.append(doc.problem(gpath + (key,), f"agent {group.ids()[-1]} would start at {last:g}s, "
                                                    f"not before the end of the run ({duration:g}s)"))
    if "region" in raw:
        names = raw["region"] if isinstance(raw["region"], list) else [raw["region"]]
        if network.type != REGIONS:
            problems.append(doc.problem(gpath + ("region",), "region needs `network: {type: regions}`",
                                        key=True))
        for j, name in enumerate(names):
            if network.type == REGIONS and name not in network.regions:
                where = gpath + ("region",) + ((j,) if isinstance(raw["region"], list) else ())
                problems.append(doc.problem(where, f"unknown region {name!r}"
                                            f"{did_you_mean(name, network.regions) or ''} "
                                            f"(regions: {', '.join(network.regions)})"))
        group.region = tuple(names)
    if "network_node" in raw:
        ids = raw["network_node"] if isinstance(raw["network_node"], list) else [raw["network_node"]]
        if network.type != GML:
            problems.append(doc.problem(gpath + ("network_node",), "network_node needs "
                                        "`network: {type: gml, file: ...}`", key=True))
        elif any(n not in network.all_nodes for n in ids):
            bad = next(n for n in ids if n not in network.all_nodes)
            problems.append(doc.problem(gpath + ("network_node",), f"node {bad} is not in {network.file}"))
        group.network_node = tuple(ids)
    if "host_bandwidth" in raw:
        bw = raw["host_bandwidth"]
        down, up = (bw, bw) if isinstance(bw, str) else (bw["down"], bw["up"])
        group.host_bandwidth = Bandwidth(parse_bandwidth(down), parse_bandwidth(up))
    elif network.type == GML and network.no_bandwidth:
        nodes = group.network_node or network.nodes
        bare = sorted(set(nodes) & network.no_bandwidth)
        if bare:
            problems.append(doc.problem(gpath + ("name",), f"node {bare[0]} of {network.file} sets no "
                                        "host_bandwidth_down/up: give the group a host_bandwidth"))
    return problems
