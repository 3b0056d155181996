"""Engine clocks. Everything time-related in the engine and the leaves reads one of these.

- RealClock: time.time() and time.sleep() — under Shadow these are the simulated clock.
- ScaledClock: local runs compress time: `scale` simulated seconds pass per real second,
  counted from a shared `origin` so every agent of a run agrees on the time.
- LockstepClock: local runs: one time keeper per run (`sim.local.timekeeper`) moves simulated time
  only while every agent waits, as Shadow does; CPU work and RPC latency cost no time.
- VirtualClock: tests; sleeping jumps the clock instead of waiting.

Lockstep wire format (ASCII lines over a Unix socket): the agent sends `hello ID`, then
`wait SEQ T` each time it sleeps; the keeper answers `go SEQ NOW` when it is the agent's turn.
Between `go` and its next `wait` the agent works and time stands still for everyone. `aside`
says the rest of its work touches only its own wallet: others due at that instant may be
released meanwhile (time still stands still), and the agent queues again before going on.
"""
from __future__ import annotations

import contextlib
import os
import socket
import time

from lang.errors import MonerosimError

__all__ = ["Clock", "RealClock", "ScaledClock", "LockstepClock", "VirtualClock", "ClockGone",
           "SHADOW_EPOCH", "make_clock", "short_socket_path", "wire_time"]

SHADOW_EPOCH = 946684800.0  # 2000-01-01T00:00:00Z, where Shadow's simulated clock starts


class Clock:
    """`now()` in seconds since the epoch; `sleep_until(t)` blocks (or jumps) until `t`."""

    kind = "clock"

    def now(self) -> float:
        raise NotImplementedError

    def sleep_until(self, when: float) -> None:
        raise NotImplementedError

    def describe(self) -> str:
        return self.kind

    def owes_turn(self) -> bool:
        """True when the agent stepped aside during its tick and must queue again (sleep until
        now) before it ticks on."""
        return False


class RealClock(Clock):
    """Wall time (simulated time under Shadow)."""

    kind = "real"

    def now(self) -> float:
        return time.time()

    def sleep_until(self, when: float) -> None:
        delay = when - time.time()
        if delay > 0:
            time.sleep(delay)


class ScaledClock(Clock):
    """Simulated time running `scale` times faster than wall time, starting at `origin`."""

    kind = "scaled"

    def __init__(self, scale: float, origin: float | None = None):
        if not scale > 0:
            raise ValueError(f"time scale must be above 0, got {scale!r}")
        self.scale = float(scale)
        self.origin = time.time() if origin is None else float(origin)

    def now(self) -> float:
        return self.origin + (time.time() - self.origin) * self.scale

    def sleep_until(self, when: float) -> None:
        delay = (when - self.now()) / self.scale
        if delay > 0:
            time.sleep(delay)

    def describe(self) -> str:
        return f"scaled x{self.scale:g}"


class ClockGone(MonerosimError, RuntimeError):
    """The run's time keeper is gone (the launcher stopped or died): the agent must stop."""


def wire_time(t: float) -> str:
    """A time as it travels between keeper and agent: exact (repr of the float)."""
    return repr(float(t))


@contextlib.contextmanager
def short_socket_path(path: os.PathLike | str):
    """An address for `path` that fits a Unix socket's 107 bytes (through /proc/self/fd)."""
    path = os.fspath(path)
    if len(path.encode()) < 100:
        yield path
        return
    fd = os.open(os.path.dirname(path) or ".", os.O_RDONLY)
    try:
        yield f"/proc/self/fd/{fd}/{os.path.basename(path)}"
    finally:
        os.close(fd)


class LockstepClock(Clock):
    """Simulated time from the run's time keeper. `now()` is the time of the agent's last
    release (time cannot move while it works); `sleep_until(t)` waits for its turn at `t`.
    Raises ClockGone when the keeper closes the socket."""

    kind = "lockstep"

    def __init__(self, path: os.PathLike | str, agent_id: str, *, connect_timeout: float = 30.0):
        self.path = os.fspath(path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        deadline = time.monotonic() + connect_timeout
        while True:
            try:
                with short_socket_path(self.path) as address:
                    self.sock.connect(address)
                break
            except (FileNotFoundError, ConnectionRefusedError) as exc:
                if time.monotonic() >= deadline:
                    self.sock.close()
                    raise ClockGone(f"no time keeper at {self.path}: {exc.strerror}") from None
                time.sleep(0.1)
        self._buf = b""
        self._seq = 0
        self._aside = False
        self.t = 0.0
        self._send(f"hello {agent_id}")
        self.t = self._await_go("0")
        # The connection ends with the process, not before: Python closes socket objects while
        # it finalizes, and the keeper would let time run on while the process still exits. A
        # raw duplicate that no finalizer closes lasts until the kernel closes it at the exit.
        self._keep_fd: int | None = os.dup(self.sock.fileno())

    def now(self) -> float:
        return self.t

    def step_aside(self) -> None:
        """Private work follows (the agent's own wallet only): others due now may go too."""
        if not self._aside:
            self._aside = True
            self._send("aside")

    def owes_turn(self) -> bool:
        return self._aside

    def sleep_until(self, when: float) -> None:
        self._aside = False
        self._seq += 1
        seq = str(self._seq)
        self._send(f"wait {seq} {wire_time(when)}")
        self.t = self._await_go(seq)

    def close(self) -> None:
        self.sock.close()
        if self._keep_fd is not None:
            os.close(self._keep_fd)
            self._keep_fd = None

    def _send(self, line: str) -> None:
        try:
            self.sock.sendall(line.encode() + b"\n")
        except OSError as exc:
            raise ClockGone(f"time keeper at {self.path}: {exc.strerror or exc}") from None

    def _await_go(self, seq: str) -> float:
        """Read until `go SEQ T` for this wait (an earlier, abandoned wait's go is skipped)."""
        while True:
            while b"\n" not in self._buf:
                try:
                    data = self.sock.recv(4096)
                except (ConnectionResetError, BrokenPipeError) as exc:
                    raise ClockGone(f"the time keeper at {self.path} closed: {exc.strerror}") from None
                if not data:
                    raise ClockGone(f"the time keeper at {self.path} closed")
                self._buf += data
            line, self._buf = self._buf.split(b"\n", 1)
            words = line.decode("ascii", "replace").split()
            if len(words) == 3 and words[0] == "go" and words[1] == seq:
                return float(words[2])


class VirtualClock(Clock):
    """A clock that only moves when slept on (or advanced): for tests and dry runs."""

    kind = "virtual"

    def __init__(self, start: float = SHADOW_EPOCH):
        self.t = float(start)
        self.sleeps = 0

    def now(self) -> float:
        return self.t

    def sleep_until(self, when: float) -> None:
        self.sleeps += 1
        if when > self.t:
            self.t = float(when)

    def advance(self, seconds: float) -> None:
        self.t += seconds


def make_clock(time_scale: float | None = None, *, virtual: bool = False,
               origin: float | None = None, lockstep: str | None = None,
               agent_id: str = "") -> Clock:
    """The clock for `--lockstep SOCKET` / `--time-scale` (1 or None: real) / `--virtual`."""
    if lockstep:
        return LockstepClock(lockstep, agent_id)
    if virtual:
        return VirtualClock(SHADOW_EPOCH if origin is None else origin)
    if time_scale is None or time_scale == 1:
        return RealClock()
    return ScaledClock(time_scale, origin)
