"""The `monerosim sweep` and `monerosim compare` commands (docs/sweeps.md)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lang.errors import UsageError

__all__ = ["add_commands"]


def add_commands(sub) -> None:
    """Add `sweep` and `compare` to `monerosim`'s subcommands."""
    _add_sweep(sub)
    compare = sub.add_parser("compare", help="figures per point with means and 95%% confidence "
                                             "intervals over seeds, CDF plots with bands: "
                                             "compare.html, figures.csv, intervals.csv")
    compare.add_argument("runs", nargs="+", metavar="RUN_OR_SWEEP",
                         help="sweep directories and run directories (runs of one scenario "
                              "with the same --param values form one point)")
    compare.add_argument("-o", "--out", help="output directory (default SWEEP/compare/ for one sweep)")
    compare.set_defaults(func=_compare)


def _add_sweep(sub) -> None:
    """`monerosim sweep SCENARIO --seeds 1-10 --param K=[a,b] -o DIR` on Dask."""
    sweep = sub.add_parser("sweep", help="run a scenario over seeds x parameter values on Dask (a "
                                         "local cluster, or --scheduler), resumable; then compare "
                                         "(docs/sweeps.md)")
    sweep.add_argument("scenario", help="scenario YAML file")
    sweep.add_argument("--seeds", required=True, help="seeds: 1-10, 1,2,5 or 1-3,7")
    sweep.add_argument("--param", action="append", metavar="KEY=VALUE",
                       help="as for `monerosim run`; a list value is swept (user.count=[10,20]), "
                            "any other value is set in every point; repeatable")
    sweep.add_argument("-o", "--out", required=True,
                       help="sweep directory; the same command again resumes it")
    sweep.add_argument("--engine", choices=("local", "shadow"), default="local",
                       help="local (default) or shadow runs, on the workers")
    sweep.add_argument("--shadow", help="with --engine shadow: the shadow binary on the workers")
    sweep.add_argument("--duration", help="simulated run time of every local run (overrides the scenario)")
    sweep.add_argument("--scheduler", help="a Dask scheduler's address (tcp://host:8786); default: "
                                           "a local cluster")
    sweep.add_argument("--workers", help="the local cluster's workers, one run each at a time "
                                         "(default: this machine's cores)")
    sweep.add_argument("--no-compare", action="store_true", help="do not write SWEEP/compare/ at the end")
    sweep.add_argument("--quiet", action="store_true", help="no line per finished point")
    sweep.set_defaults(func=_sweep)


def _sweep(args: argparse.Namespace) -> int:
    from lang.values import parse_duration_option
    from sim.sweep.execute import Options, run_sweep
    from sim.sweep.grid import build_grid, parse_seeds
    from sim.sweep.point import succeeded
    seeds = parse_seeds(args.seeds)
    run_args = []
    if args.duration is not None:
        parse_duration_option(args.duration)
        run_args += ["--duration", args.duration]
    if args.shadow:
        if args.engine != "shadow":
            raise UsageError("--shadow needs --engine shadow")
        run_args += ["--shadow", args.shadow]
    if args.duration is not None and args.engine == "shadow":
        raise UsageError("--duration: local runs only (under Shadow a run lasts the scenario's duration + drain)")
    workers = None
    if args.workers is not None:
        if not args.workers.isdigit() or int(args.workers) < 1:
            raise UsageError(f"--workers {args.workers}: expected a whole number above 0")
        if args.scheduler:
            raise UsageError("--workers sizes the local cluster; with --scheduler the cluster has its own")
        workers = int(args.workers)
    grid = build_grid(args.scenario, seeds, args.param or [])
    out = Path(args.out)
    records = run_sweep(grid, out, Options(args.engine, run_args, args.scheduler, workers, args.quiet))
    failed = [r for r in records if not succeeded(r)]
    if not args.no_compare:
        from sim.compare import compare
        print(f"Comparison: {compare([out], out / 'compare')}")
    degraded = sum(1 for r in records if r.get("verdict") == "degraded")
    print(f"sweep: {len(records) - len(failed)} of {len(records)} points succeeded"
          + (f" ({degraded} degraded)" if degraded else "")
          + (f"; failed: {', '.join(r['name'] for r in failed)}" if failed else "")
          + (" (verdicts.csv, logs/)" if failed or degraded else ""), file=sys.stderr)
    return 1 if failed else 0


def _compare(args: argparse.Namespace) -> int:
    from sim.compare import compare
    if args.out is None:
        if len(args.runs) != 1 or not (Path(args.runs[0]) / "sweep.json").is_file():
            raise UsageError("-o/--out is needed unless one sweep directory is compared "
                             "(then SWEEP/compare/)")
        args.out = str(Path(args.runs[0]) / "compare")
    print(compare(args.runs, args.out))
    return 0
