"""The phases of a run, from its journals: wallets, bootstrap, funding, steady.

wallets    until every agent with a wallet has it open (`wallet_created` / `wallet_opened`)
bootstrap  until the controller's first mining signal (runs without a controller skip it)
funding    until every agent of a paying role (the verdict's `expect.payments`) is `funded`
steady     from then on: the figures a researcher compares (start-up excluded)

A phase not finished by the end of the run is where the run stopped.
"""
from __future__ import annotations

__all__ = ["PHASES", "START", "phase_ends", "current_phase"]

PHASES = ("wallets", "bootstrap", "funding", "steady")
START = float("-inf")       # a phase with nothing to wait for ends at the start of the run


def phase_ends(tally, wallets: int, payers: list[str], controller: bool) -> dict[str, float | None]:
    """When each start-up phase ended (simulated time), None while it has not. `wallets`: how
    many agents have a wallet; `payers`: the agents of paying roles; `controller`: whether the
    run has one (else bootstrap ends with the wallets)."""
    ends: dict[str, float | None] = {}
    opened = tally.wallet_at
    ends["wallets"] = max(opened.values(), default=START) if len(opened) >= wallets else None
    if not controller:
        ends["bootstrap"] = ends["wallets"]
    else:
        ends["bootstrap"] = tally.first_signal if ends["wallets"] is not None else None
        if ends["bootstrap"] is not None:
            ends["bootstrap"] = max(ends["bootstrap"], ends["wallets"])
    funded = [tally.funded_at.get(agent) for agent in payers]   # None: not yet
    ends["funding"] = None
    if ends["bootstrap"] is not None and None not in funded:
        ends["funding"] = max([ends["bootstrap"], *funded])
    return ends


def current_phase(ends: dict[str, float | None]) -> str:
    """The first phase that has not ended; `steady` once all have."""
    for phase in PHASES[:-1]:
        if ends.get(phase) is None:
            return phase
    return "steady"
