"""Exact conversion between XMR and atomic units (1 XMR = 10**12 piconero).

Amounts travel as integers on the wire. Conversions go through Decimal, never float
arithmetic, so 0.1 XMR is exactly 100000000000 atomic units.
"""
from __future__ import annotations

from decimal import Decimal, InvalidOperation

ATOMIC_PER_XMR = 10**12
_QUANTUM = Decimal(1).scaleb(-12)


def _decimal(xmr: int | str | Decimal | float) -> Decimal:
    """A finite Decimal for `xmr`; a float is read as its shortest repr (0.1 → "0.1")."""
    if isinstance(xmr, bool):
        raise ValueError(f"not an amount: {xmr!r}")
    try:
        value = Decimal(repr(xmr)) if isinstance(xmr, float) else Decimal(str(xmr).strip())
    except InvalidOperation:
        raise ValueError(f"not an amount: {xmr!r}") from None
    if not value.is_finite():
        raise ValueError(f"not a finite amount: {xmr!r}")
    return value


def to_atomic(xmr: int | str | Decimal | float) -> int:
    """XMR → atomic units. Raises ValueError for non-numbers, negatives, NaN/inf, bools, or
    more than 12 decimal places. A float is read as its shortest decimal repr (0.1 → "0.1")."""
    value = _decimal(xmr)
    if value < 0:
        raise ValueError(f"negative amount: {xmr!r}")
    atomic = value * ATOMIC_PER_XMR
    if atomic != atomic.to_integral_value():
        raise ValueError(f"amount {xmr!r} has more than 12 decimal places")
    return int(atomic)


def round_to_atomic(xmr: int | str | Decimal | float) -> int:
    """XMR → atomic units, rounding half-even past 12 decimal places (for drawn amounts)."""
    return to_atomic(_decimal(xmr).quantize(_QUANTUM))


def from_atomic(atomic: int) -> Decimal:
    """Atomic units → XMR as an exact Decimal with 12 decimal places."""
    if isinstance(atomic, bool) or not isinstance(atomic, int):
        raise ValueError(f"atomic amount must be an int, got {atomic!r}")
    return (Decimal(atomic) / ATOMIC_PER_XMR).quantize(_QUANTUM)


def format_xmr(atomic: int) -> str:
    """Atomic units → '1.500000000000' style text with all 12 decimals."""
    return f"{from_atomic(atomic):f}"
