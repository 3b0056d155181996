"""Status journals: each node's status changes, one file per agent, one writer each.

`<status_dir>/<agent>.jsonl`, JSON lines (docs/status.schema.json):
  {"t", "agent", "tree", "role", "nodes": [[path, type, name, parent, kind, label], ...]}
      the tree, first (again after a restart: statuses start afresh); node i is the i-th
      in depth-first order, drawn as n{i+1} by `tree-runner render`; parent -1 for the root;
      kind leaf/composite/decorator/subtree; label the drawing's text, lines split by \n
  {"t", "c": [i, s, i, s, ...]}
      the nodes whose status changed in the tick at simulated time t, and those that finished
      again (S after S): node index, then R (running), S (success), F (failure) or I (stopped
      or not started)
  {"t", "counts": {"ticks": [...], "success": [...], "failure": [...]}}
      per node, at the agent's end
Readers tail it with `JournalReader` like any journal.
"""
from __future__ import annotations

from pathlib import Path

from .codec import encode
from .ids import validate_agent_id
from .journal import JournalWriter

__all__ = ["StatusWriter", "status_path", "STATUS_LETTERS", "STATUS_SCHEMA"]

STATUS_LETTERS = ("R", "S", "F", "I")


def status_path(status_dir, agent_id) -> Path:
    """Return ``<status_dir>/<agent_id>.jsonl``; raises InvalidAgentId for a bad id."""
    return Path(status_dir) / f"{validate_agent_id(agent_id)}.jsonl"


class StatusWriter(JournalWriter):
    """The single writer of one status journal: each line one `os.write` on O_APPEND."""

    def write(self, record: dict) -> None:
        """Append `record` as one line. ValueError once closed; TypeError if not JSON."""
        if self._fd is None:
            raise ValueError(f"status writer for {self.path} is closed")
        self._write((encode(record) + "\n").encode("utf-8"))


STATUS_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://monerosim.invalid/status.schema.json",
    "title": "One line of a monerosim status journal (status/<agent>.jsonl)",
    "description": "Each line is one of: the tree (first, and again after a restart), the status "
                   "changes of one tick, or the per-node counts at the agent's end. Node i is the "
                   "i-th node of the tree depth-first, drawn as n{i+1} by `tree-runner render`.",
    "oneOf": [
        {"title": "tree", "type": "object", "additionalProperties": False,
         "required": ["t", "agent", "tree", "role", "nodes"],
         "properties": {
             "t": {"type": "number", "description": "simulated time (engine clock, seconds)"},
             "agent": {"type": "string"}, "tree": {"type": "string", "description": "tree file"},
             "role": {"type": ["string", "null"]},
             "nodes": {"type": "array", "items": {
                 "type": "array", "description": "[path, type, name, parent, kind, label]",
                 "prefixItems": [
                     {"type": "string", "description": "the node's path in the tree file"},
                     {"type": "string", "description": "node type, e.g. Sequence, SendTx"},
                     {"type": "string", "description": "node name"},
                     {"type": "integer", "minimum": -1, "description": "parent index, -1: root"},
                     {"enum": ["leaf", "composite", "decorator", "subtree"]},
                     {"type": "string", "description": "the drawing's text, lines split by \\n"}],
                 "minItems": 6, "maxItems": 6}}}},
        {"title": "changes", "type": "object", "additionalProperties": False,
         "required": ["t", "c"],
         "properties": {
             "t": {"type": "number"},
             "c": {"type": "array", "minItems": 2,
                   "description": "node index, then its status after the tick: R running, "
                                  "S success, F failure, I stopped or not started; a node that "
                                  "finished again (S after S) is listed too",
                   "items": {"anyOf": [{"type": "integer", "minimum": 0},
                                       {"enum": list(STATUS_LETTERS)}]}}}},
        {"title": "counts", "type": "object", "additionalProperties": False,
         "required": ["t", "counts"],
         "properties": {
             "t": {"type": "number"},
             "counts": {"type": "object", "additionalProperties": False,
                        "required": ["ticks", "success", "failure"],
                        "properties": {k: {"type": "array", "items": {"type": "integer",
                                                                       "minimum": 0}}
                                       for k in ("ticks", "success", "failure")}}}},
    ],
}

