"""`tree-runner run`: check every option (command line, else MONEROSIM_* environment), load the
tree, then tick it as one agent until it finishes, is stopped, or `--stop-after` passes.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
from typing import Any

from lang.errors import LoadError, Problem, UsageError
from lang.values import is_number

from .options import ENV, factory as _factory, option as _option, params as _params

__all__ = ["run"]


def run(args: argparse.Namespace) -> int:
    """`tree-runner run`: check every option, load the tree, then tick it as one agent."""
    _start_logging(args)
    tree_path, agent_id = _tree_and_agent(args)
    timing = _timing(args)
    factory = _factory(_plugins(args))
    tree = factory.load(tree_path, _params(args.param, os.environ.get(ENV["params_env"])))
    for warning in tree.warnings:
        print(str(warning), file=sys.stderr)
    daemon_url, wallet_url = _option(args, "daemon"), _option(args, "wallet")
    wallet_auth = _login(_option(args, "wallet_login"))
    private_url = _option(args, "private_daemon")
    _check_endpoints(tree, factory.catalogue, daemon_url, wallet_url, private_url)

    from behaviours.base import AgentContext

    from .runner import make_rng
    clock = _clock(args, timing, agent_id)
    ctx = AgentContext(agent_id, role=tree.role, clock=clock, rng=make_rng(timing["seed"], agent_id),
                       journal=_journal(args, agent_id, clock), shared_dir=_option(args, "shared"),
                       daemon_url=daemon_url, wallet_url=wallet_url, wallet_auth=wallet_auth,
                       private_daemon_url=private_url,
                       rpc_timeout=timing["rpc_timeout"], params=tree.params,
                       logger=logging.getLogger(f"monerosim.agent.{agent_id}"))
    state_dir = _option(args, "state")
    state = None
    if state_dir:
        from .state import AgentState
        state = AgentState(state_dir, agent_id)
    agent = factory.agent(tree, ctx, clock, idle=timing["idle"], seed=timing["seed"], state=state,
                          status=_status(args, agent_id))
    until = clock.now() + timing["stop_after"] if timing["stop_after"] is not None else None
    status = agent.run(until=until, handle_signals=True)
    return 1 if agent.stop_reason == "finished" and status.value == "FAILURE" else 0


def _start_logging(args: argparse.Namespace) -> None:
    level = str(_option(args, "log_level", "warning")).upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        raise UsageError(f"--log-level {level.lower()}: use debug, info, warning or error")
    logging.basicConfig(level=level, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def _tree_and_agent(args: argparse.Namespace) -> tuple[str, str]:
    """The tree file and the agent id the run was given (both required; the id checked)."""
    tree_path = _option(args, "tree")
    if not tree_path:
        raise UsageError(f"give a tree file (or set {ENV['tree']}); see tree-runner --help")
    agent_id = _option(args, "agent")
    if not agent_id:
        raise UsageError(f"--agent ID is required (or set {ENV['agent']})")
    import ipc
    try:
        ipc.validate_agent_id(agent_id)
    except ipc.InvalidAgentId as exc:
        raise UsageError(f"--agent: {exc}") from None
    return tree_path, agent_id


def _plugins(args: argparse.Namespace) -> list[str]:
    """--plugin modules, else the comma-separated MONEROSIM_PLUGINS."""
    plugins = list(args.plugin)
    env_plugins = os.environ.get(ENV["plugin"])
    if not plugins and env_plugins:
        plugins = [p.strip() for p in env_plugins.split(",") if p.strip()]
    return plugins


def _timing(args: argparse.Namespace) -> dict[str, Any]:
    """The run's durations (seconds), clock options and seed, each checked."""
    timing: dict[str, Any] = {"idle": _seconds(args, "idle", 5.0), "stop_after": _seconds(args, "stop_after", None),
                              "rpc_timeout": _seconds(args, "rpc_timeout", 30.0)}
    time_scale = _number(args, "time_scale", None)
    if time_scale is not None and not time_scale > 0:
        raise UsageError(f"--time-scale: must be above 0, got {time_scale:g}")
    timing["time_scale"] = time_scale
    timing["origin"] = _number(args, "clock_origin", None)
    timing["virtual"] = bool(args.virtual) or os.environ.get(ENV["virtual"], "") not in ("", "0", "false")
    seed_raw = _option(args, "seed", "0")
    timing["seed"] = int(seed_raw) if str(seed_raw).lstrip("-").isdigit() else seed_raw
    return timing


