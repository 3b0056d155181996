"""The launcher's view of simulated time: lockstep (default) or scaled wall time.

Both answer the same questions for the launcher's schedule: how much simulated time has passed
(`elapsed`), wait for the launcher's next moment (`wait`), keep time still while something starts
(`hold` / `unhold`), and what each agent's tree-runner is told (`agent_args`).
"""
from __future__ import annotations

import threading
import time
from pathlib import Path

from engine.clock import SHADOW_EPOCH

from sim.report.summary import short_duration
from sim.local.timekeeper import TimeKeeper

__all__ = ["RunClock", "LockstepRunClock", "ScaledRunClock", "make_run_clock", "CLOCKS"]

CLOCKS = ("lockstep", "scaled", "real")


class RunClock:
    kind = "clock"
    origin = 0.0

    def start(self) -> None:
        """Simulated time may begin (the first agents are about to start)."""

    def elapsed(self) -> float:
        raise NotImplementedError

    def wait(self, until: float, poll: float) -> bool:
        """Block at most `poll` real seconds; True once simulated `until` (seconds from the
        start) has come and the launcher may act (time stands still until the next wait)."""
        raise NotImplementedError

    def hold(self, key: str) -> None:
        pass

    def unhold(self, key: str) -> None:
        pass

    def free(self) -> None:
        """The run is stopping: nobody waits for anybody any more."""

    def close(self) -> None:
        pass

    def busy(self) -> list[tuple[str, float]]:
        return []

    def agent_args(self) -> list[str]:
        raise NotImplementedError

    def record(self) -> dict:
        return {"kind": self.kind, "origin": self.origin}

    def describe(self, total: float) -> str:
        """For the start-up message, given the simulated seconds the run will last."""
        return f"{self.kind} clock"


class LockstepRunClock(RunClock):
    """Simulated time from a TimeKeeper; the launcher is its first client at every instant."""

    kind = "lockstep"

    def __init__(self, run_dir: Path, *, max_speed: float | None = None):
        self.origin = SHADOW_EPOCH
        self.max_speed = max_speed
        self.keeper = TimeKeeper(Path(run_dir) / "clock.sock", origin=self.origin,
                                 max_speed=max_speed).start()
        self._asked: float | None = None      # the simulated moment the launcher waits for

    def elapsed(self) -> float:
        return self.keeper.elapsed

    def wait(self, until: float, poll: float) -> bool:
        if self._asked != until:
            self._asked = until
            self.keeper.launcher_wait(self.origin + until)
        if self.keeper.launcher_turn.wait(poll):
            self._asked = None
            return True
        return False

    def hold(self, key: str) -> None:
        self.keeper.hold(key)

    def unhold(self, key: str) -> None:
        self.keeper.unhold(key)

    def free(self) -> None:
        self.keeper.free()

    def close(self) -> None:
        self.keeper.close()

    def busy(self) -> list[tuple[str, float]]:
        return self.keeper.busy()

    def agent_args(self) -> list[str]:
        return ["--lockstep", str(self.keeper.path)]

    def describe(self, total: float) -> str:
        limit = f", at most x{self.max_speed:g}" if self.max_speed else ""
        return f"lockstep clock (time moves only while every agent waits{limit})"

    def record(self) -> dict:
        return {"kind": self.kind, "origin": self.origin, "max_speed": self.max_speed,
                "jumps": self.keeper.jumps, "releases": self.keeper.releases,
                "real_seconds": self.keeper.real_seconds()}


class ScaledRunClock(RunClock):
    """Wall time × `scale` from a shared origin (scale 1: real time). CPU time and RPC latency
    count as simulated time, so results depend on the machine."""

    def __init__(self, scale: float):
        self.scale = float(scale)
        self.kind = "real" if self.scale == 1 else "scaled"
        self.origin = time.time()
        self._mono = time.monotonic()
        self._stop = threading.Event()

    def start(self) -> None:
        self.origin, self._mono = time.time(), time.monotonic()

    def elapsed(self) -> float:
        return (time.monotonic() - self._mono) * self.scale

    def wait(self, until: float, poll: float) -> bool:
        left = (until - self.elapsed()) / self.scale
        if left > 0:
            self._stop.wait(min(poll, left))
        return self.elapsed() >= until

    def agent_args(self) -> list[str]:
        return ["--time-scale", f"{self.scale:g}", "--clock-origin", f"{self.origin:.6f}"]

    def describe(self, total: float) -> str:
        if self.kind == "real":
            return "real clock"
        return f"scaled clock x{self.scale:g} = {short_duration(total / self.scale)} real"

    def record(self) -> dict:
        return {"kind": self.kind, "origin": self.origin, "time_scale": self.scale}


def make_run_clock(kind: str, run_dir: Path, *, time_scale: float = 1.0,
                   max_speed: float | None = None) -> RunClock:
    if kind == "lockstep":
        return LockstepRunClock(run_dir, max_speed=max_speed)
    return ScaledRunClock(1.0 if kind == "real" else time_scale)
