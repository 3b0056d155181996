"""The tick loop of one agent: event-driven, clock-driven, signal-aware.

After each tick the loop sleeps until the earliest wake a node asked for (`ctx.wake_at`), or
for the idle period when the tree is RUNNING but nobody asked. Nothing busy-waits: a tree that
keeps asking for immediate ticks is slowed to one tick per `BUSY_SLEEP` after `BUSY_LIMIT`.
"""
from __future__ import annotations

import hashlib
import logging
import random
import signal
from typing import Any

from py_trees.common import Status

from behaviours.base import AgentContext
from lang.values import Distribution, BlackboardRef

from .build import build
from .clock import Clock, ClockGone
from .language import Tree
from .schema import Catalogue

__all__ = ["Agent", "make_rng", "DEFAULT_IDLE", "BUSY_LIMIT", "BUSY_SLEEP"]

DEFAULT_IDLE = 5.0      # seconds to sleep when RUNNING nodes asked for no wake time
BUSY_LIMIT = 1000       # immediate ticks in a row before the loop starts sleeping BUSY_SLEEP
BUSY_SLEEP = 0.001

log = logging.getLogger("monerosim.engine")


def make_rng(seed: int | str, agent_id: str) -> random.Random:
    """The agent's RNG, seeded from (seed, agent id) independently of PYTHONHASHSEED."""
    digest = hashlib.sha256(f"{seed}\x00{agent_id}".encode()).digest()
    return random.Random(int.from_bytes(digest[:16], "big"))


class _WakeUp(Exception):
    """Raised by the signal handler to cut a sleep short."""


