"""Values a leaf parameter can hold besides plain data: durations, distributions, blackboard
references. The engine builds them when it loads a tree; a leaf resolves them each time it
starts (a distribution is re-drawn, a reference re-read). Stdlib only.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Iterator

from lang.errors import InputError, UsageError, kind_of

__all__ = [
    "DURATION_PATTERN", "DurationError", "parse_duration", "format_duration", "is_number",
    "BlackboardRef", "BB_KEY_PATTERN", "BB_REF_PATTERN", "BB_PATH_PATTERN", "parse_ref", "refs_in",
    "Distribution", "DistributionError", "DISTRIBUTIONS", "make_distribution",
]

# ---------------------------------------------------------------- numbers

def is_number(text: Any) -> bool:
    """True when `float(text)` reads it (including nan and inf)."""
    try:
        float(text)
        return True
    except (TypeError, ValueError):
        return False


# ---------------------------------------------------------------- durations

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_PART = r"(?:\d+(?:\.\d+)?)(?:ms|s|m|h|d)"
# Editors check the same pattern: one or more number+unit parts, e.g. 250ms, 30s, 1h30m.
DURATION_PATTERN = rf"^{_PART}(?:{_PART})*$"
_DURATION_RE = re.compile(DURATION_PATTERN)
_PART_RE = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_WORDY_UNITS = {
    "millisecond": "ms", "milliseconds": "ms", "msec": "ms", "msecs": "ms",
    "sec": "s", "secs": "s", "second": "s", "seconds": "s",
    "min": "m", "mins": "m", "minute": "m", "minutes": "m",
    "hr": "h", "hrs": "h", "hour": "h", "hours": "h",
    "day": "d", "days": "d",
}
_WORDY_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]+)\s*$")


class DurationError(InputError, ValueError):
    """A value that is not a duration; the message says how to write it."""


def parse_duration(value: Any) -> float:
    """Seconds in `value`: a number of seconds (>= 0) or a string like 250ms, 30s, 5m, 2h, 1h30m.

    Raises DurationError with a corrective message otherwise.
    """
    if isinstance(value, bool):
        raise DurationError(f"expected a duration (e.g. 30s, 5m), got {value!r}")
    if isinstance(value, (int, float)):
        if not math.isfinite(value):
            raise DurationError(f"duration must be finite, got {value!r}")
        if value < 0:
            raise DurationError(f"duration must not be negative, got {value!r}")
        return float(value)
    if not isinstance(value, str):
        raise DurationError(f"expected a duration (e.g. 30s, 5m), got {kind_of(value)}")
    text = value.strip()
    if _DURATION_RE.match(text):
        return sum(float(n) * _UNITS[u] for n, u in _PART_RE.findall(text))
    if text.startswith("-"):
        raise DurationError(f"duration must not be negative, got {value!r}")
    wordy = _WORDY_RE.match(text)
    if wordy and (wordy.group(2).lower() in _WORDY_UNITS or wordy.group(2) in _UNITS):   # "5 m" too
        unit = _WORDY_UNITS.get(wordy.group(2).lower(), wordy.group(2))
        raise DurationError(f"bad duration {value!r} (write {wordy.group(1)}{unit})")
    if wordy:
        raise DurationError(f"bad duration {value!r}: unknown unit {wordy.group(2)!r}; "
                            "use ms, s, m, h or d")
    raise DurationError(f"bad duration {value!r}: write a number with a unit "
                        "(250ms, 30s, 5m, 2h, 1d) or a number of seconds")


def format_duration(seconds: float) -> str:
    """Short human form: 300 -> '5m', 0.25 -> '250ms', 90 -> '1m30s'."""
    if seconds < 1 and seconds > 0:
        return f"{seconds * 1000:g}ms"
    out, rest = [], float(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if rest >= size:
            n = int(rest // size)
            out.append(f"{n}{unit}")
            rest -= n * size
    if rest or not out:
        out.append(f"{rest:g}s")
    return "".join(out)


# ---------------------------------------------------------------- blackboard references

BB_KEY_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
# "{key}" or "{key.field.0}" as the whole string.
BB_REF_PATTERN = r"^\{[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*\}$"
# "key" or "key.field" (a parameter that names what to read, e.g. CheckValue's key).
BB_PATH_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*$"
_REF_RE = re.compile(BB_REF_PATTERN)


@dataclass(frozen=True)
class BlackboardRef:
    """`"{key.field}"`: read `key` from the agent's blackboard, then index into it."""

    key: str
    fields: tuple[str, ...] = ()

    def __str__(self) -> str:
        return "{" + ".".join((self.key, *self.fields)) + "}"

    def lookup(self, value: Any) -> Any:
        """Walk `fields` into `value` (mapping item, list index, or attribute)."""
        for field in self.fields:
            if isinstance(value, dict):
                if field not in value:
                    raise KeyError(f"{self}: {field!r} not in {sorted(value)}")
                value = value[field]
            elif isinstance(value, (list, tuple)) and field.isdigit():
                if int(field) >= len(value):
                    raise KeyError(f"{self}: index {field} out of range ({len(value)} items)")
                value = value[int(field)]
            elif hasattr(value, field):
                value = getattr(value, field)
            else:
                raise KeyError(f"{self}: {type(value).__name__} has no field {field!r}")
        return value


