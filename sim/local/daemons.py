"""The monerods of a local run: one shared daemon (offline, the default), or the daemons of an
emulated network (`daemons: {placement: per-host}` or `shared` with `count` > 1), each on its own
loopback address, peered through the link relay (`sim.network`); and the private daemons of agents
whose group asks for one (`private_daemon: true`): offline, no peers, data in private/<agent>/."""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

from rpc_client import DaemonClient, RpcError

from sim.local.processes import DaemonProcess, Supervisor, cpu_seconds, free_port
from sim.network.plan import LOG_LEVEL, NetworkPlan, networked, plan_network
from sim.network.events import NetworkState
from sim.network.loopback import LoopbackLease, lease_block
from sim.network.relay import Relay
from sim.scenario.events import NetworkEvent
from sim.scenario.load import AgentSpec, Scenario

__all__ = ["RunDaemons", "SHARED_DAEMON", "NETWORK_PACE", "networked"]

SHARED_DAEMON = "daemon"     # daemons/daemon/: the one daemon of a run without a network
NETWORK_PACE = 1.0           # a networked run's default --max-speed: links delay in real time
RELAY_READY = 30.0           # real seconds the relay may take to bind its listeners
TIP_BLOCKS = 3               # last blocks of each daemon's chain recorded at the end
PRIVATE = "private"          # private/<agent>/: an agent's own offline daemon
CHAIN_CHUNK = 1000           # block headers per RPC when the main chain is recorded