class Agent:
    """One agent: its built tree, its context and the loop that ticks it."""

    def __init__(self, tree: Tree, ctx: AgentContext, clock: Clock, catalogue: Catalogue, *,
                 idle: float = DEFAULT_IDLE, seed: Any = None, state: Any = None,
                 status: Any = None):
        if tree.root is None:
            raise ValueError(f"{tree.file}: the tree has no root")
        self.tree = tree
        self.ctx = ctx
        self.clock = clock
        self.idle = idle
        self.seed = seed
        self.root = build(tree.root, ctx, catalogue)
        self.ticks = 0
        self.sleeps = 0
        self.stop_reason: str | None = None
        self._sleeping = False
        self._stopped = False
        for behaviour in self.root.iterate():
            behaviour.setup(ctx=ctx)
        self.state = state
        self.status = None      # the status journal (engine.status), with a writer given
        if status is not None:
            from .status import StatusRecorder
            self.status = StatusRecorder(status, tree, catalogue, self.root, clock.now, {
                "agent": ctx.agent_id, "tree": tree.file, "role": tree.role})
        self.resumed: dict = {}
        if state is not None:
            keys = set()
            for behaviour in self.root.iterate():
                keys |= getattr(behaviour, "durable_keys", set)()
            self.resumed = state.restore(ctx, keys)

    # ------------------------------------------------------------ ticking
    def tick(self) -> Status:
        """Tick the tree once; returns the root's status."""
        self.ctx.next_wake = None
        if self.status is not None:
            self.status.tick(self.root)
        else:
            self.root.tick_once()
        self.ticks += 1
        if self.state is not None:
            self.state.save(self.ctx)
        return self.root.status

    def next_tick_at(self) -> float:
        """When the loop should tick next, from the wakes requested during the last tick."""
        now = self.clock.now()
        wake = self.ctx.next_wake
        return now + self.idle if wake is None else max(wake, now)

    def run(self, *, until: float | None = None, max_ticks: int | None = None,
            handle_signals: bool = False) -> Status:
        """Tick until the tree finishes, `until` (engine time) passes, `max_ticks` ticks ran, or a
        SIGTERM/SIGINT arrives (with `handle_signals`). Journals agent_started/agent_stopped,
        stops running nodes and calls every node's shutdown(). Returns the root's status."""
        previous = self._install_signals() if handle_signals else {}
        try:
            self.ctx.record("agent_started", tree=self.tree.file, role=self.tree.role,
                            seed=self.seed, clock=self.clock.describe(),
                            params={k: _jsonable(v) for k, v in self.tree.params.items()})
            if self.resumed:
                self.ctx.record("agent_resumed", keys=sorted(self.resumed))
            self._loop(until, max_ticks)
        finally:
            self._restore_signals(previous)
            self.shutdown(self.stop_reason or "error")
        return self.root.status

    def _loop(self, until: float | None, max_ticks: int | None) -> None:
        immediate = 0
        while self.stop_reason is None:
            status = self.tick()
            if status in (Status.SUCCESS, Status.FAILURE):
                self.stop_reason = "finished"
                break
            if max_ticks is not None and self.ticks >= max_ticks:
                self.stop_reason = "max_ticks"
                break
            if self.stop_reason is not None:   # a signal arrived during the tick
                break
            now = self.clock.now()
            when = self.next_tick_at()
            if until is not None:
                if now >= until:
                    self.stop_reason = "until"
                    break
                when = min(when, until)
            if when <= now and self.clock.owes_turn():
                when = now                   # queue again behind others due at this instant
            elif when <= now:
                immediate += 1
                if immediate < BUSY_LIMIT:
                    continue
                if immediate == BUSY_LIMIT:
                    log.warning("%s: %d ticks in a row without waiting; slowing to one per %gs "
                                "(does a Repeat loop over leaves that never wait?)",
                                self.ctx.agent_id, BUSY_LIMIT, BUSY_SLEEP)
                when = now + BUSY_SLEEP
            else:
                immediate = 0
            self._sleep_until(when)

    def _sleep_until(self, when: float) -> None:
        self.sleeps += 1
        try:
            self._sleeping = True
            try:
                if self.stop_reason is None:
                    self.clock.sleep_until(when)
            finally:
                self._sleeping = False
        except _WakeUp:
            pass
        except ClockGone as exc:     # the run's time keeper stopped: nothing more will happen
            log.warning("%s: %s; stopping", self.ctx.agent_id, exc)
            self.request_stop("clock_gone")

    # ------------------------------------------------------------ stopping
    def request_stop(self, reason: str) -> None:
        """Stop after the current tick (callable from a signal handler)."""
        if self.stop_reason is None:
            self.stop_reason = reason

    def _install_signals(self) -> dict:
        def handler(signum, _frame):
            self.request_stop(signal.Signals(signum).name)
            if self._sleeping:
                self._sleeping = False
                raise _WakeUp()
        previous = {}
        for sig in (signal.SIGTERM, signal.SIGINT):
            previous[sig] = signal.signal(sig, handler)
        return previous

    @staticmethod
    def _restore_signals(previous: dict) -> None:
        for sig, handler in previous.items():
            signal.signal(sig, handler)

    def shutdown(self, reason: str) -> None:
        """Journal agent_stopped, stop running nodes, call shutdown() hooks, close the context."""
        if self._stopped:
            return
        self._stopped = True
        status = self.root.status
        try:
            self.ctx.record("agent_stopped", reason=reason, ticks=self.ticks, status=status.value)
        except Exception:  # noqa: BLE001 - keep shutting down
            log.exception("could not journal agent_stopped")
        if status == Status.RUNNING:
            try:
                self.root.stop(Status.INVALID)
            except Exception:  # noqa: BLE001
                log.exception("stopping the running nodes failed")
        for behaviour in self.root.iterate():
            try:
                behaviour.shutdown()
            except Exception as exc:  # noqa: BLE001 - every hook gets its turn
                log.warning("%s: shutdown failed: %s", behaviour.name, exc)
                try:
                    self.ctx.record("leaf_failed", node=behaviour.name, phase="shutdown",
                                    error=type(exc).__name__, message=str(exc))
                except Exception:  # noqa: BLE001
                    pass
        if self.status is not None:
            try:
                self.status.close()
            except Exception:  # noqa: BLE001 - the journal and RPC sessions still close
                log.exception("could not close the status journal")
        self.ctx.close()


def _jsonable(value: Any) -> Any:
    if isinstance(value, (Distribution, BlackboardRef)):
        return str(value) if isinstance(value, BlackboardRef) else repr(value)
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value
