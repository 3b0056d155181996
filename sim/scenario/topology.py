"""The hosts of a Shadow run and the network they sit on, from a scenario.

- Hosts: one per agent (named by its id), plus `daemon-<i>` hosts for `placement: shared`.
- IPs: 11.0.0.1 upward in host order, skipping addresses ending in .0 and .255 (as Shadow does).
- Graph: `switch` and `regions` give one GML node per (region, bandwidth) pair actually used, so
  bandwidth sits on nodes (a per-host bandwidth_up was ignored up to Shadow 3.3.0), and an edge
  between every two nodes whose regions have a latency (self-loops included). `gml` copies the
  scenario's file; a group's host_bandwidth then goes on its hosts.
- Daemon overlay: each daemon lists its ring successor plus random others (seeded) as exclusive
  peers, `peers` in all: the ring keeps every daemon connected, the chords keep paths short.
  Spy hosts (a group's `spy: true`) stay out of the ring and chords; every other daemon also
  lists each spy, so every daemon dials every spy and a spy dials no one.
- Paths: `paths()` gives the one-way latency and loss between two graph nodes as Shadow routes
  them (a node to itself: its self-loop; otherwise the shortest path by latency, losses
  compounded). Local networked runs (`sim.network`) shape their links with it.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field


from sim.scenario.layout import GML, PER_HOST, REGIONS, Bandwidth
from sim.scenario.load import AgentSpec, Scenario

from sim.scenario.gml import parse_gml, write_gml
from sim.scenario.units import format_bits, format_time, parse_bits, parse_time_ns

__all__ = ["Host", "Topology", "Path", "build_topology", "ip_addresses", "peer_overlay", "daemon_names",
           "paths", "node_bandwidths"]

FIRST_IP = (11 << 24) + 1


@dataclass
class Host:
    name: str
    ip: str = ""
    node: int = 0
    agent: AgentSpec | None = None          # None: a shared daemon's host
    daemon: bool = True                     # runs monerod
    daemon_ip: str = ""                     # the monerod its wallet-rpc and tree-runner use
    bandwidth: Bandwidth | None = None      # host-level bandwidth (gml networks only)
    region: str | None = None               # `network: {type: regions}` only
    peers: list[str] = field(default_factory=list)        # the IP of each exclusive peer
    peer_hosts: list[str] = field(default_factory=list)   # the same peers' host names
    spy: bool = False                       # a spy node (its agent's group has `spy: true`)


@dataclass
class Topology:
    hosts: list[Host]
    gml: str
    nodes: int
    edges: int


def ip_addresses(count: int) -> list[str]:
    """`count` addresses from 11.0.0.1 upward, never ending in .0 or .255."""
    out, value = [], FIRST_IP
    while len(out) < count:
        if value & 0xFF not in (0, 255):
            out.append(f"{value >> 24}.{(value >> 16) & 0xFF}.{(value >> 8) & 0xFF}.{value & 0xFF}")
        value += 1
    return out


def daemon_names(count: int) -> list[str]:
    """Host names of `placement: shared` daemons."""
    return ["daemon"] if count == 1 else [f"daemon-{i}" for i in range(count)]


def peer_overlay(count: int, peers: int, seed: int, overlay: str = "random") -> list[list[int]]:
    """For each of `count` daemons, the indices of its exclusive peers: the next one on a ring,
    then random others from `random.Random("<seed>/peers")` up to `peers` (or count - 1);
    `line`: the next one only, the last none."""
    if overlay == "line":
        return [[i + 1] if i + 1 < count else [] for i in range(count)]
    rng = random.Random(f"{seed}/peers")
    want = min(peers, count - 1)
    out = []
    for i in range(count):
        chosen = [(i + 1) % count] if want else []
        taken = set(chosen) | {i}
        while len(chosen) < want:
            j = rng.randrange(count)
            if j not in taken:
                taken.add(j)
                chosen.append(j)
        out.append(chosen)
    return out


def build_topology(scenario: Scenario, agents: list[AgentSpec]) -> Topology:
    per_host = scenario.daemons.resolved(PER_HOST) == PER_HOST
    hosts = [Host(a.id, agent=a, daemon=per_host, spy=a.spy and per_host) for a in agents]
    daemons = [] if per_host else [Host(name) for name in daemon_names(scenario.daemons.count)]
    everyone = hosts + daemons
    for host, ip in zip(everyone, ip_addresses(len(everyone))):
        host.ip = ip
    for k, host in enumerate(hosts):
        host.daemon_ip = host.ip if per_host else daemons[k % len(daemons)].ip
    for host in daemons:
        host.daemon_ip = host.ip
    runners = [h for h in everyone if h.daemon and not h.spy]
    spies = [h for h in everyone if h.spy]
    for host, chosen in zip(runners, peer_overlay(len(runners), scenario.daemons.peers, scenario.seed,
                                                scenario.daemons.overlay)):
        host.peers = [runners[j].ip for j in chosen] + [spy.ip for spy in spies]
        host.peer_hosts = [runners[j].name for j in chosen] + [spy.name for spy in spies]
    network = scenario.network
    if network.type == GML:
        for i, host in enumerate(daemons):
            host.node = network.nodes[i % len(network.nodes)]
        for host in hosts:
            host.node, host.bandwidth = host.agent.network_node, host.agent.host_bandwidth
        text = network.file.read_text(encoding="utf-8")
        return Topology(everyone, text, len(network.all_nodes), 0)
    return _generated_graph(scenario, hosts, daemons)


def _generated_graph(scenario: Scenario, hosts: list[Host], daemons: list[Host]) -> Topology:
    network = scenario.network
    names = list(network.regions) if network.type == REGIONS else ["switch"]

    def bandwidth_of(region: str) -> Bandwidth:
        return network.regions[region].bandwidth if network.type == REGIONS else network.bandwidth

    keys: dict[tuple[str, Bandwidth], int] = {}
    for host in hosts:
        region = host.agent.region or names[0]
        key = (region, host.agent.host_bandwidth or bandwidth_of(region))
        host.node = keys.setdefault(key, len(keys))
        host.region = region if network.type == REGIONS else None
    for i, host in enumerate(daemons):
        region = names[i % len(names)]
        host.node = keys.setdefault((region, bandwidth_of(region)), len(keys))
        host.region = region if network.type == REGIONS else None
    nodes, edges = [], []
    ordered = sorted(keys.items(), key=lambda item: item[1])
    for (region, bw), node_id in ordered:
        label = region if bw == bandwidth_of(region) else f"{region} {format_bits(bw.down)}/{format_bits(bw.up)}"
        nodes.append((node_id, label, format_bits(bw.down), format_bits(bw.up)))
    for (region_a, _), a in ordered:
        for (region_b, _), b in ordered[a:]:
            link = network.link(region_a, region_b) if network.type == REGIONS else \
                (network.latency, network.packet_loss, network.jitter)
            if link is not None:
                edges.append((a, b, format_time(link[0]), link[1], format_time(link[2]) if link[2] else None))
    return Topology(hosts + daemons, write_gml(nodes, edges), len(nodes), len(edges))


@dataclass(frozen=True)
class Path:
    latency: float          # seconds, one way
    loss: float             # packet loss along the path, 0 to 1
    jitter: float = 0.0     # seconds: the jitters of its edges added up


def paths(topology: Topology) -> dict[tuple[int, int], Path]:
    """One-way latency and loss between every two graph nodes that hold hosts, as Shadow routes
    them: a node to itself over its self-loop, else the shortest path by latency."""
    import networkx as nx           # only networked runs pay for its import
    graph = parse_gml(topology.gml)
    g = nx.DiGraph() if graph.directed else nx.Graph()
    for edge in graph.edges:
        g.add_edge(edge.source, edge.target, latency=parse_time_ns(edge.attrs["latency"]) / 1e9,
                   loss=float(edge.attrs.get("packet_loss", 0.0)),
                   jitter=parse_time_ns(edge.attrs["jitter"]) / 1e9 if "jitter" in edge.attrs else 0.0)
    used = sorted({h.node for h in topology.hosts})
    out: dict[tuple[int, int], Path] = {}
    for a in used:
        for b in used:
            if a == b:
                edge = g.get_edge_data(a, a)
                out[a, b] = Path(edge["latency"], edge["loss"], edge["jitter"]) if edge else Path(0.0, 0.0)
                continue
            hops = nx.shortest_path(g, a, b, weight="latency")
            steps = [g[u][v] for u, v in zip(hops, hops[1:])]
            kept = 1.0
            for step in steps:
                kept *= 1.0 - step["loss"]
            out[a, b] = Path(sum(s["latency"] for s in steps), 1.0 - kept, sum(s["jitter"] for s in steps))
    return out


def node_bandwidths(topology: Topology) -> dict[int, Bandwidth]:
    """Each graph node's host bandwidth (bits/s), where the graph gives both directions."""
    out = {}
    for node_id, node in parse_gml(topology.gml).nodes.items():
        down, up = node.attrs.get("host_bandwidth_down"), node.attrs.get("host_bandwidth_up")
        if down is not None and up is not None:
            out[node_id] = Bandwidth(parse_bits(down), parse_bits(up))
    return out