def _seconds(args: argparse.Namespace, dest: str, default: float | None) -> float | None:
    from lang.values import DurationError, parse_duration
    raw = _option(args, dest)
    if raw is None:
        return default
    try:
        return parse_duration(float(raw) if is_number(raw) else raw)
    except DurationError as exc:
        raise UsageError(f"--{dest.replace('_', '-')}: {exc}") from None


def _number(args: argparse.Namespace, dest: str, default: float | None) -> float | None:
    raw = _option(args, dest)
    if raw is None:
        return default
    if not is_number(raw):
        raise UsageError(f"--{dest.replace('_', '-')}: expected a number, got {raw!r}")
    return float(raw)


def _clock(args: argparse.Namespace, timing: dict[str, Any], agent_id: str):
    from .clock import ClockGone, make_clock
    try:
        return make_clock(timing["time_scale"], virtual=timing["virtual"], origin=timing["origin"],
                          lockstep=_option(args, "lockstep"), agent_id=agent_id)
    except ClockGone as exc:
        raise UsageError(f"--lockstep: {exc}") from None


def _journal(args: argparse.Namespace, agent_id: str, clock):
    """The agent's journal writer, or None without --journal."""
    import ipc
    journal_dir = _option(args, "journal")
    if not journal_dir:
        return None
    try:
        return ipc.JournalWriter(ipc.journal_path(journal_dir, agent_id), clock=clock.now, agent=agent_id)
    except OSError as exc:
        raise UsageError(f"--journal {journal_dir}: {exc.strerror or exc}") from None


def _status(args: argparse.Namespace, agent_id: str):
    """The agent's status journal writer, or None without --status."""
    import ipc
    status_dir = _option(args, "status")
    if not status_dir:
        return None
    try:
        return ipc.StatusWriter(ipc.status_path(status_dir, agent_id))
    except OSError as exc:
        raise UsageError(f"--status {status_dir}: {exc.strerror or exc}") from None


def _login(text: str | None) -> tuple[str, str] | None:
    """USER:PASSWORD -> (user, password). The message never repeats the password."""
    if text is None:
        return None
    user, sep, password = text.partition(":")
    if not sep or not user or not password:
        raise UsageError(f"--wallet-login / {ENV['wallet_login']}: write USER:PASSWORD "
                         "(both non-empty)")
    return user, password


def _check_endpoints(tree, cat, daemon_url: str | None, wallet_url: str | None,
                     private_url: str | None = None) -> None:
    """A tree whose leaves call RPC needs the matching URL: say so before starting."""
    problems = []
    for node in tree.root.walk():
        leaf = cat.registry.get(node.type) if node.kind == "leaf" else None
        calls = leaf.RPC if leaf is not None else ()
        for endpoint, url, flag in (("daemon", daemon_url, "--daemon"), ("wallet", wallet_url, "--wallet"),
                                    ("private", private_url, "--private-daemon")):
            if not url and any(c.startswith(endpoint + ".") for c in calls):
                problems.append(Problem(node.file, node.line, node.col, node.path,
                                        f"{node.type} calls the {endpoint.replace('private', 'private daemon')}"
                                        f" RPC: pass {flag} URL "
                                        f"(or set {ENV[flag[2:].replace('-', '_')]})"))
    if problems:
        raise LoadError(problems)
