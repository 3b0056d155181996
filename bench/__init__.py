"""Benchmarks (`make bench` = `python -m bench`): side-by-side figures and ratios, never timed tests.

A benchmark is a function registered with `@bench("name")` that returns a list of `Row`s.
Modules listed in `MODULES` are imported by `python -m bench` to register theirs.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

__all__ = ["Row", "bench", "BENCHES", "MODULES"]

MODULES = ["bench.engine_bench", "bench.run_bench", "bench.shadow_bench", "bench.clock_bench", "bench.network_bench",
           "bench.status_bench", "bench.selfish_bench", "bench.spy_bench", "bench.flood_bench"]


@dataclass
class Row:
    """One measured figure next to its baseline. `better` says which way is good."""

    name: str
    ours: float
    baseline: float
    unit: str
    goal: str = ""
    ok: bool | None = None
    note: str = ""

    @property
    def ratio(self) -> float:
        return self.ours / self.baseline if self.baseline else float("inf")


BENCHES: dict[str, Callable[[], list[Row]]] = {}


def bench(name: str):
    """Register a benchmark function returning a list of Rows."""
    def register(fn: Callable[[], list[Row]]):
        BENCHES[name] = fn
        return fn
    return register