class RunDaemons:
    """Start, find, watch and record the daemons of one run."""

    def __init__(self, scenario: Scenario, agents: list[AgentSpec], run_dir: Path,
                 supervisor: Supervisor):
        self.scenario = scenario
        self.agents = agents
        self.run_dir = run_dir
        self.supervisor = supervisor
        self.plan: NetworkPlan | None = None
        self.relay: Relay | None = None
        self.by_name: dict[str, DaemonProcess] = {}
        self.private: dict[str, DaemonProcess] = {}   # agent -> its private daemon
        self.tips: dict[str, dict] = {}          # daemon -> {height, top} at the end
        self.max_speed: float | None = None      # the run clock's pace (run.json)
        self.state: NetworkState | None = None   # the network as the events left it
        self.events: list[dict] = []             # the events applied, for run.json
        self.lease: LoopbackLease | None = None  # this run's loopback block

    @property
    def networked(self) -> bool:
        return networked(self.scenario)

    @property
    def main(self) -> DaemonProcess:
        """The daemon the launcher asks for the height: the first one."""
        return next(iter(self.by_name.values()))

    @property
    def all(self) -> list[DaemonProcess]:
        """Every daemon: the run's, then the agents' private ones."""
        return list(self.by_name.values()) + list(self.private.values())

    def start(self) -> DaemonProcess:
        """Start every daemon (and the relay first) and wait until each answers; the main one."""
        if not self.networked:
            self.by_name[SHARED_DAEMON] = self.supervisor.start_daemon(SHARED_DAEMON)
            self._start_private("0")
            for proc in self.private.values():
                proc.wait_ready(self.supervisor.ready_timeout)
            return self.main
        self.lease = lease_block()
        self.plan = plan_network(self.scenario, self.agents, free_port, self.lease.block)
        self.state = NetworkState(self.plan)
        self._start_relay()
        extra = tuple(self.scenario.monerod_args)
        for d in self.plan.daemons:
            self.by_name[d.name] = self.supervisor.start_daemon(
                d.name, offline=False, peers=tuple(d.peers), p2p_ip=d.ip, p2p_port=d.p2p_port,
                log_level=LOG_LEVEL, extra_args=extra, wait=False)
        self._start_private(LOG_LEVEL)
        for proc in self.all:
            proc.wait_ready(self.supervisor.ready_timeout)
        return self.main

    def _start_private(self, log_level: str) -> None:
        """An offline monerod without peers for each agent of a `private_daemon` group."""
        for spec in self.agents:
            if getattr(spec, "private_daemon", False):
                self.private[spec.id] = self.supervisor.start_daemon(
                    spec.id, home=PRIVATE, offline=True, log_level=log_level,
                    extra_args=tuple(self.scenario.monerod_args), wait=False)

    def private_for(self, agent_id: str) -> DaemonProcess | None:
        """The agent's private daemon, if its group has them."""
        return self.private.get(agent_id)

    def _start_relay(self) -> None:
        net = self.run_dir / "network"
        net.mkdir(parents=True, exist_ok=True)
        plan_path = net / "links.json"
        relayed = [{k: v for k, v in link.items() if k not in ("from", "to")} for link in self.plan.links]
        body = {"links": relayed, "stats": str(net / "stats.json"), "ready": str(net / "relay.ready"),
                "control": str(net / "control.json")}
        tmp = plan_path.with_name(f".links.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(body, indent=1) + "\n", encoding="utf-8")
        os.replace(tmp, plan_path)
        self.relay = Relay()
        self.relay.start(plan_path, self.run_dir / "logs" / "relay.log")
        self.relay.wait_ready(RELAY_READY)

    def apply(self, event: NetworkEvent, now: float) -> None:
        """A network event, at simulated `now`: the relay's links changed before it returns
        (ProcessError when the relay does not answer)."""
        links = self.state.apply(event)
        self.relay.control(self.run_dir / "network" / "control.json", len(self.events) + 1, links)
        self.events.append({**event.record(), "applied_at": now, "applied_wall": time.time(),
                            "links_cut": sum(1 for state in links.values() if state["cut"])})

    def for_agent(self, agent_id: str) -> DaemonProcess:
        """The daemon an agent's wallet-rpc and tree-runner use."""
        if self.plan is None:
            return self.main
        return self.by_name[self.plan.agent_daemon[agent_id]]

    def ended(self) -> list[DaemonProcess]:
        """Daemons that are no longer running."""
        return [d for d in self.all if not d.alive()]

    def relay_ended(self) -> bool:
        return self.relay is not None and not self.relay.alive()

    def read_tips(self) -> None:
        """Each daemon's final height and its last blocks' hashes, top first (did the network
        agree at the end? a race in the last moments may still be open)."""
        if self.plan is None:
            return
        for name, proc in self.by_name.items():
            if not proc.alive():
                continue
            try:
                with DaemonClient(proc.url, timeout=5, retries=0) as rpc:
                    height = int(rpc.get_info()["height"])
                    last = [str(rpc.get_block_header_by_height(h)["hash"])
                            for h in range(height - 1, max(height - 1 - TIP_BLOCKS, 0), -1)]
                self.tips[name] = {"height": height, "top": last[0] if last else None, "last": last}
            except (RpcError, KeyError, TypeError, ValueError):
                pass

    def write_chain(self) -> None:
        """chain.json: the first daemon's main chain at the end, every block's hash by height
        (the report tells from the journals whose blocks it holds). Nothing when it is down."""
        proc = self.main if self.by_name else None
        if proc is None or not proc.alive():
            return
        try:
            with DaemonClient(proc.url, timeout=30, retries=0) as rpc:
                height = int(rpc.get_info()["height"])
                hashes = [str(h["hash"]) for start in range(0, height, CHAIN_CHUNK)
                          for h in rpc.get_block_headers_range(start, min(height, start + CHAIN_CHUNK) - 1)]
        except (RpcError, KeyError, TypeError, ValueError):
            return
        path = self.run_dir / "chain.json"
        tmp = path.with_name(f".chain.json.{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"daemon": proc.name, "height": height, "hashes": hashes}) + "\n",
                       encoding="utf-8")
        os.replace(tmp, path)

    def record_private(self) -> dict | None:
        """run.json's `private_daemons`: agent -> its private daemon's process."""
        if not self.private:
            return None
        return {agent: {"name": proc.name, "url": proc.url, "rpc_port": proc.rpc_port, "pid": proc.pid,
                        "data_dir": f"{PRIVATE}/{agent}",
                        "exit_code": proc.popen.returncode if proc.popen else None}
                for agent, proc in self.private.items()}

    def cpu(self) -> float:
        return sum(cpu_seconds(d.pid) for d in self.all)

    def stop_relay(self) -> None:
        if self.relay is not None:
            self.relay.stop()
        if self.lease is not None:
            self.lease.release()

    def record(self) -> dict | None:
        """run.json's `network`: the daemons with their processes, the links, the pacing."""
        if self.plan is None:
            return None
        out = self.plan.record()
        for entry in out["daemons"]:
            proc = self.by_name.get(entry["name"])
            if proc is not None:
                entry.update(rpc_port=proc.rpc_port, url=proc.url, pid=proc.pid,
                             exit_code=proc.popen.returncode if proc.popen else None,
                             final=self.tips.get(entry["name"]))
        out["agents"] = dict(self.plan.agent_daemon)
        out["events"] = list(self.events)
        out["relay"] = {"pid": self.relay.pid if self.relay else None, "log": "logs/relay.log",
                        "plan": "network/links.json", "stats": "network/stats.json"}
        out["pacing"] = {"max_speed": self.max_speed,
                         "rule": "simulated time runs at most max_speed x real time, so a link's "
                                 "latency is never shorter in simulated time than configured"}
        return out