def parse_ref(text: Any) -> BlackboardRef | None:
    """The reference in `text` if it is exactly `{key}` / `{key.field}`, else None."""
    if not isinstance(text, str) or not _REF_RE.match(text):
        return None
    key, *fields = text[1:-1].split(".")
    return BlackboardRef(key, tuple(fields))


# ---------------------------------------------------------------- distributions

class DistributionError(InputError, ValueError):
    """A distribution spec that cannot be drawn from."""


class Distribution:
    """A random value re-drawn from the agent's RNG each time a leaf starts.

    `kind` is the YAML name, `args` its validated fields. `min`/`max` clamp numeric draws.
    """

    kind = ""
    fields: dict[str, str] = {}      # field -> "number" | "positive" | "probability"
    required: tuple[str, ...] = ()

    def __init__(self, **args: Any):
        self.args = args
        self.low = args.get("min")
        self.high = args.get("max")

    def draw(self, rng) -> Any:
        value = self._draw(rng)
        if self.low is not None and value < self.low:
            value = self.low
        if self.high is not None and value > self.high:
            value = self.high
        return value

    def _draw(self, rng) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}: {_short(v)}" for k, v in self.args.items())
        return f"{self.kind}({inner})"

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.args == self.args  # type: ignore[attr-defined]

    __hash__ = None  # type: ignore[assignment]


def _short(v: Any) -> str:
    return f"{v:g}" if isinstance(v, float) else repr(v)


class Exponential(Distribution):
    """Exponential with the given `mean` (e.g. time between events of a Poisson process)."""

    kind, fields, required = "exponential", {"mean": "positive"}, ("mean",)

    def _draw(self, rng):
        return rng.expovariate(1.0 / self.args["mean"])


class Uniform(Distribution):
    """Uniform on [low, high]."""

    kind, fields, required = "uniform", {"low": "number", "high": "number"}, ("low", "high")

    def __init__(self, **args):
        super().__init__(**args)
        if args["low"] > args["high"]:
            raise DistributionError(f"uniform: low ({args['low']}) is above high ({args['high']})")

    def _draw(self, rng):
        return rng.uniform(self.args["low"], self.args["high"])


class Normal(Distribution):
    """Normal with `mean` and `stddev`; use `min:`/`max:` to clamp (e.g. min: 0)."""

    kind, fields, required = "normal", {"mean": "number", "stddev": "nonnegative"}, ("mean", "stddev")

    def _draw(self, rng):
        return rng.gauss(self.args["mean"], self.args["stddev"])


