"""`monerosim`: the many-agent side of Monerosim Trees."""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from lang.errors import MonerosimError, UsageError, exit_status
from lang.values import is_number, parse_duration_option


def _demo(args: argparse.Namespace) -> int:
    from sim.local.demo import run_demo
    run_dir = _empty_run_dir(Path(args.out or f"runs/demo-{time.strftime('%Y%m%d-%H%M%S')}"))
    from rpc_client import RpcError
    from sim.monero import ProcessError
    try:
        return 0 if run_demo(run_dir)["ok"] else 1
    except (RpcError, ProcessError) as exc:
        # the demo's own prefix, and where its logs are
        return exit_status(MonerosimError(f"{exc} (processes stopped; logs in {run_dir / 'logs'})"),
                           "monerosim demo")


def _run(args: argparse.Namespace) -> int:
    from sim.local.run import run_scenario
    from sim.scenario.load import load_scenario
    scenario = load_scenario(args.scenario, check_trees=True, overrides=_overrides(args))
    if args.engine == "shadow" or args.shadow:
        return _run_under_shadow(args, scenario)
    scale, max_speed = _positive(args, "time_scale", "max_speed")
    clock = args.clock or ("scaled" if scale is not None else "lockstep")
    if max_speed is not None and clock != "lockstep":
        raise UsageError("--max-speed applies to the lockstep clock only")
    duration = None if args.duration is None else parse_duration_option(args.duration)
    live = None if args.no_live else _port(args.live_port)
    hold = 0.0 if args.live_hold is None else parse_duration_option(args.live_hold, "--live-hold")
    return _start(args, scenario, lambda run_dir: run_scenario(
        scenario, run_dir, clock=clock, time_scale=scale, max_speed=max_speed, duration=duration,
        quiet=args.quiet, status_journal=not args.no_status_journal,
        live=live, live_hold=hold, memory_check=not args.no_memory_check))


def _run_under_shadow(args: argparse.Namespace, scenario) -> int:
    from sim.shadow.run import run_under_shadow
    if args.engine != "shadow":
        raise UsageError("--shadow needs --engine shadow")
    local_only = [f"--{name.replace('_', '-')}" for name in ("clock", "time_scale", "max_speed", "duration",
                                                             "live_port", "live_hold")
                  if getattr(args, name) is not None]
    if local_only:
        raise UsageError(f"{', '.join(local_only)}: local runs only (under Shadow the clock is Shadow's and "
                         "the run lasts the scenario's duration + drain)")
    return _start(args, scenario, lambda run_dir: run_under_shadow(
        scenario, run_dir, shadow=args.shadow, quiet=args.quiet, memory_check=not args.no_memory_check))


def _overrides(args: argparse.Namespace) -> list:
    """`--seed` then each `--param`, in the order given (`sim.scenario.overrides`)."""
    from sim.scenario.overrides import parse_override, seed_override
    out = [] if args.seed is None else [seed_override(args.seed)]
    return out + [parse_override(text) for text in args.param or ()]


