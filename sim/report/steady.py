"""Steady-state figures: the run after its start-up phases (`sim.report.phases`), beside the whole run.

Start-up (wallets opening, the bootstrap, funding) is idle for payments, so whole-run rates
understate what the network does once it runs. `steady` gives the phase ends and, from the
end of funding to the end of `duration` (the drain left out): minutes, transactions and
payments sent, tx per minute, latencies.
"""
from __future__ import annotations

from sim.report.phases import phase_ends

__all__ = ["steady"]


def steady(files, tally, expect, items: list[dict], per_minute: dict, origin: float,
           latency) -> dict:
    """`latency` is the report's latency function over payment items."""
    agents = tally.agents
    payers = [a for a, t in agents.items() if expect.payments.get(t.role, 0) > 0]
    launched = [a for a in (files.run or {}).get("agents", []) if isinstance(a, dict)]
    wallets = (sum(1 for a in launched if a.get("wallet")) if launched else len(tally.wallet_at))
    controller = any(t.role == "controller" for t in agents.values())
    ends = phase_ends(tally, wallets, payers, controller)
    rel = {k: (None if v is None else round(max(v - origin, 0.0), 3)) for k, v in ends.items()}
    start = rel["funding"]
    out = {"phases": rel, "from": start}
    if start is None:
        return {**out, "minutes": 0, "sent": 0, "payments": 0, "per_minute": None,
                "latency": latency([])}
    first = int(start // 60) + 1                # whole minutes after the start-up only
    duration = (files.run or {}).get("duration")   # early agents (users) stop then: drain left out
    last = int(duration // 60) if isinstance(duration, (int, float)) else per_minute["minutes"]
    last = min(last, per_minute["minutes"])
    minutes = max(0, last - first)
    sent = sum(per_minute["sent"][first:last])
    payments = sum(per_minute["payments"][first:last])
    chosen = [i for i in items if i["sent"] is not None and first * 60 <= i["sent"] < last * 60]
    return {**out, "minutes": minutes, "sent": sent, "payments": payments,
            "per_minute": round(sent / minutes, 4) if minutes else None,
            "latency": latency(chosen)}
