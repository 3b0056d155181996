"""Live progress of a local run: chain height, blocks per pool, payments, errors.

`Progress.poll()` tails the journals incrementally (never blocks on a file) and asks the daemon
for its height with a short timeout; `Display` shows the line: rewritten in place on a TTY,
a plain line every PLAIN_EVERY seconds otherwise, nothing when quiet.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TextIO

import ipc
from rpc_client import DaemonClient, RpcError

from sim.report.phases import current_phase, phase_ends
from sim.report.summary import Tally, short_duration

__all__ = ["Progress", "Display", "PLAIN_EVERY"]

PLAIN_EVERY = 10.0      # seconds between lines when stderr is not a terminal
HEIGHT_EVERY = 1.0      # seconds between height queries


class Progress:
    """Incremental counts over the journals of one run directory."""

    def __init__(self, run_dir: Path, daemon_url: str | None = None, *, wallets: int = 0,
                 payer_roles: tuple[str, ...] = ()):
        self.journals = Path(run_dir) / "journals"
        self.wallets = wallets              # agents with a wallet (for the phase)
        self.payer_roles = payer_roles      # roles expected to pay (for the phase)
        self.readers: dict[Path, ipc.JournalReader] = {}
        self.tally = Tally()
        self.height: int | None = None
        self._daemon = DaemonClient(daemon_url, timeout=1.0, retries=0) if daemon_url else None
        self._height_at = 0.0

    def poll(self) -> None:
        """Read what the agents journaled since the last poll; refresh the height now and then."""
        try:
            paths = sorted(self.journals.glob("*.jsonl"))
        except OSError:
            paths = []
        for path in paths:
            reader = self.readers.setdefault(path, ipc.JournalReader(path))
            try:
                records = reader.read_new()
            except (OSError, ipc.IpcError):
                continue
            for record in records:
                self.tally.feed(record, path.stem)
        if self._daemon is not None and time.monotonic() - self._height_at >= HEIGHT_EVERY:
            self._height_at = time.monotonic()
            try:
                self.height = int(self._daemon.get_info()["height"])
            except (RpcError, KeyError, TypeError, ValueError):
                pass

    def line(self, sim_elapsed: float, sim_total: float, running: int, agents: int) -> str:
        t = self.tally
        height = self.height if self.height is not None else (t.height or "?")
        pools = " ".join(f"{p}:{n}" for p, n in sorted(t.pool_blocks.items())) or "-"
        return (f"{short_duration(sim_elapsed)}/{short_duration(sim_total)} | {self.phase()} | "
                f"height {height} | "
                f"blocks {pools} | payments {len(t.sent)} sent, {len(t.seen)} seen, "
                f"{len(t.confirmed)} confirmed | errors {t.errors} | agents {running}/{agents} up")

    def phase(self) -> str:
        """wallets, bootstrap, funding or steady (`sim.report.phases`), from what was journaled."""
        agents = self.tally.agents
        payers = [a for a, t in agents.items() if t.role in self.payer_roles]
        controller = any(t.role == "controller" for t in agents.values())
        return current_phase(phase_ends(self.tally, self.wallets, payers, controller))

    def close(self) -> None:
        if self._daemon is not None:
            self._daemon.close()


class Display:
    """Where progress and phase messages go (stderr)."""

    def __init__(self, quiet: bool = False, stream: TextIO | None = None):
        self.stream = stream or sys.stderr
        self.quiet = quiet
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._last_plain = 0.0
        self._open_line = False

    def progress(self, text: str) -> None:
        if self.quiet:
            return
        if self.tty:
            self.stream.write("\r\x1b[K" + text)
            self._open_line = True
        elif time.monotonic() - self._last_plain >= PLAIN_EVERY:
            self._last_plain = time.monotonic()
            self.stream.write(text + "\n")
        self.stream.flush()

    def say(self, text: str, *, always: bool = False) -> None:
        """A message on a line of its own (`always`: even when quiet, e.g. a crash)."""
        if self.quiet and not always:
            return
        if self._open_line:
            self.stream.write("\n")
            self._open_line = False
        self.stream.write(text + "\n")
        self.stream.flush()

    def end(self) -> None:
        if self._open_line:
            self.stream.write("\n")
            self.stream.flush()
            self._open_line = False
