"""The emulated network of a local run: which daemons run, on which loopback address, peered
how, and every P2P link's latency, bandwidth and loss.

The hosts, the daemon placement and the exclusive-peer overlay are the ones the Shadow generator
draws (`sim.scenario.topology.build_topology`, one code path). Locally each daemon host gets
its own loopback address (Shadow's 11.0.B.C becomes 127.L.B.C, L the run's own block
(`sim.network.loopback`), 77 when alone: Linux routes all of 127/8 to `lo`), monerod binds P2P there, and every overlay edge A -> B becomes a relay link
(`sim.network.relay`): A's monerod connects to the relay on B's address, the relay connects on
to B's monerod from A's address, delaying each direction by the path latency between their
graph nodes (`sim.scenario.topology.paths`), at the rate min(A up, B down), with the path's loss.
RPC stays on 127.0.0.1 (the agents and wallets of a host talk to its daemon without delay).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sim.monero.commands import LOG_LEVEL
from sim.network.loopback import FIRST_BLOCK
from sim.scenario.layout import Bandwidth
from sim.scenario.load import AgentSpec, Scenario
from sim.scenario.topology import Host, Path, build_topology, node_bandwidths, paths

__all__ = ["DaemonPlan", "NetworkPlan", "plan_network", "networked", "local_ip", "link_paths", "LOG_LEVEL"]



def networked(scenario: Scenario) -> bool:
    """True when the run has more than one daemon (`per-host`, or `shared` with count > 1)."""
    return scenario.daemons.several()


def local_ip(shadow_ip: str, block: int = FIRST_BLOCK) -> str:
    """11.0.B.C -> 127.<block>.B.C."""
    a, b, c, d = (int(x) for x in shadow_ip.split("."))
    if a != 11 or b != 0:
        raise ValueError(f"{shadow_ip}: more hosts than a local run can address")
    return f"127.{block}.{c}.{d}"


@dataclass
class DaemonPlan:
    name: str
    ip: str                          # its own loopback address (P2P binds here)
    node: int                        # graph node
    region: str | None
    p2p_port: int = 0
    peers: list[str] = field(default_factory=list)     # relay addresses it connects to
    spy: bool = False                                  # a spy node's daemon

    def record(self) -> dict:
        return {"name": self.name, "ip": self.ip, "node": self.node, "region": self.region,
                "p2p_port": self.p2p_port, "peers": list(self.peers),
                "data_dir": f"daemons/{self.name}", **({"spy": True} if self.spy else {})}


@dataclass
class NetworkPlan:
    daemons: list[DaemonPlan]
    links: list[dict]                # sim.network.links.LinkSpec fields
    agent_daemon: dict[str, str]     # agent id -> the daemon it uses
    scenario: Scenario | None = None
    hosts: dict[str, Host] = field(default_factory=dict)     # daemon hosts by name

    def daemon(self, name: str) -> DaemonPlan:
        return next(d for d in self.daemons if d.name == name)

    def record(self) -> dict:
        keep = ("name", "from", "to", "delay", "rate_forward", "rate_back", "loss")
        return {"kind": "emulated", "daemons": [d.record() for d in self.daemons],
                "links": [{k: link[k] for k in keep} for link in self.links]}


def plan_network(scenario: Scenario, agents: list[AgentSpec], free_port,
                 block: int = FIRST_BLOCK) -> NetworkPlan:
    """The daemons and links of a networked local run in loopback block `block`; `free_port(ip)`
    hands out free ports."""
    topology = build_topology(scenario, agents)
    runners = [h for h in topology.hosts if h.daemon]
    by_ip = {h.ip: h for h in runners}
    daemons = {h.name: DaemonPlan(h.name, local_ip(h.ip, block), h.node, h.region, spy=h.spy) for h in runners}
    for d in daemons.values():
        d.p2p_port = free_port(d.ip)
    table = paths(topology)
    rates = node_bandwidths(topology)
    links = []
    for host in runners:
        for peer_name in host.peer_hosts:
            peer = next(h for h in runners if h.name == peer_name)
            links.append(_link(scenario, host, peer, daemons, table, rates, free_port))
            daemons[host.name].peers.append(f"{links[-1]['listen'][0]}:{links[-1]['listen'][1]}")
    agent_daemon = {h.agent.id: by_ip[h.daemon_ip].name for h in topology.hosts if h.agent is not None}
    return NetworkPlan(list(daemons.values()), links, agent_daemon, scenario, {h.name: h for h in runners})


def link_paths(scenario: Scenario, agents: list[AgentSpec]) -> dict[tuple[int, int], Path]:
    """`paths` of the topology `scenario` draws (for a network changed during the run)."""
    return paths(build_topology(scenario, agents))


def _bandwidth(host: Host, rates: dict[int, Bandwidth]) -> Bandwidth | None:
    return host.bandwidth or (host.agent.host_bandwidth if host.agent else None) or rates.get(host.node)


def _link(scenario: Scenario, a: Host, b: Host, daemons: dict[str, DaemonPlan], table, rates,
          free_port) -> dict:
    src, dst = daemons[a.name], daemons[b.name]
    path = table[a.node, b.node]
    up_a, up_b = _bandwidth(a, rates), _bandwidth(b, rates)
    forward = min(x for x in (up_a and up_a.up, up_b and up_b.down) if x) if (up_a or up_b) else 0
    back = min(x for x in (up_b and up_b.up, up_a and up_a.down) if x) if (up_a or up_b) else 0
    name = f"{a.name}>{b.name}"
    return {"name": name, "from": a.name, "to": b.name,
            "listen": [dst.ip, free_port(dst.ip)], "connect": [dst.ip, dst.p2p_port], "source": src.ip,
            "delay": path.latency, "jitter": path.jitter, "rate_forward": forward, "rate_back": back,
            "loss": path.loss, "seed": f"{scenario.seed}/{name}"}
