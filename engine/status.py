"""Record a tree's status changes into the agent's status journal (`ipc.status`).

After each tick the recorder compares every node's status with the last one written and
writes one line with the nodes that changed, and those that finished again in that tick (a
leaf that succeeds tick after tick in a Repeat changes nothing, yet each success counts).
Nodes are numbered depth-first, as `tree-runner render` draws them.
"""
from __future__ import annotations

from typing import Callable

from py_trees.behaviour import Behaviour
from py_trees.common import Status

from .render import drawn_nodes

__all__ = ["StatusRecorder", "LETTER"]

LETTER = {Status.RUNNING: "R", Status.SUCCESS: "S", Status.FAILURE: "F", Status.INVALID: "I"}
_DONE = (Status.SUCCESS, Status.FAILURE)


class StatusRecorder:
    """One agent's status journal: header at start, a line per tick with changes, counts at end."""

    def __init__(self, writer, tree, catalogue, built_root: Behaviour, now: Callable[[], float],
                 header: dict):
        self.writer = writer
        self.now = now
        drawn = drawn_nodes(tree, catalogue)
        index = {id(node): i for i, node in enumerate(tree.root.walk())}
        self.nodes: list[Behaviour | None] = [None] * len(drawn)
        for behaviour in built_root.iterate():
            i = index.get(id(getattr(behaviour, "spec", None)))
            if i is not None:
                self.nodes[i] = behaviour
        self.by_behaviour = {id(b): i for i, b in enumerate(self.nodes) if b is not None}
        self.last = ["I"] * len(drawn)
        self.ticks = [0] * len(drawn)
        self.success = [0] * len(drawn)
        self.failure = [0] * len(drawn)
        nodes = [[n["path"], n["type"], n["name"], n["parent"], n["kind"], n["label"]]
                 for n in drawn]
        writer.write({"t": round(now(), 6), **header, "nodes": nodes})

    def tick(self, root: Behaviour) -> None:
        """Tick `root` once (as `tick_once`) and write what changed."""
        ticked = set()
        for node in root.tick():
            i = self.by_behaviour.get(id(node))
            if i is not None:
                ticked.add(i)
        changes: list = []
        for i, behaviour in enumerate(self.nodes):
            if behaviour is None:
                continue
            status = behaviour.status
            letter = LETTER.get(status, "I")
            done_again = i in ticked and status in _DONE
            if i in ticked:
                self.ticks[i] += 1
                if status == Status.SUCCESS:
                    self.success[i] += 1
                elif status == Status.FAILURE:
                    self.failure[i] += 1
            if letter != self.last[i] or done_again:
                changes += (i, letter)
                self.last[i] = letter
        if changes:
            self.writer.write({"t": round(self.now(), 6), "c": changes})

    def close(self) -> None:
        """Write the per-node counts (after the last tick and the final stop) and close."""
        changes: list = []
        for i, behaviour in enumerate(self.nodes):
            letter = LETTER.get(behaviour.status, "I") if behaviour is not None else "I"
            if letter != self.last[i]:
                changes += (i, letter)
                self.last[i] = letter
        t = round(self.now(), 6)
        if changes:
            self.writer.write({"t": t, "c": changes})
        self.writer.write({"t": t, "counts": {"ticks": self.ticks, "success": self.success,
                                              "failure": self.failure}})
        self.writer.close()