def _add_overrides(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seed", help="the scenario's seed (overrides its `seed:`)")
    parser.add_argument("--param", action="append", metavar="KEY=VALUE",
                        help="change one value of the scenario, checked like the file: GROUP.KEY "
                             "(a group key, else a param of its tree: user.count=50, "
                             "pool.hashrate=[60,40]) or a scenario key (duration=30m, "
                             "daemons.peers=8); repeatable (docs/sweeps.md)")


def _start(args: argparse.Namespace, scenario, start) -> int:
    """--check lists the agents; else `start(run_dir)` in --out or runs/<name>-<time>, which
    must be empty (exit 2 otherwise)."""
    from sim.local.run import default_run_dir
    if args.check:
        return _run_check(scenario)
    return start(_empty_run_dir(Path(args.out) if args.out else default_run_dir(scenario)))


def _empty_run_dir(run_dir: Path) -> Path:
    """`run_dir` when it is absent or an empty directory; UsageError otherwise."""
    if run_dir.exists() and (not run_dir.is_dir() or any(run_dir.iterdir())):
        raise UsageError(f"{run_dir}: run directory is not empty")
    return run_dir


def _run_check(scenario) -> int:
    """`--check`: the agents, one line each."""
    for agent in scenario.agents():
        wallet = "wallet" if agent.wallet else "no wallet"
        private = "  (+ a private daemon)" if agent.private_daemon else ""
        print(f"{agent.id:<20} {agent.group:<14} {wallet:<9} stop {agent.stop:<5} "
              f"{agent.tree}  {' '.join(agent.param_args())}{private}")
    return 0


def _positive(args: argparse.Namespace, *dests: str) -> list[float | None]:
    """Each option as a number above 0, None when absent; UsageError naming every bad one."""
    values, bad = [], []
    for dest in dests:
        raw = getattr(args, dest)
        value = None if raw is None else float(raw) if is_number(raw) else -1.0
        if value is not None and not 0 < value < float("inf"):
            bad.append(f"--{dest.replace('_', '-')} {raw}: expected a number above 0")
        values.append(value)
    if bad:
        raise UsageError("\nmonerosim: ".join(bad))      # one line each, as every line is said
    return values


def _port(raw: str | None) -> int:
    """--live-port as a TCP port (0: any free one); UsageError when bad."""
    if raw is None:
        return 0
    if not raw.isdigit() or not 0 <= int(raw) <= 65535:
        raise UsageError(f"--live-port {raw}: expected a port number 0-65535")
    return int(raw)


def _summary(args: argparse.Namespace) -> int:
    from sim.report.summary import format_summary, summarize
    from sim.report.load import NotARunDirectory
    run_dir = Path(args.run)
    if not (run_dir / "journals").is_dir():
        raise NotARunDirectory(f"{run_dir}: not a run directory (no journals/)")
    summary = summarize(run_dir)
    print(json.dumps(summary, indent=2) if args.json else format_summary(summary))
    return 0


def _report(args: argparse.Namespace) -> int:
    from sim.report import build_report
    try:
        page = build_report(args.run, args.out)
    except OSError as exc:
        raise MonerosimError(f"report: {exc}") from exc
    print(page)
    return 0


def _export(args: argparse.Namespace) -> int:
    from sim.report.export import export
    written = export(args.run, args.out)
    for path, rows in written.items():
        print(f"{path}: {rows} rows")
    return 0


def _generate(args: argparse.Namespace) -> int:
    from sim.scenario.load import load_scenario
    from sim.shadow.generate import Paths, generate
    scenario = load_scenario(args.scenario, check_trees=not args.no_check_trees)
    out = Path(args.out).resolve()
    paths = Paths(out, Path(args.data_root).resolve() if args.data_root else out)
    for name in ("python", "monerod", "wallet_rpc"):
        value = getattr(args, name)
        if value is not None:
            if not Path(value).is_absolute():
                raise UsageError(f"--{name.replace('_', '-')} {value}: give an absolute path")
            setattr(paths, name, value)
    done = generate(scenario, paths, force=args.force)
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
    if args.status:
        import json
        from ipc.status import STATUS_SCHEMA
        text = json.dumps(STATUS_SCHEMA, indent=2, ensure_ascii=False) + "\n"
    else:
        text = render_markdown() if args.markdown else schema_text()
    if not args.output:
        sys.stdout.write(text)
        return 0
    try:
        out = Path(args.output)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise MonerosimError(f"schema: {args.output}: {exc.strerror or exc}") from exc
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run one command; a project error is said on stderr and gives its exit code."""
    args = _parser().parse_args(argv)
    try:
        return args.func(args)
    except MonerosimError as exc:
        return exit_status(exc, "monerosim")
    except KeyboardInterrupt:
        print("monerosim: interrupted; processes stopped", file=sys.stderr)
        return 130


def _parser() -> argparse.ArgumentParser:
    """The commands, in the order --help lists them."""
    parser = argparse.ArgumentParser(prog="monerosim", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="a regtest chain, two wallets, one payment each way")
    demo.add_argument("--out", help="run directory (default runs/demo-<time>)")
    demo.set_defaults(func=_demo)
    _add_run(sub)
    summary = sub.add_parser("summary", help="summarize an existing run directory")
    summary.add_argument("run", help="run directory")
    summary.add_argument("--json", action="store_true", help="print the summary as JSON")
    summary.set_defaults(func=_summary)
    _add_generate(sub)
    check = sub.add_parser("check-shadow", help="check a Shadow config against Shadow's rules")
    check.add_argument("config", help="shadow.yaml")
    check.set_defaults(func=_check_shadow)
    schema = sub.add_parser("schema", help="print the JSON Schema of scenario files (for editors), "
                                           "or with --markdown the scenario reference (docs/scenario.md)")
    schema.add_argument("-o", "--output", help="write to this file instead of stdout")
    schema.add_argument("--markdown", action="store_true",
                        help="the reference of every scenario key as Markdown, instead of the schema")
    schema.add_argument("--status", action="store_true",
                        help="the JSON Schema of a status journal's lines (docs/status.schema.json)")
    schema.set_defaults(func=_schema)
    from sim.sweep.commands import add_commands
    add_commands(sub)
    _add_reader(sub, "report", _report, "write report.json, plots and report.html for a run "
                                        "directory (local, or a Shadow run's journals/ + shared/)")
    _add_reader(sub, "export", _export, "write a run directory's payments, blocks, journal "
                                        "events and agents (and, with daemon logs, propagation "
                                        "and forks) as CSV tables (for pandas)")
    return parser


def _add_run(sub) -> None:
    """`monerosim run SCENARIO`: locally or under Shadow."""
    run = sub.add_parser("run", help="run a scenario locally: regtest monerod, wallet-rpcs, one "
                                     "tree-runner per agent; then print the summary")
    run.add_argument("scenario", help="scenario YAML file")
    run.add_argument("--out", help="run directory (default runs/<name>-<time>; must be empty)")
    _add_overrides(run)
    run.add_argument("--engine", choices=("local", "shadow"), default="local",
                     help="local (default): processes on this machine; shadow: generate the Shadow "
                          "config into the run directory and run it under Shadow (docs/shadow.md)")
    run.add_argument("--shadow", help="with --engine shadow: the shadow binary (default: shadow on PATH)")
    run.add_argument("--no-memory-check", action="store_true",
                     help="start even when the run seems to need more memory than is available "
                          "(estimated per monerod, wallet and agent: docs/performance.md)")
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
    run.add_argument("--live-port", help="the live view's port on 127.0.0.1 (default: a free one; "
                                         "its address is printed at start)")
    run.add_argument("--no-live", action="store_true", help="no live view")
    run.add_argument("--live-hold", help="keep the live view up this long after the verdict, e.g. 30s")
    run.add_argument("--no-status-journal", action="store_true",
                     help="agents write no status journal (status/<agent>.jsonl: each node's "
                          "status changes, for the report's replay); for measuring its cost")
    run.add_argument("--check", action="store_true",
                     help="validate the scenario and its trees, list the agents, start nothing")
    run.set_defaults(func=_run)


def _add_generate(sub) -> None:
    """`monerosim generate SCENARIO -o DIR`: a Shadow config, not run."""
    gen = sub.add_parser("generate", help="write a Shadow 3.x config (shadow.yaml, topology.gml) for a "
                                          "scenario, checked against Shadow's rules")
    gen.add_argument("scenario", help="scenario YAML file")
    gen.add_argument("-o", "--out", required=True, help="output directory")
    _add_overrides(gen)
    gen.add_argument("--data-root", help="where agents and daemons write: shared/, journals/, wallets/, "
                                         "daemons/ (default: the output directory)")
    gen.add_argument("--python", help="absolute Python that runs tree-runner (default: this one)")
    gen.add_argument("--monerod", help="absolute path of monerod (default: from PATH)")
    gen.add_argument("--wallet-rpc", help="absolute path of monero-wallet-rpc (default: from PATH)")
    gen.add_argument("--force", action="store_true", help="replace an existing shadow.yaml / topology.gml")
    gen.add_argument("--no-check-trees", action="store_true",
                     help="do not load every agent's tree with its params first")
    gen.set_defaults(func=_generate)


def _add_reader(sub, name: str, func, help: str) -> None:
    """A command that reads a run directory and writes into -o (default RUN/<name>/)."""
    command = sub.add_parser(name, help=help)
    command.add_argument("run", help="run directory")
    command.add_argument("-o", "--out", help=f"output directory (default RUN/{name}/)")
    command.set_defaults(func=func)


if __name__ == "__main__":
    sys.exit(main())
