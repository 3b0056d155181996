"""tree-runner: run, validate, render a behaviour tree, or print the language's JSON Schema.

    tree-runner TREE.yaml --agent ID [--daemon URL] [--wallet URL] [--shared DIR]
                [--journal DIR] [--seed N] [--time-scale X] [--param k=v ...] [--log-level L]
    tree-runner validate TREE...
    tree-runner schema [-o FILE]
    tree-runner render TREE -o OUT.{txt,utf8,dot,svg,png}
    tree-runner leaves
    tree-runner docs [-o docs/behaviours.md]

Every run option can also come from a MONEROSIM_* environment variable (see --help), so a
Shadow process entry stays one line. Exit codes: 0 done (tree succeeded or the agent was
stopped by a signal), 1 the tree failed, 2 bad input (nothing was run), 3 internal error.
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Sequence

from lang.errors import LoadError, MonerosimError, exit_status

from .options import ENV, factory as _factory, params as _params

__all__ = ["main", "ENV"]

COMMANDS = ("run", "validate", "schema", "render", "leaves", "docs")

def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tree-runner", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command")
    _add_run_command(sub)

    validate = sub.add_parser("validate", help="check tree files; print problems as file:line:col")
    validate.add_argument("trees", nargs="+")
    validate.add_argument("--param", action="append", default=[], metavar="K=V")
    validate.add_argument("--plugin", action="append", default=[], metavar="MODULE")
    validate.add_argument("-q", "--quiet", action="store_true", help="print problems only")

    schema = sub.add_parser("schema", help="print the JSON Schema of tree files (for editors)")
    schema.add_argument("-o", "--output", help="write to this file instead of stdout")
    schema.add_argument("--plugin", action="append", default=[], metavar="MODULE")

    render = sub.add_parser("render", help="draw a tree: OUT's suffix picks .txt (ASCII), .utf8 "
                                           "(Unicode), .dot, .svg or .png")
    render.add_argument("tree")
    render.add_argument("-o", "--output", required=True)
    render.add_argument("--param", action="append", default=[], metavar="K=V")
    render.add_argument("--plugin", action="append", default=[], metavar="MODULE")

    leaves = sub.add_parser("leaves", help="list the leaf types this engine knows")
    leaves.add_argument("--plugin", action="append", default=[], metavar="MODULE")

    docs = sub.add_parser("docs", help="write the leaf reference (docs/behaviours.md) from the registry")
    docs.add_argument("-o", "--output", help="write to this file instead of stdout")
    docs.add_argument("--plugin", action="append", default=[], metavar="MODULE")
    return parser


def _add_run_command(sub) -> None:
    run = sub.add_parser("run", help="run TREE as one agent (the default command)")
    run.add_argument("tree", nargs="?", help=f"tree file [{ENV['tree']}]")
    run.add_argument("--agent", help=f"agent id: lowercase letters, digits, '-', '.' [{ENV['agent']}]")
    run.add_argument("--daemon", help=f"monerod RPC URL, e.g. http://127.0.0.1:18081 [{ENV['daemon']}]")
    run.add_argument("--wallet", help=f"monero-wallet-rpc URL [{ENV['wallet']}]")
    run.add_argument("--private-daemon", help="the agent's own offline monerod (a selfish pool's "
                                              f"private chain) [{ENV['private_daemon']}]")
    run.add_argument("--wallet-login", metavar="USER:PASSWORD",
                     help="monero-wallet-rpc login (HTTP digest auth); prefer the environment "
                          f"variable, a command line is visible to other users [{ENV['wallet_login']}]")
    run.add_argument("--shared", help=f"shared directory (registry, signals) [{ENV['shared']}]")
    run.add_argument("--journal", help=f"journal directory; writes <dir>/<agent>.jsonl [{ENV['journal']}]")
    run.add_argument("--state", help="state directory; <dir>/<agent>.json keeps the durable "
                                     f"blackboard keys across restarts [{ENV['state']}]")
    run.add_argument("--status", help="status journal directory; writes <dir>/<agent>.jsonl, "
                                      f"each node's status changes [{ENV['status']}]")
    run.add_argument("--seed", help=f"scenario seed (default 0) [{ENV['seed']}]")
    run.add_argument("--time-scale", help="simulated seconds per real second (default 1: real time) "
                                          f"[{ENV['time_scale']}]")
    run.add_argument("--clock-origin", help="unix time where a scaled clock starts; give every agent "
                                            f"of a run the same one [{ENV['clock_origin']}]")
    run.add_argument("--lockstep", metavar="SOCKET",
                     help="lockstep clock: simulated time from the run's time keeper at SOCKET "
                          f"(local runs) [{ENV['lockstep']}]")
    run.add_argument("--virtual", action="store_true", default=None,
                     help=f"virtual clock: never sleep, jump (dry runs) [{ENV['virtual']}=1]")
    run.add_argument("--param", action="append", default=[], metavar="K=V",
                     help=f"override a tree parameter; V is YAML (e.g. 5m, 0.2, "
                          f"'{{exponential: {{mean: 5m}}}}') [{ENV['params_env']} as a JSON object]")
    run.add_argument("--plugin", action="append", default=[], metavar="MODULE",
                     help=f"import leaves from MODULE [{ENV['plugin']}, comma-separated]")
    run.add_argument("--idle", help=f"sleep when running nodes asked for no wake time (default 5s) "
                                    f"[{ENV['idle']}]")
    run.add_argument("--stop-after", help=f"stop after this much engine time, e.g. 6h [{ENV['stop_after']}]")
    run.add_argument("--rpc-timeout", help=f"RPC timeout, e.g. 30s [{ENV['rpc_timeout']}]")
    run.add_argument("--log-level", help=f"debug, info, warning (default), error [{ENV['log_level']}]")


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or (argv[0] not in COMMANDS and argv[0] not in ("-h", "--help")):
        argv.insert(0, "run")
    args = _parser().parse_args(argv)
    try:
        return _dispatch(args)
    except MonerosimError as exc:
        return exit_status(exc, "tree-runner")
    except KeyboardInterrupt:
        return 0
    except Exception as exc:  # noqa: BLE001 - one line, not a traceback, unless debugging
        print(f"tree-runner: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        if logging.getLogger().isEnabledFor(logging.DEBUG):
            raise
        return 3


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "schema":
        text = json.dumps(_factory(args.plugin).schema(), indent=2, ensure_ascii=False) + "\n"
        if args.output:
            out = Path(args.output)
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(text, encoding="utf-8")
        else:
            sys.stdout.write(text)
        return 0
    if args.command == "leaves":
        for name, cls in _factory(args.plugin).catalogue.registry.leaves():
            print(f"{name:20} {cls.summary()}")
        return 0
    if args.command == "docs":
        from .docgen import write_docs
        return write_docs(args.output, args.plugin)
    if args.command == "validate":
        return _validate(args)
    if args.command == "render":
        from .render import render_file
        factory = _factory(args.plugin)
        render_file(factory.load(args.tree, _params(args.param)), args.output, factory.catalogue)
        return 0
    from .runcmd import run
    return run(args)


def _validate(args: argparse.Namespace) -> int:
    factory = _factory(args.plugin)
    params = _params(args.param)
    failed = False
    for path in args.trees:
        scenario = _scenario_problem(path)
        if scenario is not None:
            print(str(scenario), file=sys.stderr)
            failed = True
            continue
        try:
            tree = factory.load(path, params, require_root=False)
        except LoadError as exc:
            print(str(exc), file=sys.stderr)
            failed = True
            continue
        for warning in tree.warnings:
            print(str(warning), file=sys.stderr)
        if not args.quiet:
            count = sum(1 for _ in tree.root.walk()) if tree.root else 0
            print(f"{path}: ok ({count} nodes)" if tree.root else f"{path}: ok (subtrees only)")
    return 2 if failed else 0


def _scenario_problem(path: str):
    """One Problem when `path` is a scenario file (`groups:` and no `root:`), not a tree; else None
    (the tree loader then reports whatever else is wrong with it)."""
    import shlex

    from lang.yamlload import load_file
    try:
        doc = load_file(path, path)
    except LoadError:
        return None
    if not (isinstance(doc.data, dict) and "groups" in doc.data and "root" not in doc.data):
        return None
    return doc.problem(("groups",), f"{path} is a scenario file, not a tree: use "
                                    f"`monerosim run --check {shlex.quote(path)}`", key=True)


if __name__ == "__main__":
    sys.exit(main())
