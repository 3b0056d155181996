"""The agents' status journals (status/<agent>.jsonl, `ipc.status`) as the report uses them.

- `read_statuses`: per agent its tree (the last header), its status changes in time (a restart
  starts every node afresh) and its counts.
- `fleet`: per role, how many agents are in each leaf (the leaf is RUNNING: the agent waits
  there) at evenly spaced times. An agent in a Parallel is in several leaves at once.
- `leaf_stats`: per role and leaf, over the whole run: ticks, successes, failures, simulated
  seconds running, and how many agents ever ran it.
Times are seconds after the report's origin.
"""
from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass, field
from pathlib import Path

import ipc

__all__ = ["AgentStatus", "read_statuses", "states_at", "fleet", "leaf_stats", "node_label"]

FLEET_POINTS = 120


@dataclass
class AgentStatus:
    """One agent's status journal."""

    agent: str
    role: str | None
    tree: str
    nodes: list[list]                  # [path, type, name, parent, kind, label] per node
    frames: list[list] = field(default_factory=list)   # [t, i, s, i, s, ...]; [t] alone: restart
    counts: dict[str, list[int]] | None = None         # summed over the journal's segments
    end: float | None = None           # the last time written

    @property
    def leaves(self) -> list[int]:
        return [i for i, node in enumerate(self.nodes) if node[4] == "leaf"]


def node_label(nodes: list[list], i: int) -> str:
    """A node's one-line name: its drawing's first line, made unique by its index if needed."""
    title = nodes[i][5].split("\n")[0]
    same = [j for j, node in enumerate(nodes) if node[5].split("\n")[0] == title]
    return title if len(same) == 1 else f"{title} #{same.index(i) + 1}"


def _add_counts(total: dict | None, counts: dict) -> dict:
    if total is None or any(len(total[k]) != len(counts.get(k, ())) for k in total):
        return {k: list(counts.get(k, ())) for k in ("ticks", "success", "failure")}
    return {k: [a + b for a, b in zip(total[k], counts[k])] for k in total}


def _read_one(path: Path, origin: float) -> AgentStatus | None:
    found: AgentStatus | None = None
    for line in ipc.JournalReader(path).read_new():
        t = line.get("t")
        if not isinstance(t, (int, float)):
            continue
        t = float(t) - origin
        if "nodes" in line:
            if found is None:
                found = AgentStatus(str(line.get("agent") or path.stem), line.get("role"),
                                    str(line.get("tree", "")), line["nodes"])
            else:
                found.nodes = line["nodes"]
                found.frames.append([t])
        elif found is not None and "c" in line:
            found.frames.append([t, *line["c"]])
        elif found is not None and "counts" in line:
            found.counts = _add_counts(found.counts, line["counts"])
        if found is not None:
            found.end = t
    return found


def read_statuses(run_dir: str | Path, origin: float = 0.0) -> dict[str, AgentStatus]:
    """Every status/*.jsonl of the run, by agent ({} for a run without status journals)."""
    found = {}
    for path in sorted(Path(run_dir, "status").glob("*.jsonl")):
        status = _read_one(path, origin)
        if status is not None:
            found[status.agent] = status
    return found


def states_at(status: AgentStatus, t: float) -> list[str]:
    """Each node's status after the last tick at or before `t`."""
    states = ["I"] * len(status.nodes)
    for frame in status.frames:
        if frame[0] > t:
            break
        if len(frame) == 1:
            states = ["I"] * len(status.nodes)
        for i, letter in zip(frame[1::2], frame[2::2]):
            if i < len(states):
                states[i] = letter
    return states


def _running_spans(status: AgentStatus, end: float) -> dict[int, list[tuple[float, float]]]:
    """Per leaf, the (from, to) spans in which it was RUNNING (to the agent's or the run's end)."""
    since: dict[int, float] = {}
    spans: dict[int, list[tuple[float, float]]] = {}
    leaves = set(status.leaves)
    for frame in status.frames:
        t = frame[0]
        if len(frame) == 1:
            for i, start in since.items():
                spans.setdefault(i, []).append((start, t))
            since = {}
        for i, letter in zip(frame[1::2], frame[2::2]):
            if i not in leaves:
                continue
            if letter == "R" and i not in since:
                since[i] = t
            elif letter != "R" and i in since:
                spans.setdefault(i, []).append((since.pop(i), t))
    stop = min(end, status.end) if status.end is not None else end
    for i, start in since.items():
        spans.setdefault(i, []).append((start, max(start, stop)))
    return spans


def fleet(statuses: dict[str, AgentStatus], end: float, points: int = FLEET_POINTS) -> dict:
    """{role: {"times": [...], "agents": n, "series": [{"label", "counts"}]}}: agents in
    each leaf at `points` times from 0 to `end` (leaves nobody ran are left out)."""
    times = [end * k / (points - 1) for k in range(points)] if end > 0 else [0.0]
    out: dict[str, dict] = {}
    for status in statuses.values():
        role = status.role or "(no role)"
        entry = out.setdefault(role, {"times": times, "agents": 0, "counts": {}})
        entry["agents"] += 1
        for i, spans in _running_spans(status, end).items():
            # by label: agents of one role may run different trees (a selfish and an honest pool)
            counts = entry["counts"].setdefault(node_label(status.nodes, i), [0] * len(times))
            covered = set()
            for a, b in spans:       # the times t with a <= t < b
                covered.update(range(bisect_left(times, a), bisect_left(times, b)))
            for k in covered:
                counts[k] += 1
    for entry in out.values():
        counts = entry.pop("counts")
        entry["series"] = [{"label": label, "counts": c} for label, c in counts.items() if any(c)]
    return out


def leaf_stats(statuses: dict[str, AgentStatus], end: float) -> dict[str, list[dict]]:
    """{role: [{node, label, type, ticks, success, failure, running, agents}]}, leaves in tree
    order. Counts come from the agents' end records; an agent killed before writing them counts
    its finishes from its changes (ticks unknown: left out)."""
    out: dict[str, dict[str, dict]] = {}
    for status in statuses.values():
        rows = out.setdefault(status.role or "(no role)", {})
        spans = _running_spans(status, end)
        finished = _finishes(status)
        for i in status.leaves:
            label = node_label(status.nodes, i)        # by label: one role, several trees
            row = rows.setdefault(label, {"node": i, "label": label,
                                      "type": status.nodes[i][1], "ticks": 0, "success": 0,
                                      "failure": 0, "running": 0.0, "agents": 0})
            counts = status.counts
            if counts is not None and i < len(counts["ticks"]):
                row["ticks"] += counts["ticks"][i]
                row["success"] += counts["success"][i]
                row["failure"] += counts["failure"][i]
            else:
                row["success"] += finished.get((i, "S"), 0)
                row["failure"] += finished.get((i, "F"), 0)
            row["running"] += sum(b - a for a, b in spans.get(i, ()))
            ran = counts["ticks"][i] if counts is not None and i < len(counts["ticks"]) else \
                len(spans.get(i, ())) + finished.get((i, "S"), 0) + finished.get((i, "F"), 0)
            row["agents"] += 1 if ran else 0
    return {role: [row for row in rows.values() if row["agents"]] for role, rows in out.items()}


def _finishes(status: AgentStatus) -> dict[tuple[int, str], int]:
    found: dict[tuple[int, str], int] = {}
    for frame in status.frames:
        for i, letter in zip(frame[1::2], frame[2::2]):
            if letter in ("S", "F"):
                found[(i, letter)] = found.get((i, letter), 0) + 1
    return found
