"""Live processes seen through /proc, for tests that check nothing is left behind."""
from __future__ import annotations

from pathlib import Path


def command_lines(needle: str) -> list[str]:
    """`pid: command line` of every live process whose command line contains `needle`."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if needle in cmd:
                found.append(f"{entry.name}: {cmd}")
    return found
