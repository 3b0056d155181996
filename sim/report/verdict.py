"""The verdict of a run: ok, degraded or failed, with every reason in plain words.

A run is judged from its summary (`sim.report.summary`) against the scenario's expectations
(`expect:`, defaults below). Failed: the run did not do what it was for (an agent crashed, the
chain never got past its bootstrap, users never paid, payments never reached their shop).
Degraded: it did, with blemishes (fewer payments than expected, payments unconfirmed at the
end, errors, blocks far from the pools' hashrate shares). `monerosim run` exits 3 on failed.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Expect", "judge", "verdict_line", "OK", "DEGRADED", "FAILED", "EXIT_FAILED"]

OK, DEGRADED, FAILED = "ok", "degraded", "failed"
EXIT_FAILED = 3
_RANK = {OK: 0, DEGRADED: 1, FAILED: 2}
LISTED = 5          # agents named in one reason before "…"
LONG_WAIT = 600.0   # simulated seconds: the shortest wait on others at the end worth a reason


@dataclass
class Expect:
    """What a run must show. `payments`: role → payments each agent of that role makes at least
    (default: every `user` pays once); `confirmed`: every payment sent is confirmed by the end;
    `errors`: journaled errors tolerated; `blocks_sigma`: how many standard deviations a pool's
    block count may stray from its hashrate share."""

    payments: dict[str, int] = field(default_factory=lambda: {"user": 1})
    confirmed: bool = True
    errors: int = 0
    blocks_sigma: float = 3.0

    @classmethod
    def from_mapping(cls, data: dict[str, Any] | None) -> "Expect":
        data = dict(data or {})
        expect = cls()
        if "payments" in data:
            expect.payments = {str(k): int(v) for k, v in (data["payments"] or {}).items()}
        for key in ("confirmed", "errors", "blocks_sigma"):
            if key in data:
                setattr(expect, key, type(getattr(expect, key))(data[key]))
        return expect

    def record(self) -> dict:
        return {"payments": dict(self.payments), "confirmed": self.confirmed,
                "errors": self.errors, "blocks_sigma": self.blocks_sigma}


class _Reasons:
    def __init__(self) -> None:
        self.items: list[dict] = []

    def add(self, level: str, text: str) -> None:
        self.items.append({"level": level, "text": text})

    def verdict(self) -> str:
        return max((r["level"] for r in self.items), key=_RANK.get, default=OK)


def _names(agents: list[str]) -> str:
    shown = ", ".join(agents[:LISTED])
    return shown + (", …" if len(agents) > LISTED else "")


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def judge(summary: dict, expect: Expect | None = None) -> dict:
    """{verdict, reasons: [{level, text}], expect} for a summary from `sim.report.summary`."""
    expect = expect or Expect()
    reasons = _Reasons()
    _run(summary, reasons)
    _chain(summary, reasons)
    _payers(summary, expect, reasons)
    _payments(summary, expect, reasons)
    _errors(summary, expect, reasons)
    _blocks(summary, expect, reasons)
    _waits(summary, reasons)
    return {"verdict": reasons.verdict(), "reasons": reasons.items, "expect": expect.record()}


def verdict_line(verdict: dict) -> str:
    """One line: `verdict: FAILED — 9 of 10 users never paid (…); …`."""
    reasons = "; ".join(r["text"] for r in verdict["reasons"] if r["level"] == verdict["verdict"])
    return f"verdict: {verdict['verdict'].upper()}" + (f" — {reasons}" if reasons else "")


def _run(summary: dict, reasons: _Reasons) -> None:
    """The run's own course: interrupted, launcher failures, agents that crashed or never ran."""
    run = summary["run"]
    if run.get("status") == "interrupted":
        reasons.add(FAILED, f"the run was interrupted by {run.get('interrupted_by') or 'a signal'}")
    for failure in run.get("failures") or ():
        reasons.add(FAILED, str(failure))
    for problem in summary.get("agent_problems", ()):
        reasons.add(FAILED, problem)


def _chain(summary: dict, reasons: _Reasons) -> None:
    """A controller that never bootstrapped, or never signalled a block after it."""
    roles = {a.get("role") for a in summary["agents"].values()}
    blocks, height = summary["blocks"], summary["run"]["height"]
    if "controller" not in roles or blocks["signals"]:
        return
    if not blocks["bootstrap"]:
        reasons.add(FAILED, f"no block was mined: the controller never bootstrapped the chain "
                            f"(height {height})")
    else:
        reasons.add(FAILED, f"the controller issued no mining signal after its "
                            f"{blocks['bootstrap']} bootstrap blocks (height {height})")


