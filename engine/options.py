"""tree-runner's options: each read from the command line or its MONEROSIM_* variable, and the
factory the chosen plugins give. Shared by the subcommands (engine.cli, engine.runcmd)."""
from __future__ import annotations

import argparse
import json
import os
from typing import Any, Sequence

from lang.errors import LoadError, UsageError

__all__ = ["ENV", "factory", "params", "option"]

# option dest -> environment variable
ENV = {
    "tree": "MONEROSIM_TREE",
    "agent": "MONEROSIM_AGENT",
    "daemon": "MONEROSIM_DAEMON",
    "private_daemon": "MONEROSIM_PRIVATE_DAEMON",
    "wallet": "MONEROSIM_WALLET",
    "wallet_login": "MONEROSIM_WALLET_LOGIN",
    "shared": "MONEROSIM_SHARED",
    "journal": "MONEROSIM_JOURNAL",
    "state": "MONEROSIM_STATE",
    "status": "MONEROSIM_STATUS",
    "seed": "MONEROSIM_SEED",
    "time_scale": "MONEROSIM_TIME_SCALE",
    "clock_origin": "MONEROSIM_CLOCK_ORIGIN",
    "lockstep": "MONEROSIM_LOCKSTEP",
    "params_env": "MONEROSIM_PARAMS",
    "log_level": "MONEROSIM_LOG_LEVEL",
    "plugin": "MONEROSIM_PLUGINS",
    "idle": "MONEROSIM_IDLE",
    "stop_after": "MONEROSIM_STOP_AFTER",
    "virtual": "MONEROSIM_VIRTUAL",
    "rpc_timeout": "MONEROSIM_RPC_TIMEOUT",
}


def factory(plugins: Sequence[str]):
    """The engine.Factory for these plugin modules (shared: built once per process)."""
    from engine import Factory
    return Factory.for_plugins(plugins)


def params(pairs: Sequence[str], env_json: str | None = None) -> dict[str, Any]:
    from lang.yamlload import parse_value
    params: dict[str, Any] = {}
    if env_json:
        try:
            loaded = json.loads(env_json)
        except ValueError as exc:
            raise UsageError(f"{ENV['params_env']}: not a JSON object: {exc}") from None
        if not isinstance(loaded, dict):
            raise UsageError(f"{ENV['params_env']}: expected a JSON object of parameters")
        params.update(loaded)
    for pair in pairs:
        name, sep, text = pair.partition("=")
        name = name.strip()
        if not sep or not name:
            raise UsageError(f"--param {pair!r}: write NAME=VALUE")
        try:
            params[name] = parse_value(text, f"--param {name}")
        except LoadError as exc:
            raise UsageError(f"--param {name}: {exc.problems[0].message}") from None
    return params


def option(args: argparse.Namespace, dest: str, default: Any = None) -> Any:
    value = getattr(args, dest, None)
    if value in (None, [], ""):
        value = os.environ.get(ENV[dest]) or None
    return default if value is None else value
