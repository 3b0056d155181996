"""Agent registry: RUN/shared/registry/<agent>.json, each written only by its agent."""

import os
from pathlib import Path

from .documents import is_temp_name, read_document, write_document
from .errors import CorruptDocument, InvalidAgentId
from .ids import validate_agent_id

__all__ = ["Registry"]

_SUFFIX = ".json"


class Registry:
    """Read every agent's record; publish or remove one's own."""

    def __init__(self, shared_dir):
        self.directory = Path(shared_dir) / "registry"

    def path(self, agent_id) -> Path:
        """Return the record file of ``agent_id``; raises InvalidAgentId."""
        return self.directory / f"{validate_agent_id(agent_id)}{_SUFFIX}"

    def publish(self, agent_id, record: dict) -> dict:
        """Atomically write ``{"agent": agent_id, **record}`` and return it.

        Raises InvalidAgentId for a bad id, ValueError if ``record["agent"]``
        names another agent, TypeError if the record is not a JSON-serialisable dict.
        """
        path = self.path(agent_id)
        if not isinstance(record, dict):
            raise TypeError(f"registry record must be a dict, not {type(record).__name__}")
        if record.get("agent", agent_id) != agent_id:
            raise ValueError(f"registry record for {agent_id!r} names agent {record['agent']!r}")
        document = {"agent": agent_id, **record}
        write_document(path, document)
        return document

    def get(self, agent_id) -> dict | None:
        """Return the record of ``agent_id`` or None if it never published.

        Raises InvalidAgentId for a bad id, CorruptDocument if the file is unreadable.
        """
        return read_document(self.path(agent_id))

    def all(self, role=None) -> list:
        """Return every readable record sorted by agent id, only ``role`` if given.

        Temp/hidden files, names that are not agent ids, corrupt or non-object
        documents and records removed while listing are skipped; never raises
        for one bad file.
        """
        try:
            names = os.listdir(self.directory)
        except FileNotFoundError:
            return []
        records = []
        for name in sorted(names):
            if is_temp_name(name) or not name.endswith(_SUFFIX):
                continue
            try:
                record = read_document(self.path(name[: -len(_SUFFIX)]))
            except (InvalidAgentId, CorruptDocument, OSError):
                continue
            if not isinstance(record, dict):
                continue  # None (removed meanwhile) or not an object
            if role is None or record.get("role") == role:
                records.append(record)
        return records

    def remove(self, agent_id) -> None:
        """Delete the record of ``agent_id`` if present. Returns None; raises InvalidAgentId."""
        self.path(agent_id).unlink(missing_ok=True)
