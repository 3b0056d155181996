"""How much memory a run of a scenario holds at its peak, and whether this machine has it.

Neither engine has swap to fall back on at these sizes: a run that does not fit is ended by the
kernel's OOM killer part way (a failed run after minutes), so `monerosim run` and `sweep`
refuse it before anything starts.
"""
from __future__ import annotations

import psutil

from sim.scenario.layout import PER_HOST, SHARED
from sim.scenario.load import Scenario

__all__ = ["FOOTPRINT", "MIB", "memory_needed", "too_big"]

MIB = 2 ** 20
# Resident memory per process, rounded up from measured runs (docs/performance.md, docs/shadow.md):
# a monerod holds RandomX's 256 MiB cache and the chain (~400-450 MB locally and under Shadow);
# Shadow itself about 170 MiB.
FOOTPRINT = {"monerod": 450 * MIB, "wallet": 45 * MIB, "agent": 40 * MIB, "shadow": 200 * MIB}


def memory_needed(scenario: Scenario, engine: str = "local") -> tuple[int, int]:
    """(bytes the run will hold at its peak, monerods in it). Daemons are shared unless placed
    per host locally, per host unless shared under Shadow; private daemons come on top."""
    agents = scenario.agents()
    default = PER_HOST if engine == "shadow" else SHARED
    shared = scenario.daemons.resolved(default) == SHARED
    daemons = (scenario.daemons.count if shared else len(agents)) + sum(1 for a in agents if a.private_daemon)
    wallets = sum(1 for a in agents if a.wallet)
    need = daemons * FOOTPRINT["monerod"] + wallets * FOOTPRINT["wallet"] + len(agents) * FOOTPRINT["agent"]
    return need + (FOOTPRINT["shadow"] if engine == "shadow" else 0), daemons


def too_big(scenario: Scenario, engine: str = "local", available: int | None = None) -> str | None:
    """Why the run cannot fit in `available` bytes (default: this machine's available memory), or None."""
    need, daemons = memory_needed(scenario, engine)
    available = psutil.virtual_memory().available if available is None else available
    if need <= available:
        return None
    where = "under Shadow" if engine == "shadow" else "locally"
    return (f"{scenario.path}: {where} this run needs about {need / 2**30:.1f} GiB ({daemons} monerod at "
            f"~{FOOTPRINT['monerod'] // MIB} MiB each, wallets and agents at ~40 MiB) and "
            f"{available / 2**30:.1f} GiB is available; share daemons (`daemons: {{placement: shared, "
            f"count: N}}`) or use a bigger machine (--no-memory-check runs it anyway)")
