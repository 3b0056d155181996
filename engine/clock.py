"""Engine clocks. Everything time-related in the engine and the leaves reads one of these.

- RealClock: time.time() and time.sleep() — under Shadow these are the simulated clock.
- ScaledClock: local runs compress time: `scale` simulated seconds pass per real second,
  counted from a shared `origin` so every agent of a run agrees on the time.
- VirtualClock: tests; sleeping jumps the clock instead of waiting.
"""
from __future__ import annotations

import time

__all__ = ["Clock", "RealClock", "ScaledClock", "VirtualClock", "SHADOW_EPOCH", "make_clock"]

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
               origin: float | None = None) -> Clock:
    """The clock for `--time-scale` (1 or None: real) / `--virtual`."""
    if virtual:
        return VirtualClock(SHADOW_EPOCH if origin is None else origin)
    if time_scale is None or time_scale == 1:
        return RealClock()
    return ScaledClock(time_scale, origin)
