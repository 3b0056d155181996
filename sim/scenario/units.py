"""Shadow's unit strings (`src/main/utility/units.rs`): an integer, optional spaces, a
case-sensitive unit; a bare integer is the base unit. `parse_*` read them as Shadow does (for
the checker); `format_*` write them (for the generator).
"""
from __future__ import annotations

import re

from lang.errors import InputError, kind_of

__all__ = ["UnitError", "parse_time_ns", "parse_bits", "parse_bytes", "format_time", "format_bits",
           "TIME_UNITS", "SI_UPPER"]

# units.rs: the value is `[+-]?[0-9.]*` parsed as u64, the rest (trimmed) is the unit
_SPLIT = re.compile(r"^([+-]?[0-9.]*)\s*(.*)$", re.S)
_NS = 10 ** 9
TIME_UNITS = {
    **dict.fromkeys(("ns", "nanosecond", "nanoseconds"), 1),
    **dict.fromkeys(("us", "μs", "microsecond", "microseconds"), 1_000),
    **dict.fromkeys(("ms", "millisecond", "milliseconds"), 1_000_000),
    **dict.fromkeys(("", "s", "sec", "secs", "second", "seconds"), _NS),
    **dict.fromkeys(("m", "min", "mins", "minute", "minutes"), 60 * _NS),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), 3600 * _NS),
}
SI_UPPER = {"": 1, "K": 10 ** 3, "kilo": 10 ** 3, "Ki": 2 ** 10, "kibi": 2 ** 10,
            "M": 10 ** 6, "mega": 10 ** 6, "Mi": 2 ** 20, "mebi": 2 ** 20,
            "G": 10 ** 9, "giga": 10 ** 9, "Gi": 2 ** 30, "gibi": 2 ** 30,
            "T": 10 ** 12, "tera": 10 ** 12, "Ti": 2 ** 40, "tebi": 2 ** 40}
_U64 = 2 ** 64 - 1


class UnitError(InputError, ValueError):
    """Not a valid Shadow unit value; the message says why."""


def _value(text: str) -> tuple[int, str]:
    match = _SPLIT.match(text.strip())
    number, unit = match.group(1).strip(), match.group(2).strip()
    digits = number.lstrip("+")
    if not digits.isdigit() or not digits.isascii():
        if "." in number:
            raise UnitError(f"{text!r}: the value must be an integer (write 1500 ms, not 1.5 s)")
        raise UnitError(f"{text!r}: expected an integer and a unit, e.g. '30 s'")
    value = int(digits)
    if value > _U64:
        raise UnitError(f"{text!r}: the value does not fit in 64 bits")
    return value, unit


def _scalar(value, kind: str) -> str | int:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise UnitError(f"expected {kind} as an integer or a string like "
                        f"{'30 s' if kind == 'a time' else '100 Mbit'}, got {kind_of(value)}")
    if isinstance(value, int) and not 0 <= value <= _U64:
        raise UnitError(f"{value}: must be a non-negative 64-bit integer")
    return value


def parse_time_ns(value) -> int:
    """Nanoseconds in a Shadow time (`30 s`, `1500 ms`, `2 min`, or an integer of seconds)."""
    value = _scalar(value, "a time")
    if isinstance(value, int):
        return value * _NS
    number, unit = _value(value)
    if unit not in TIME_UNITS:
        raise UnitError(f"{value!r}: unknown time unit {unit!r} (ns, us, ms, s, sec, min, h, hour, …; "
                        "case-sensitive)")
    return number * TIME_UNITS[unit]


def _with_suffix(value, suffixes: tuple[str, ...], kind: str, example: str) -> int:
    value = _scalar(value, kind)
    if isinstance(value, int):
        return value
    number, unit = _value(value)
    prefix = unit
    for suffix in suffixes:        # units.rs strips the first suffix that matches
        if unit.endswith(suffix):
            prefix = unit[: -len(suffix)]
            break
    if prefix not in SI_UPPER:
        raise UnitError(f"{value!r}: unknown unit {unit!r} (e.g. {example}; case-sensitive)")
    return number * SI_UPPER[prefix]


def parse_bits(value) -> int:
    """Bits per second in a Shadow bandwidth (`100 Mbit`, `1 Gibit`, or an integer)."""
    return _with_suffix(value, ("bit", "bits"), "a bandwidth", "'100 Mbit'")


def parse_bytes(value) -> int:
    """Bytes in a Shadow size (`64 KiB`, `65535 B`, or an integer)."""
    return _with_suffix(value, ("B", "byte", "bytes"), "a size", "'64 KiB'")


def format_time(seconds: float) -> str:
    """`30 s`, `1500 ms`, `250 us`, `3 ns`: the largest unit that keeps an integer (rounded to ns)."""
    ns = round(seconds * _NS)
    if ns < 0:
        raise ValueError(f"negative time {seconds}")
    if ns == 0:
        return "0 s"
    for unit, size in (("h", 3600 * _NS), ("min", 60 * _NS), ("s", _NS), ("ms", 10 ** 6), ("us", 10 ** 3)):
        if ns and ns % size == 0:
            return f"{ns // size} {unit}"
    return f"{ns} ns"


def format_bits(bits: int) -> str:
    """`100 Mbit`, `1 Gbit`, `1536 Kbit`: the largest decimal prefix that keeps an integer."""
    for prefix, size in (("T", 10 ** 12), ("G", 10 ** 9), ("M", 10 ** 6), ("K", 10 ** 3)):
        if bits and bits % size == 0:
            return f"{bits // size} {prefix}bit"
    return f"{bits} bit"
