"""Decorators that read the engine clock (never `time`) and tell the tick loop when to wake.

Each takes the agent context: `ctx.now()` for time, `ctx.wake_at(t)` to be ticked again at `t`,
`ctx.rng` to draw a distribution-valued duration each time the decorator starts.
"""
from __future__ import annotations

from typing import Any

from py_trees.behaviour import Behaviour
from py_trees.common import Status
from py_trees.decorators import Decorator

from lang.values import Distribution

__all__ = ["Repeat", "Retry", "Timeout", "Once", "RateLimit", "Subtree"]


class _ClockDecorator(Decorator):
    """A decorator with the agent context and the common end-of-tick bookkeeping."""

    def __init__(self, name: str, child: Behaviour, ctx: Any):
        super().__init__(name=name, child=child)
        self.ctx = ctx

    def _draw(self, value: Any) -> float:
        return float(value.draw(self.ctx.rng)) if isinstance(value, Distribution) else float(value)

    def _finish(self, new_status: Status):
        if new_status != Status.RUNNING:
            self.stop(new_status)
        self.status = new_status
        yield self


class Repeat(_ClockDecorator):
    """Run the child again each time it succeeds.

    Returns SUCCESS after `times` successful runs (never, when `times` is None), FAILURE as soon
    as the child fails, RUNNING otherwise (asking for an immediate tick after each success).
    """

    def __init__(self, name: str, child: Behaviour, ctx: Any, times: int | None = None):
        super().__init__(name, child, ctx)
        self.times = times
        self.successes = 0

    def initialise(self) -> None:
        self.successes = 0

    def update(self) -> Status:
        status = self.decorated.status
        if status == Status.FAILURE:
            return Status.FAILURE
        if status == Status.SUCCESS:
            self.successes += 1
            if self.times is not None and self.successes >= self.times:
                return Status.SUCCESS
            self.ctx.wake_at(self.ctx.now())
        self.feedback_message = f"{self.successes} of {self.times or 'forever'}"
        return Status.RUNNING


class Retry(_ClockDecorator):
    """Run the child again when it fails, up to `attempts` runs, `delay` apart.

    Returns SUCCESS as soon as the child succeeds, FAILURE when the last attempt fails,
    RUNNING while the child runs or while waiting out `delay` before the next attempt.
    """

    def __init__(self, name: str, child: Behaviour, ctx: Any, attempts: int, delay: Any = 0.0):
        super().__init__(name, child, ctx)
        self.attempts = attempts
        self.delay = delay
        self.failures = 0
        self.resume_at: float | None = None

    def initialise(self) -> None:
        self.failures = 0
        self.resume_at = None

    def tick(self):
        if self.status != Status.RUNNING:
            self.initialise()
        if self.resume_at is not None:
            if self.ctx.now() < self.resume_at:
                self.ctx.wake_at(self.resume_at)
                yield from self._finish(Status.RUNNING)
                return
            self.resume_at = None
        yield from self.decorated.tick()
        status = self.decorated.status
        if status == Status.FAILURE:
            self.failures += 1
            self.feedback_message = f"attempt {self.failures} of {self.attempts} failed"
            if self.failures >= self.attempts:
                status = Status.FAILURE
            else:
                self.resume_at = self.ctx.now() + self._draw(self.delay)
                self.ctx.wake_at(self.resume_at)
                status = Status.RUNNING
        yield from self._finish(status)

    def update(self) -> Status:  # pragma: no cover - tick() decides
        return self.decorated.status


class Timeout(_ClockDecorator):
    """Limit how long the child may run.

    Returns FAILURE (stopping the child) when the child is still RUNNING `after` seconds after
    the decorator started; otherwise the child's status. While RUNNING it asks to be woken at
    the deadline, so a sleeping child cannot overrun it.
    """

    def __init__(self, name: str, child: Behaviour, ctx: Any, after: Any):
        super().__init__(name, child, ctx)
        self.after = after
        self.deadline = 0.0

    def initialise(self) -> None:
        self.deadline = self.ctx.now() + self._draw(self.after)
        self.feedback_message = ""

    def update(self) -> Status:
        if self.decorated.status != Status.RUNNING:
            return self.decorated.status
        if self.ctx.now() >= self.deadline:
            self.feedback_message = "timed out"
            self.decorated.stop(Status.INVALID)
            return Status.FAILURE
        self.ctx.wake_at(self.deadline)
        return Status.RUNNING


class Once(_ClockDecorator):
    """Run the child until it has succeeded once (until="success") or finished once
    (until="completion"); afterwards return that result without ticking the child.

    Returns the child's status until then.
    """

    def __init__(self, name: str, child: Behaviour, ctx: Any, until: str = "success"):
        super().__init__(name, child, ctx)
        self.until = until
        self.final: Status | None = None

    def tick(self):
        if self.final is not None:
            self.status = self.final
            yield self
            return
        if self.status != Status.RUNNING:
            self.initialise()
        yield from self.decorated.tick()
        status = self.decorated.status
        if status == Status.SUCCESS or (status == Status.FAILURE and self.until == "completion"):
            self.final = status
            self.feedback_message = f"done: {status.value}"
        yield from self._finish(status)

    def update(self) -> Status:  # pragma: no cover - tick() decides
        return self.decorated.status


class RateLimit(_ClockDecorator):
    """Start the child at most once per `every` seconds.

    When started too early: RUNNING until the next slot, then the child runs
    (when_limited="wait"), or FAILURE at once (when_limited="fail"). Otherwise the child's status.
    """

    def __init__(self, name: str, child: Behaviour, ctx: Any, every: Any, when_limited: str = "wait"):
        super().__init__(name, child, ctx)
        self.every = every
        self.when_limited = when_limited
        self.next_slot: float | None = None
        self.child_started = False

    def initialise(self) -> None:
        self.child_started = False

    def tick(self):
        if self.status != Status.RUNNING:
            self.initialise()
        if not self.child_started:
            now = self.ctx.now()
            if self.next_slot is not None and now < self.next_slot:
                self.feedback_message = f"limited until t={self.next_slot:.3f}"
                if self.when_limited == "fail":
                    yield from self._finish(Status.FAILURE)
                else:
                    self.ctx.wake_at(self.next_slot)
                    yield from self._finish(Status.RUNNING)
                return
            self.next_slot = now + self._draw(self.every)
            self.child_started = True
        yield from self.decorated.tick()
        yield from self._finish(self.decorated.status)

    def update(self) -> Status:  # pragma: no cover - tick() decides
        return self.decorated.status


class Subtree(Decorator):
    """A named subtree in place: returns its child's status."""

    def __init__(self, name: str, child: Behaviour):
        super().__init__(name=name, child=child)

    def update(self) -> Status:
        return self.decorated.status
