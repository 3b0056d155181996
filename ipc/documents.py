"""Shared JSON documents: one writer per file, atomic replace, readers poll."""

import json
import os
import tempfile
from pathlib import Path

from .codec import encode
from .errors import CorruptDocument

__all__ = ["write_document", "read_document", "is_temp_name"]

_TEMP_SUFFIX = ".tmp"


def is_temp_name(name: str) -> bool:
    """Return True for names that are never documents (hidden or in-flight temp files)."""
    return name.startswith(".")


def _fsync_dir(directory: Path) -> None:
    """Best-effort fsync of a directory so the rename itself is durable."""
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_document(path, data) -> None:
    """Atomically replace the document at ``path`` with ``data`` as JSON.

    Writes ``.<name>.<pid>.<random>.tmp`` in the same directory, fsyncs it,
    then ``os.replace``s it over ``path``; parent directories are created.
    Returns None. Raises TypeError (before touching the disk) if ``data`` is
    not JSON-serialisable, OSError if the write fails (the temp file is removed).
    """
    path = Path(path)
    payload = (encode(data) + "\n").encode("utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=_TEMP_SUFFIX, dir=path.parent)
    try:
        try:
            os.fchmod(fd, 0o644)  # mkstemp creates 0600
            view = memoryview(payload)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_dir(path.parent)


def read_document(path, default=None):
    """Return the decoded JSON document at ``path``, or ``default`` if it does not exist.

    Raises CorruptDocument if the file exists but is not valid UTF-8 JSON
    (it was not written through write_document).
    """
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        return default
    try:
        return json.loads(raw)
    except ValueError as exc:  # includes UnicodeDecodeError
        raise CorruptDocument(path, str(exc)) from None
