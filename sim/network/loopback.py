"""Each networked local run on the machine gets a loopback block of its own, 127.B.0.0/16, held
by a lock on a file for as long as the run lasts: runs side by side (a sweep, the test suite) never
share an address, so one run's connections never take a port another run's daemon is about to bind."""
from __future__ import annotations

import fcntl
import os
import tempfile
from pathlib import Path

__all__ = ["LoopbackLease", "lease_block", "FIRST_BLOCK"]

FIRST_BLOCK, LAST_BLOCK = 77, 254     # 127.0.0.0/16 stays the RPC side's (127.0.0.1)


def _lock_dir() -> Path:
    return Path(tempfile.gettempdir()) / f"monerosim-loopback-{os.getuid()}"


class LoopbackLease:
    """The block this run holds; `release()` (or the process's end) frees it."""

    def __init__(self, block: int, handle):
        self.block = block
        self._handle = handle

    def release(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


def lease_block(directory: Path | None = None) -> LoopbackLease:
    """The first block no other live run holds. OSError when every one is held."""
    directory = directory or _lock_dir()
    directory.mkdir(parents=True, exist_ok=True)
    for block in range(FIRST_BLOCK, LAST_BLOCK + 1):
        handle = open(directory / f"{block}.lock", "a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            continue
        return LoopbackLease(block, handle)
    raise OSError(f"every loopback block 127.{FIRST_BLOCK}-{LAST_BLOCK}.x.x is held by a live run ({directory})")