def _payers(summary: dict, expect: Expect, reasons: _Reasons) -> None:
    """Every agent of a paying role paid at least its expected number of times."""
    paid = summary["payments"].get("by_agent", {})
    for role, least in sorted(expect.payments.items()):
        agents = sorted(a for a, row in summary["agents"].items() if row.get("role") == role)
        if not agents or least <= 0:
            continue
        never = [a for a in agents if not paid.get(a)]
        short = [a for a in agents if 0 < paid.get(a, 0) < least]
        if never:
            reasons.add(FAILED, f"{len(never)} of {_plural(len(agents), role)} never paid "
                                f"({_names(never)})")
        if short:
            reasons.add(DEGRADED, f"{len(short)} of {_plural(len(agents), role)} paid fewer than "
                                  f"{least} times ({_names(short)})")


def _payments(summary: dict, expect: Expect, reasons: _Reasons) -> None:
    """Payments never seen, seen with another amount, unknown, unconfirmed; those sent in the
    last minutes before their payee stopped (`in_flight`) are not held against the run."""
    pay = summary["payments"]
    sent = pay["sent"]
    flight = pay.get("in_flight") or {}
    missing = pay["missing"] - flight.get("missing", 0)
    if missing:
        reasons.add(FAILED, f"{missing} of {_plural(sent, 'payment')} never seen by their shop"
                            + _flying(flight.get("missing", 0)))
    if pay["mismatched"]:
        reasons.add(FAILED, f"{pay['mismatched']} of {_plural(sent, 'payment')} seen with "
                            f"another amount than ordered")
    if pay["unknown"]:
        reasons.add(DEGRADED, f"shops saw {_plural(pay['unknown'], 'payment')} that no order "
                              f"accounts for")
    unconfirmed = pay["seen"] - pay["confirmed"] - flight.get("unconfirmed", 0)
    if expect.confirmed and unconfirmed > 0:
        reasons.add(DEGRADED, f"{unconfirmed} of {_plural(pay['seen'], 'payment')} seen were not "
                              f"confirmed by the end" + _flying(flight.get("unconfirmed", 0)))


def _flying(n: int) -> str:
    return f" (and {n} sent in the last 5 min before their payee stopped)" if n else ""


def _errors(summary: dict, expect: Expect, reasons: _Reasons) -> None:
    errors = summary["errors"]
    if errors["total"] > expect.errors:
        worst = sorted(errors["agents"].items(),
                       key=lambda item: -(item[1]["leaf_failed"] + item[1]["rpc_failed"]))
        where = ", ".join(f"{a} {e['leaf_failed'] + e['rpc_failed']}" for a, e in worst[:LISTED])
        reasons.add(DEGRADED, f"{_plural(errors['total'], 'error')} journaled "
                              f"(allowed {expect.errors}): {where}")


def _waits(summary: dict, reasons: _Reasons) -> None:
    """Agents that ended still waiting on others for half the run or more (at least LONG_WAIT):
    what for, and what they had."""
    run = summary["run"]
    span = (run.get("duration") or 0) + (run.get("drain") or 0)
    least = max(LONG_WAIT, span / 2)
    for agent, row in summary["agents"].items():
        wait = row.get("waiting")
        if wait and isinstance(wait.get("waited"), (int, float)) and wait["waited"] >= least:
            reasons.add(DEGRADED, f"{agent} was still waiting at the end for "
                                  f"{wait.get('waiting_for')} (had {wait.get('have')}) after "
                                  f"{_minutes(wait['waited'])}")


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds >= 60 else f"{seconds:.0f} s"


def _blocks(summary: dict, expect: Expect, reasons: _Reasons) -> None:
    """Signals without a block; pools whose block count strays from their hashrate share."""
    blocks = summary["blocks"]
    if blocks["late"]:
        reasons.add(DEGRADED, f"{blocks['late']} of {_plural(blocks['signals'], 'mining signal')} "
                              f"got no block in time")
    total = blocks["total"]
    for pool, p in blocks["pools"].items():
        share = p.get("share")
        if share is None or total == 0 or share in (0, 1):
            continue
        spread = math.sqrt(total * share * (1 - share))
        if abs(p["blocks"] - p["expected"]) > expect.blocks_sigma * spread:
            reasons.add(DEGRADED, f"{pool} mined {p['blocks']} of {total} blocks, expected "
                                  f"{p['expected']:.1f} ± {spread:.1f} from its hashrate share")
