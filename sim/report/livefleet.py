"""The fleet of a running run, read as the agents write their status journals (`ipc.status`).

`LiveFleet.update()` reads what was appended since the last call; `snapshot()` tells, per role,
how many agents are in each leaf now (the leaf is RUNNING), and each leaf's successes and
failures so far. The live page (`sim.local.live`) serves it; the report's fleet view counts the
same things from the finished journals.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import ipc

from sim.report.statuses import node_label

__all__ = ["LiveFleet"]


@dataclass
class _Agent:
    reader: ipc.JournalReader
    role: str = "(no role)"
    nodes: list[list] = field(default_factory=list)
    states: list[str] = field(default_factory=list)
    finished: dict[tuple[int, str], int] = field(default_factory=dict)
    ended: bool = False


class LiveFleet:
    """The status journals under `run_dir`/status, followed as they grow."""

    def __init__(self, run_dir: str | Path):
        self.dir = Path(run_dir) / "status"
        self.agents: dict[str, _Agent] = {}

    def update(self) -> None:
        """Read every journal's new lines (new agents' journals included)."""
        for path in sorted(self.dir.glob("*.jsonl")):
            agent = self.agents.get(path.stem)
            if agent is None:
                agent = self.agents[path.stem] = _Agent(ipc.JournalReader(path))
            for line in agent.reader.read_new():
                self._apply(agent, line)

    @staticmethod
    def _apply(agent: _Agent, line: dict) -> None:
        if "nodes" in line:
            agent.role = str(line.get("role") or "(no role)")
            agent.nodes, agent.states = line["nodes"], ["I"] * len(line["nodes"])
            agent.ended = False
        for i, letter in zip(line.get("c", [])[::2], line.get("c", [])[1::2]):
            if i < len(agent.states):
                agent.states[i] = letter
                if letter in ("S", "F"):
                    agent.finished[(i, letter)] = agent.finished.get((i, letter), 0) + 1
        if "counts" in line:
            agent.ended = True

    def snapshot(self) -> dict:
        """{"agents", "ended", "roles": {role: {"agents", "leaves": [{label, now, success,
        failure}]}}}: leaves in tree order, those no agent has reached left out."""
        roles: dict[str, dict] = {}
        for agent in self.agents.values():
            if not agent.nodes:
                continue
            entry = roles.setdefault(agent.role, {"agents": 0, "leaves": {}})
            entry["agents"] += 1
            for i, node in enumerate(agent.nodes):
                if node[4] != "leaf":
                    continue
                label = node_label(agent.nodes, i)     # by label: one role, several trees
                row = entry["leaves"].setdefault(label, {"label": label, "now": 0,
                                                         "success": 0, "failure": 0})
                row["now"] += agent.states[i] == "R"
                row["success"] += agent.finished.get((i, "S"), 0)
                row["failure"] += agent.finished.get((i, "F"), 0)
        for entry in roles.values():
            entry["leaves"] = [row for row in entry["leaves"].values()
                               if row["now"] or row["success"] or row["failure"]]
        return {"agents": sum(1 for a in self.agents.values() if a.nodes),
                "ended": sum(1 for a in self.agents.values() if a.ended),
                "roles": dict(sorted(roles.items()))}