class LogNormal(Distribution):
    """Log-normal whose logarithm has mean `mu` and deviation `sigma`."""

    kind, fields, required = "lognormal", {"mu": "number", "sigma": "nonnegative"}, ("mu", "sigma")

    def _draw(self, rng):
        return rng.lognormvariate(self.args["mu"], self.args["sigma"])


class Choice(Distribution):
    """One of `values`, with optional `weights` (same length)."""

    kind, fields, required = "choice", {"values": "list", "weights": "list"}, ("values",)

    def __init__(self, **args):
        super().__init__(**args)
        values, weights = args["values"], args.get("weights")
        if not values:
            raise DistributionError("choice: values must not be empty")
        if weights is not None:
            if len(weights) != len(values):
                raise DistributionError(f"choice: {len(weights)} weights for {len(values)} values")
            if any(isinstance(w, bool) or not isinstance(w, (int, float)) or w < 0 for w in weights):
                raise DistributionError("choice: weights must be numbers >= 0")
            if not sum(weights) > 0:
                raise DistributionError("choice: weights must not all be zero")

    def draw(self, rng):
        values, weights = self.args["values"], self.args.get("weights")
        if weights is None:
            return values[rng.randrange(len(values))]
        return rng.choices(values, weights=weights, k=1)[0]


class Bernoulli(Distribution):
    """true with probability `p`, else false."""

    kind, fields, required = "bernoulli", {"p": "probability"}, ("p",)

    def draw(self, rng):
        return rng.random() < self.args["p"]


class Constant(Distribution):
    """Always `value` (handy to override a random parameter with a fixed one)."""

    kind, fields, required = "constant", {"value": "any"}, ("value",)

    def draw(self, rng):
        return self.args["value"]


DISTRIBUTIONS: dict[str, type[Distribution]] = {
    cls.kind: cls for cls in (Exponential, Uniform, Normal, LogNormal, Choice, Bernoulli, Constant)
}
NUMERIC_KINDS = ("positive", "nonnegative", "number")


def make_distribution(kind: str, args: dict) -> Distribution:
    """Build a distribution from already-typed fields; raises DistributionError on bad values."""
    cls = DISTRIBUTIONS[kind]
    missing = [f for f in cls.required if f not in args]
    if missing:
        raise DistributionError(f"{kind}: missing {', '.join(missing)}")
    for field, value in args.items():
        rule = cls.fields.get(field) if field not in ("min", "max") else "number"
        if rule is None:
            raise DistributionError(f"{kind}: unknown field {field!r}")
        if rule in NUMERIC_KINDS:
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise DistributionError(f"{kind}: {field} must be a number, got {value!r}")
            if rule == "positive" and value <= 0:
                raise DistributionError(f"{kind}: {field} must be above 0, got {value!r}")
            if rule == "nonnegative" and value < 0:
                raise DistributionError(f"{kind}: {field} must not be negative, got {value!r}")
        elif rule == "probability":
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
                raise DistributionError(f"{kind}: {field} must be a number in [0, 1], got {value!r}")
        elif rule == "list" and not isinstance(value, list):
            raise DistributionError(f"{kind}: {field} must be a list, got {value!r}")
    return cls(**args)


def refs_in(value: Any) -> Iterator[BlackboardRef]:
    """Every blackboard reference in a parameter value: itself, or inside a distribution's
    arguments, a mapping's values or a list's items."""
    if isinstance(value, BlackboardRef):
        yield value
    elif isinstance(value, Distribution):
        yield from refs_in(value.args)
    elif isinstance(value, dict):
        for v in value.values():
            yield from refs_in(v)
    elif isinstance(value, list):
        for v in value:
            yield from refs_in(v)


def parse_duration_option(raw: str, option: str = "--duration") -> float:
    """A duration option as seconds above 0 (a bare number is seconds); UsageError when bad."""
    try:
        duration = parse_duration(float(raw) if is_number(raw) else raw)
    except DurationError as exc:
        raise UsageError(f"{option} {raw}: {exc}") from None
    if not duration > 0:
        raise UsageError(f"{option} {raw}: must be above 0")
    return duration
