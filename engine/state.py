"""An agent's durable blackboard keys: saved after each tick, restored at start.

RUN/state/<agent>.json, one writer (the agent), replaced atomically. Only the keys that
leaves declare DURABLE are kept (e.g. the users a pool funded, the last signal it mined, the
payments a marketplace has seen), so a restarted agent neither repeats nor forgets them.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import ipc

__all__ = ["AgentState"]


class AgentState:
    """The state document of one agent at `<directory>/<agent>.json`."""

    def __init__(self, directory: str | Path, agent_id: str):
        self.path = Path(directory) / f"{ipc.validate_agent_id(agent_id)}.json"
        self.keys: set[str] = set()
        self._written: str | None = None

    def restore(self, ctx, keys: set[str]) -> dict:
        """Put the saved values of `keys` on `ctx`'s blackboard; returns what was restored.
        A corrupt state document is ignored (the agent starts afresh) and journaled."""
        self.keys = set(keys)
        try:
            saved = ipc.read_document(self.path, default={}) or {}
        except ipc.CorruptDocument as exc:
            ctx.record("state_unreadable", path=str(self.path), reason=str(exc))
            return {}
        values = saved.get("keys", {}) if isinstance(saved, dict) else {}
        restored = {k: v for k, v in values.items() if k in self.keys}
        for key, value in restored.items():
            ctx.set(key, value)
        self._written = _encode(restored)
        return restored

    def save(self, ctx) -> bool:
        """Write the durable keys if they changed since the last write; True if written."""
        if not self.keys:
            return False
        values = {}
        for key in sorted(self.keys):
            try:
                values[key] = ctx.get(key)
            except KeyError:
                continue
        encoded = _encode(values)
        if encoded == self._written:
            return False
        ipc.write_document(self.path, {"agent": ctx.agent_id, "t": ctx.now(), "keys": values})
        self._written = encoded
        return True


def _encode(values: dict[str, Any]) -> str:
    return json.dumps(values, sort_keys=True, default=str)
