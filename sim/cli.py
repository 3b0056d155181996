"""`monerosim`: the many-agent side of Monerosim Trees."""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path


def _demo(args: argparse.Namespace) -> int:
    from sim.demo import run_demo
    run_dir = Path(args.out or f"runs/demo-{time.strftime('%Y%m%d-%H%M%S')}")
    if run_dir.exists() and any(run_dir.iterdir()):
        print(f"monerosim: {run_dir}: run directory is not empty", file=sys.stderr)
        return 2
    return 0 if run_demo(run_dir)["ok"] else 1


def _run(args: argparse.Namespace) -> int:
    from behaviours.values import DurationError, parse_duration
    from engine.errors import LoadError
    from sim.launcher import default_run_dir, run_scenario
    from sim.scenario import load_scenario
    try:
        scenario = load_scenario(args.scenario, check_trees=True)
    except LoadError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    scale = duration = None
    if args.time_scale is not None:
        try:
            scale = float(args.time_scale)
        except ValueError:
            scale = -1.0
        if not 0 < scale < float("inf"):
            print(f"monerosim: --time-scale {args.time_scale}: expected a number above 0", file=sys.stderr)
            return 2
    if args.duration is not None:
        try:
            duration = parse_duration(float(args.duration) if _is_number(args.duration) else args.duration)
        except DurationError as exc:
            duration, problem = 0.0, str(exc)
        else:
            problem = "must be above 0"
        if not duration > 0:
            print(f"monerosim: --duration {args.duration}: {problem}", file=sys.stderr)
            return 2
    if args.check:
        for agent in scenario.agents():
            wallet = "wallet" if agent.wallet else "no wallet"
            print(f"{agent.id:<20} {agent.group:<14} {wallet:<9} stop {agent.stop:<5} "
                  f"{agent.tree}  {' '.join(agent.param_args())}")
        return 0
    run_dir = Path(args.out) if args.out else default_run_dir(scenario)
    if run_dir.exists() and (not run_dir.is_dir() or any(run_dir.iterdir())):
        print(f"monerosim: {run_dir}: run directory is not empty", file=sys.stderr)
        return 2
    return run_scenario(scenario, run_dir, time_scale=scale, duration=duration, quiet=args.quiet)


def _summary(args: argparse.Namespace) -> int:
    from sim.summary import format_summary, summarize
    run_dir = Path(args.run)
    if not (run_dir / "journals").is_dir():
        print(f"monerosim: {run_dir}: not a run directory (no journals/)", file=sys.stderr)
        return 2
    summary = summarize(run_dir)
    print(json.dumps(summary, indent=2) if args.json else format_summary(summary))
    return 0


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="monerosim", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="a regtest chain, two wallets, one payment each way")
    demo.add_argument("--out", help="run directory (default runs/demo-<time>)")
    demo.set_defaults(func=_demo)
    run = sub.add_parser("run", help="run a scenario locally: regtest monerod, wallet-rpcs, one "
                                     "tree-runner per agent; then print the summary")
    run.add_argument("scenario", help="scenario YAML file")
    run.add_argument("--out", help="run directory (default runs/<name>-<time>; must be empty)")
    run.add_argument("--time-scale", help="simulated seconds per real second (overrides the scenario)")
    run.add_argument("--duration", help="simulated run time, e.g. 5m (overrides the scenario)")
    run.add_argument("--quiet", action="store_true", help="no progress or phase messages")
    run.add_argument("--check", action="store_true",
                     help="validate the scenario and its trees, list the agents, start nothing")
    run.set_defaults(func=_run)
    summary = sub.add_parser("summary", help="summarize an existing run directory")
    summary.add_argument("run", help="run directory")
    summary.add_argument("--json", action="store_true", help="print the summary as JSON")
    summary.set_defaults(func=_summary)
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("monerosim: interrupted; processes stopped", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
