"""`monerosim`: the many-agent side of Monerosim Trees."""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path


def _demo(args: argparse.Namespace) -> int:
    from sim.local.demo import run_demo
    run_dir = Path(args.out or f"runs/demo-{time.strftime('%Y%m%d-%H%M%S')}")
    if run_dir.exists() and any(run_dir.iterdir()):
        print(f"monerosim: {run_dir}: run directory is not empty", file=sys.stderr)
        return 2
    from rpc_client import RpcError
    from sim.monero import ProcessError
    try:
        return 0 if run_demo(run_dir)["ok"] else 1
    except (RpcError, ProcessError) as exc:
        print(f"monerosim demo: {exc} (processes stopped; logs in {run_dir / 'logs'})",
              file=sys.stderr)
        return 1


def _run(args: argparse.Namespace) -> int:
    from lang.values import DurationError, parse_duration
    from lang.errors import LoadError
    from sim.local.run import run_scenario
    from sim.scenario.load import load_scenario
    try:
        scenario = load_scenario(args.scenario, check_trees=True)
    except LoadError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    if args.engine == "shadow" or args.shadow or args.no_memory_check:
        return _run_under_shadow(args, scenario)
    duration = None
    scale, max_speed = _positive(args, "time_scale"), _positive(args, "max_speed")
    if scale == -1 or max_speed == -1:
        return 2
    clock = args.clock or ("scaled" if scale is not None else "lockstep")
    if max_speed is not None and clock != "lockstep":
        print("monerosim: --max-speed applies to the lockstep clock only", file=sys.stderr)
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
    return _start(args, scenario, lambda run_dir: run_scenario(
        scenario, run_dir, clock=clock, time_scale=scale, max_speed=max_speed, duration=duration,
        quiet=args.quiet))


def _run_under_shadow(args: argparse.Namespace, scenario) -> int:
    from sim.shadow.run import run_under_shadow
    if args.engine != "shadow":
        print(f"monerosim: {'--shadow' if args.shadow else '--no-memory-check'} needs --engine shadow",
              file=sys.stderr)
        return 2
    local_only = [f"--{name.replace('_', '-')}" for name in ("clock", "time_scale", "max_speed", "duration")
                  if getattr(args, name) is not None]
    if local_only:
        print(f"monerosim: {', '.join(local_only)}: local runs only (under Shadow the clock is Shadow's and "
              "the run lasts the scenario's duration + drain)", file=sys.stderr)
        return 2
    return _start(args, scenario, lambda run_dir: run_under_shadow(
        scenario, run_dir, shadow=args.shadow, quiet=args.quiet, memory_check=not args.no_memory_check))


def _start(args: argparse.Namespace, scenario, start) -> int:
    """--check lists the agents; else `start(run_dir)` in --out or runs/<name>-<time>, which
    must be empty (exit 2 otherwise)."""
    from sim.local.run import default_run_dir
    if args.check:
        return _run_check(scenario)
    run_dir = Path(args.out) if args.out else default_run_dir(scenario)
    if run_dir.exists() and (not run_dir.is_dir() or any(run_dir.iterdir())):
        print(f"monerosim: {run_dir}: run directory is not empty", file=sys.stderr)
        return 2
    return start(run_dir)


def _run_check(scenario) -> int:
    """`--check`: the agents, one line each."""
    for agent in scenario.agents():
        wallet = "wallet" if agent.wallet else "no wallet"
        print(f"{agent.id:<20} {agent.group:<14} {wallet:<9} stop {agent.stop:<5} "
              f"{agent.tree}  {' '.join(agent.param_args())}")
    return 0


def _positive(args: argparse.Namespace, dest: str) -> float | None:
    """The option as a number above 0; None when absent; -1 (after saying why) when bad."""
    raw = getattr(args, dest)
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 < value < float("inf"):
        print(f"monerosim: --{dest.replace('_', '-')} {raw}: expected a number above 0", file=sys.stderr)
        return -1
    return value


def _summary(args: argparse.Namespace) -> int:
    from sim.report.summary import format_summary, summarize
    run_dir = Path(args.run)
    if not (run_dir / "journals").is_dir():
        print(f"monerosim: {run_dir}: not a run directory (no journals/)", file=sys.stderr)
        return 2
    summary = summarize(run_dir)
    print(json.dumps(summary, indent=2) if args.json else format_summary(summary))
    return 0


