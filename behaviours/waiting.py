"""What every leaf that waits on another agent shares: a timeout, and saying why it still waits.

A waiting leaf (AwaitPeers, AwaitHeight, AwaitFunds, AwaitMiningSignal) takes `timeout` (give
up: FAILURE, journaled `wait_timed_out`) and `report_every` (journal `waiting` while it still
waits), both in simulated time. Each record says what it waits for and what it has so far, so
a run that hangs says why in its journals, and the verdict can name it.
"""
from __future__ import annotations

from .base import Leaf, Status, duration
from lang.events import WAITING, WAIT_TIMED_OUT

__all__ = ["WaitingLeaf", "WAIT_PARAMS"]

WAIT_PARAMS = {
    "timeout": duration("give up after this long: FAILURE, journaled `wait_timed_out` "
                        "(default: wait for ever)"),
    "report_every": duration("journal `waiting {waiting_for, have, waited}` this often while "
                             "still waiting", default="5m"),
}


class WaitingLeaf(Leaf):
    """A leaf that waits on others. Subclasses call `still_waiting(what, have, poll)` where they
    would return RUNNING; it returns RUNNING (next look after `poll`, or at the timeout), or
    FAILURE once `timeout` has passed since the leaf started."""

    def initialise(self) -> None:
        super().initialise()
        self.wait_started = self.ctx.now()
        self.wait_reported = self.wait_started

    def still_waiting(self, what: str, have, poll: float) -> Status:
        now = self.ctx.now()
        waited = now - self.wait_started
        timeout = self.args.get("timeout")
        self.feedback_message = f"waiting for {what}: {have}"
        if timeout is not None and waited >= timeout:
            self.record(WAIT_TIMED_OUT, waiting_for=what, have=have, waited=waited)
            return Status.FAILURE
        if now - self.wait_reported >= self.args.report_every:
            self.wait_reported = now
            self.record(WAITING, waiting_for=what, have=have, waited=waited)
        wake = now + poll
        if timeout is not None:
            wake = min(wake, self.wait_started + timeout)
        return self.wake_at(wake)
