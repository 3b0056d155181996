"""Network events during a local run: what each one does to the relay's links.

`NetworkState` keeps the network as it is now (the scenario's, changed by every latency and loss
event so far, and the links cut by the last partition). `apply(event)` returns the new state of
every link — {name: {cut, delay, loss}} — which the launcher hands to the relay (`control` in
`sim.network.relay`):

- partition: every link with exactly one end on a host of the named regions or groups is cut;
  the other links are as they were. A later partition replaces the cut (it does not add to it).
- heal: no link is cut.
- latency / loss: the region link (or every link, `*`) gets the new value, and every relay link's
  delay and loss are routed again over the changed graph, as at the start.
"""
from __future__ import annotations

import copy
import dataclasses

from sim.network.plan import NetworkPlan, link_paths
from sim.scenario.events import HEAL, LATENCY, LOSS, PARTITION, NetworkEvent
from sim.scenario.layout import SWITCH

__all__ = ["NetworkState"]


class NetworkState:
    """The emulated network of one run as the events change it."""

    def __init__(self, plan: NetworkPlan):
        self.plan = plan
        self.network = copy.deepcopy(plan.scenario.network)
        self.cut: set[str] = set()
        self.links = {link["name"]: {"cut": False, "delay": link["delay"], "loss": link["loss"]}
                      for link in plan.links}

    def apply(self, event: NetworkEvent) -> dict[str, dict]:
        """Every link's state after `event`."""
        if event.kind == PARTITION:
            inside = self._hosts_of(event)
            self.cut = {link["name"] for link in self.plan.links
                        if (link["from"] in inside) != (link["to"] in inside)}
        elif event.kind == HEAL:
            self.cut = set()
        elif event.kind in (LATENCY, LOSS):
            self._change(event)
        for name, state in self.links.items():
            state["cut"] = name in self.cut
        return copy.deepcopy(self.links)

    def _hosts_of(self, event: NetworkEvent) -> set[str]:
        hosts = self.plan.hosts.values()
        if event.regions:
            return {h.name for h in hosts if h.region in event.regions}
        return {h.name for h in hosts if h.agent is not None and h.agent.group in event.groups}

    def _change(self, event: NetworkEvent) -> None:
        value = event.latency if event.kind == LATENCY else event.loss
        table = self.network.latencies if event.kind == LATENCY else self.network.losses
        if self.network.type == SWITCH:
            setattr(self.network, "latency" if event.kind == LATENCY else "packet_loss", value)
        elif event.link is None:                          # EVERY_LINK
            for pair in self.network.latencies:
                table[pair] = value
        else:
            table[event.link] = value
        scenario = dataclasses.replace(self.plan.scenario, network=self.network)
        routes = link_paths(scenario, scenario.agents())
        for link in self.plan.links:
            a, b = self.plan.hosts[link["from"]], self.plan.hosts[link["to"]]
            path = routes[a.node, b.node]
            self.links[link["name"]].update(delay=path.latency, loss=path.loss)

