"""Append-only JSONL journals: one writer per file, readers tail by byte offset."""

import json
import os
import time
from pathlib import Path

from .codec import encode
from .errors import IpcError
from .ids import validate_agent_id

__all__ = ["JournalWriter", "JournalReader", "read_journal", "journal_path", "RESERVED_FIELDS"]

RESERVED_FIELDS = frozenset({"t", "event", "agent"})
_READ_CHUNK = 1 << 20


def journal_path(journal_dir, agent_id) -> Path:
    """Return ``<journal_dir>/<agent_id>.jsonl``; raises InvalidAgentId for a bad id."""
    return Path(journal_dir) / f"{validate_agent_id(agent_id)}.jsonl"


def _ends_without_newline(path: Path) -> bool:
    """Return True if ``path`` is non-empty and its last byte is not b'\\n'."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        size = os.fstat(fd).st_size
        return size > 0 and os.pread(fd, 1, size - 1) != b"\n"
    finally:
        os.close(fd)


class JournalWriter:
    """The single writer of one journal file.

    Each record is one line written with one ``os.write`` on an O_APPEND
    descriptor, so a killed writer loses at most the line it was writing.
    """

    def __init__(self, path, clock=time.time, agent=None):
        """Open (creating parents and file) ``path`` for appending.

        If the file ends in a torn line (a previous writer was killed
        mid-write), a '\\n' is appended first so the torn fragment stays a
        line of its own. Raises InvalidAgentId for a bad ``agent``, OSError
        if the file cannot be opened.
        """
        self.path = Path(path)
        self.agent = None if agent is None else validate_agent_id(agent)
        self._clock = clock
        self.path.parent.mkdir(parents=True, exist_ok=True)
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)
        self._fd = os.open(self.path, flags, 0o644)
        try:
            if _ends_without_newline(self.path):
                self._write(b"\n")
        except BaseException:
            self.close()
            raise

    @property
    def closed(self) -> bool:
        """Return True once close() was called."""
        return self._fd is None

    def _write(self, data: bytes) -> None:
        """Write ``data`` with one os.write; loops only if the kernel writes short."""
        view = memoryview(data)
        while view:
            view = view[os.write(self._fd, view):]

    def append(self, event: str, /, **fields) -> dict:
        """Append one record and return it.

        The record is ``{"t": round(clock(), 6), "event": event, "agent":
        agent (if set), **fields}``. Raises ValueError if the writer is closed,
        ``event`` is empty or a field is named t/event/agent; TypeError if
        ``event`` is not a str or a value is not JSON-serialisable. Nothing is
        written when it raises.
        """
        if self._fd is None:
            raise ValueError(f"journal writer for {self.path} is closed")
        if not isinstance(event, str):
            raise TypeError(f"journal event must be a str, not {type(event).__name__}")
        if not event:
            raise ValueError("journal event must not be empty")
        reserved = RESERVED_FIELDS.intersection(fields)
        if reserved:
            raise ValueError(f"journal field names {sorted(reserved)} are reserved")
        record = {"t": round(self._clock(), 6), "event": event}
        if self.agent is not None:
            record["agent"] = self.agent
        record.update(fields)
        self._write((encode(record) + "\n").encode("utf-8"))
        return record

    def close(self) -> None:
        """Close the descriptor; idempotent. Returns None."""
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()


class JournalReader:
    """Incremental reader of one journal; never blocks, never sleeps.

    ``offset`` is the byte offset just past the last complete line consumed;
    ``skipped`` counts complete lines that were not a JSON object.
    """

    def __init__(self, path, offset=0):
        self.path = Path(path)
        self.offset = offset
        self.skipped = 0

    def read_new(self) -> list:
        """Return the records of complete lines appended since ``offset``.

        A missing file gives []. A trailing line without '\\n' is left for a
        later call. Invalid lines are skipped and counted in ``skipped``.
        Raises IpcError if the file is now shorter than ``offset``.
        """
        try:
            f = open(self.path, "rb")
        except FileNotFoundError:
            return []
        records = []
        with f:
            size = os.fstat(f.fileno()).st_size
            if size < self.offset:
                raise IpcError(f"journal {self.path} shrank to {size} bytes, below offset {self.offset}")
            f.seek(self.offset)
            pending = b""
            while chunk := f.read(_READ_CHUNK):
                pending += chunk
                end = pending.rfind(b"\n")
                if end < 0:
                    continue
                for line in pending[:end].split(b"\n"):
                    self._decode(line, records)
                self.offset += end + 1
                pending = pending[end + 1:]
        return records

    def _decode(self, line: bytes, records: list) -> None:
        """Append the record in ``line`` to ``records``, or count it in ``skipped``."""
        try:
            record = json.loads(line)
        except ValueError:  # includes UnicodeDecodeError
            record = None
        if isinstance(record, dict):
            records.append(record)
        else:
            self.skipped += 1


def read_journal(path) -> list:
    """Return every record of complete, valid lines of the journal at ``path`` ([] if missing)."""
    return JournalReader(path).read_new()
