"""Run every registered benchmark and print one table: ours, baseline, ratio, goal, verdict.

    python -m bench            # all
    python -m bench engine     # only benchmarks whose name contains "engine"
"""
from __future__ import annotations

import importlib
import sys
import time

from . import BENCHES, MODULES, Row


def _fmt(value: float, unit: str) -> str:
    if unit == "s" and value < 0.01:
        return f"{value * 1e6:.1f} µs"
    if unit == "s":
        return f"{value:.3f} s"
    if unit == "MB":
        return f"{value:.1f} MB"
    if unit == "%":
        return f"{value:.1f} %"
    return f"{value:,.0f} {unit}".strip()


def main(argv: list[str]) -> int:
    for module in MODULES:
        importlib.import_module(module)
    wanted = [name for name in BENCHES if not argv or any(a in name for a in argv)]
    rows: list[tuple[str, Row]] = []
    for name in wanted:
        start = time.perf_counter()
        result = BENCHES[name]()
        print(f"[{name}: {time.perf_counter() - start:.1f}s]", file=sys.stderr)
        rows.extend((name, row) for row in result)
    header = ("benchmark", "figure", "ours", "baseline", "ratio", "goal", "")
    table = [header] + [(b, r.name, _fmt(r.ours, r.unit), _fmt(r.baseline, r.unit), f"{r.ratio:.3g}×",
                         r.goal, {True: "ok", False: "MISSED", None: ""}[r.ok]) for b, r in rows]
    widths = [max(len(str(line[i])) for line in table) for i in range(len(header))]
    for i, line in enumerate(table):
        print("  ".join(str(cell).ljust(w) for cell, w in zip(line, widths)).rstrip())
        if i == 0:
            print("  ".join("-" * w for w in widths))
    for _b, row in rows:
        if row.note:
            print(f"  * {row.name}: {row.note}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