def _report(args: argparse.Namespace) -> int:
    from sim.report import build_report
    from sim.report.load import NotARunDirectory
    try:
        page = build_report(args.run, args.out)
    except NotARunDirectory as exc:
        print(f"monerosim: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"monerosim: report: {exc}", file=sys.stderr)
        return 1
    print(page)
    return 0


def _export(args: argparse.Namespace) -> int:
    from sim.report.export import ExportError, export
    from sim.report.load import NotARunDirectory
    try:
        written = export(args.run, args.out)
    except (NotARunDirectory, ExportError) as exc:
        print(f"monerosim: {exc}", file=sys.stderr)
        return 2
    for path, rows in written.items():
        print(f"{path}: {rows} rows")
    return 0


def _generate(args: argparse.Namespace) -> int:
    from lang.errors import LoadError
    from sim.scenario.load import load_scenario
    from sim.shadow.generate import GenerateError, Paths, generate
    try:
        scenario = load_scenario(args.scenario, check_trees=not args.no_check_trees)
    except LoadError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    out = Path(args.out).resolve()
    paths = Paths(out, Path(args.data_root).resolve() if args.data_root else out)
    for name in ("python", "monerod", "wallet_rpc"):
        value = getattr(args, name)
        if value is not None:
            if not Path(value).is_absolute():
                print(f"monerosim: --{name.replace('_', '-')} {value}: give an absolute path", file=sys.stderr)
                return 2
            setattr(paths, name, value)
    try:
        done = generate(scenario, paths, force=args.force)
    except GenerateError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    print(f"{done.config}: {done.hosts} hosts, {done.processes} processes; graph {done.gml}; "
          f"data root {done.data_root}")
    return 0


def _check_shadow(args: argparse.Namespace) -> int:
    from sim.shadow.check import check_config
    problems, summary = check_config(args.config)
    if problems:
        print("\n".join(map(str, problems)), file=sys.stderr)
        return 2
    print(summary.line(args.config))
    return 0


def _schema(args: argparse.Namespace) -> int:
    from sim.scenario.docs import render_markdown
    from sim.scenario.schema import schema_text
    text = render_markdown() if args.markdown else schema_text()
    if not args.output:
        sys.stdout.write(text)
        return 0
    try:
        out = Path(args.output)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        print(f"monerosim: schema: {args.output}: {exc.strerror or exc}", file=sys.stderr)
        return 1
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
    run.add_argument("--engine", choices=("local", "shadow"), default="local",
                     help="local (default): processes on this machine; shadow: generate the Shadow "
                          "config into the run directory and run it under Shadow (docs/shadow.md)")
    run.add_argument("--shadow", help="with --engine shadow: the shadow binary (default: shadow on PATH)")
    run.add_argument("--no-memory-check", action="store_true",
                     help="with --engine shadow: start even when the run needs more memory than is available")
    run.add_argument("--clock", choices=("lockstep", "scaled", "real"),
                     help="lockstep (default): simulated time moves only while every agent waits, so "
                          "results do not depend on the machine; scaled: wall time x --time-scale "
                          "(demos); real: wall time")
    run.add_argument("--time-scale", help="the scaled clock's simulated seconds per real second "
                                          "(overrides the scenario; implies --clock scaled)")
    run.add_argument("--max-speed", help="lockstep: at most this many simulated seconds per real "
                                         "second (default: unlimited)")
    run.add_argument("--duration", help="simulated run time, e.g. 5m (overrides the scenario)")
    run.add_argument("--quiet", action="store_true", help="no progress or phase messages")
    run.add_argument("--check", action="store_true",
                     help="validate the scenario and its trees, list the agents, start nothing")
    run.set_defaults(func=_run)
    summary = sub.add_parser("summary", help="summarize an existing run directory")
    summary.add_argument("run", help="run directory")
    summary.add_argument("--json", action="store_true", help="print the summary as JSON")
    summary.set_defaults(func=_summary)
    gen = sub.add_parser("generate", help="write a Shadow 3.x config (shadow.yaml, topology.gml) for a "
                                          "scenario, checked against Shadow's rules")
    gen.add_argument("scenario", help="scenario YAML file")
    gen.add_argument("-o", "--out", required=True, help="output directory")
    gen.add_argument("--data-root", help="where agents and daemons write: shared/, journals/, wallets/, "
                                         "daemons/ (default: the output directory)")
    gen.add_argument("--python", help="absolute Python that runs tree-runner (default: this one)")
    gen.add_argument("--monerod", help="absolute path of monerod (default: from PATH)")
    gen.add_argument("--wallet-rpc", help="absolute path of monero-wallet-rpc (default: from PATH)")
    gen.add_argument("--force", action="store_true", help="replace an existing shadow.yaml / topology.gml")
    gen.add_argument("--no-check-trees", action="store_true",
                     help="do not load every agent's tree with its params first")
    gen.set_defaults(func=_generate)
    check = sub.add_parser("check-shadow", help="check a Shadow config against Shadow's rules")
    check.add_argument("config", help="shadow.yaml")
    check.set_defaults(func=_check_shadow)
    schema = sub.add_parser("schema", help="print the JSON Schema of scenario files (for editors), "
                                           "or with --markdown the scenario reference (docs/scenario.md)")
    schema.add_argument("-o", "--output", help="write to this file instead of stdout")
    schema.add_argument("--markdown", action="store_true",
                        help="the reference of every scenario key as Markdown, instead of the schema")
    schema.set_defaults(func=_schema)
    report = sub.add_parser("report", help="write report.json, plots and report.html for a run "
                                           "directory (local, or a Shadow run's journals/ + shared/)")
    report.add_argument("run", help="run directory")
    report.add_argument("-o", "--out", help="output directory (default RUN/report/)")
    report.set_defaults(func=_report)
    export = sub.add_parser("export", help="write a run directory's payments, blocks, journal "
                                           "events and agents as CSV tables (for pandas)")
    export.add_argument("run", help="run directory")
    export.add_argument("-o", "--out", help="output directory (default RUN/export/)")
    export.set_defaults(func=_export)
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("monerosim: interrupted; processes stopped", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
