"""Engine-level leaves that need no Monero: waiting, fixed results, blackboard values, journal."""
from __future__ import annotations

from typing import Any

from .base import Leaf, Status, anything, boolean, duration, key, mapping, number, path_key, string

__all__ = ["Wait", "Succeed", "Fail", "SetValue", "CheckValue", "RecordEvent"]

_MISSING = object()


class Wait(Leaf):
    """Wait for `duration` on the engine clock.

    Returns RUNNING (asking to be woken when the time is up) until `duration` has passed since
    the leaf started, then SUCCESS. A distribution is re-drawn each time the Wait starts.
    """

    PARAMS = {"duration": duration("how long to wait, e.g. 30s, 5m, {exponential: {mean: 5m}}")}
    REQUIRED = ("duration",)
    SHOWN = ("duration",)

    def initialise(self) -> None:
        self.until = self.now() + self.args.duration
        self.feedback_message = f"until t={self.until:.3f}"

    def update(self) -> Status:
        if self.now() >= self.until:
            return Status.SUCCESS
        return self.wake_at(self.until)


class Succeed(Leaf):
    """Returns SUCCESS at once."""

    def update(self) -> Status:
        return Status.SUCCESS


class Fail(Leaf):
    """Returns FAILURE at once (e.g. to end a Selector branch or test a Retry)."""

    def update(self) -> Status:
        return Status.FAILURE


class SetValue(Leaf):
    """Write `value` to blackboard key `key`.

    Returns SUCCESS. A distribution is drawn afresh and a "{key}" reference re-read each time.
    """

    PARAMS = {
        "key": key("the blackboard key to write"),
        "value": anything("the value to store (may be a distribution or a \"{key}\" reference)"),
    }
    REQUIRED = ("key", "value")
    OUTPUTS = {"key": "the value"}
    SHOWN = ("key", "value")

    def update(self) -> Status:
        self.write("key", self.args.value)
        return Status.SUCCESS


class CheckValue(Leaf):
    """Compare the blackboard value at `key` (or `key.field`) with the given tests.

    Returns SUCCESS when every given test holds, FAILURE otherwise. A missing key fails every
    test except `exists: false`. Comparing values of incomparable types is FAILURE.
    """

    PARAMS = {
        "key": path_key("the blackboard key (or key.field) to check"),
        "exists": boolean("true: the key must be set; false: it must not be"),
        "equals": anything("the value must equal this", random=False),
        "not_equals": anything("the value must differ from this", random=False),
        "at_least": number("the value must be >= this", random=False),
        "at_most": number("the value must be <= this", random=False),
        "above": number("the value must be > this", random=False),
        "below": number("the value must be < this", random=False),
        "one_of": {"type": "array", "description": "the value must be one of these"},
    }
    REQUIRED = ("key",)
    INPUTS = ("key",)
    SHOWN = ("key", "exists", "equals", "not_equals", "at_least", "at_most", "above", "below", "one_of")

    _TESTS = {
        "equals": lambda v, x: v == x,
        "not_equals": lambda v, x: v != x,
        "at_least": lambda v, x: v >= x,
        "at_most": lambda v, x: v <= x,
        "above": lambda v, x: v > x,
        "below": lambda v, x: v < x,
        "one_of": lambda v, x: v in x,
    }

    def update(self) -> Status:
        try:
            value: Any = self.read(self.args.key)
        except KeyError:
            value = _MISSING
        if "exists" in self.args and self.args.exists != (value is not _MISSING):
            self.feedback_message = f"{self.args.key} {'missing' if value is _MISSING else 'set'}"
            return Status.FAILURE
        for test, check in self._TESTS.items():
            if test not in self.args:
                continue
            if value is _MISSING:
                self.feedback_message = f"{self.args.key} is not set"
                return Status.FAILURE
            try:
                ok = check(value, self.args[test])
            except TypeError:
                ok = False
            if not ok:
                self.feedback_message = f"{self.args.key}={value!r} fails {test} {self.args[test]!r}"
                return Status.FAILURE
        return Status.SUCCESS


class RecordEvent(Leaf):
    """Append `event` with `fields` to the agent's journal: an event of the tree's own.

    Returns SUCCESS. Field values may be "{key}" references, read when the leaf runs, and
    distributions, drawn when it runs. A name the project journals itself (docs/journal.md)
    keeps its meaning: it may be written only with fields that event has; a field it lacks
    makes the leaf FAILURE (journaled `leaf_failed`) and writes nothing.
    """

    PARAMS = {
        "event": string("journal event name, e.g. order_placed", pattern=r"^[a-z][a-z0-9_]*$"),
        "fields": mapping("extra fields of the journal record", default={}, random=True),
    }
    REQUIRED = ("event",)
    SHOWN = ("event",)

    def update(self) -> Status:
        self.ctx.record_own(self.args.event, **self.args.fields)
        return Status.SUCCESS
