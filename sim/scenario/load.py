"""Scenario files: which agents a run has, how long it lasts, at what time scale.

    version: 1
    name: small
    seed: 42
    duration: 20m          # simulated time the agents run
    drain: 3m              # then `stop: early` groups stop; the rest run `drain` longer
    time_scale: 10         # local runs: simulated seconds per real second
    network: {type: switch}                      # where hosts sit (sim.scenario.layout): switch, gml, regions
    daemons: {placement: per-host, peers: 4}     # or {placement: shared, count: N}
    monerod_args: []       # extra options; also wallet_rpc_args, wallet_login: {user, password}
    groups:                # started in this order
      - {name: pool, tree: ../trees/pool.yaml, count: 2, params: {hashrate: [60, 40]},
         start: 30s, stagger: 2s, region: eu}
      - name: user
        tree: ../trees/user.yaml
        count: 100
        params: {budget: {per_agent: {uniform: {low: 1, high: 5}}}}   # sim.scenario.draws

Times are seconds from the start of the run: agent i of a group starts at `start + i * stagger`;
`stop: early` agents stop at `duration`, the rest at `duration + drain`.

Loaded with the engine's strict YAML (duplicate keys, tags, YAML 1.1 surprises are errors) and
checked against SCHEMA (`sim.scenario.schema`, which documents every key); every problem is a
`Problem` (`file:line:col: path: message`), raised together as one `LoadError`.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import yaml
from jsonschema import Draft202012Validator

import ipc
from lang.values import DurationError, parse_duration
from lang.errors import LoadError, Problem, did_you_mean, kind_of
from lang.yamlload import Document, format_path, load_file

from sim.scenario.events import load_events
from sim.scenario.draws import group_draws
from sim.scenario.overrides import Override, apply_overrides
from sim.scenario.layout import (GML, PER_HOST, REGIONS, Bandwidth, Daemons, Network, WalletLogin, group_layout,
                                  load_layout)
from sim.scenario.schema import PATTERN_HINTS, SCHEMA, STOP_EARLY, STOP_LATE, schema_text

__all__ = ["Scenario", "Group", "AgentSpec", "SCHEMA", "load_scenario", "encode_param",
           "schema_text", "STOP_EARLY", "STOP_LATE"]

_VALIDATOR = Draft202012Validator(SCHEMA)


@dataclass(frozen=True)
class AgentSpec:
    """One agent of a run, as the launcher starts it."""

    id: str
    group: str
    index: int                      # position within its group
    tree: Path                      # absolute
    params: dict[str, Any]
    wallet: bool
    stop: str                       # STOP_EARLY | STOP_LATE
    plugins: tuple[str, ...] = ()
    start: float = 0.0              # seconds from the start of the run
    region: str | None = None       # network type regions
    network_node: int | None = None  # network type gml
    host_bandwidth: Bandwidth | None = None
    private_daemon: bool = False    # an offline monerod of its own (a private chain)
    spy: bool = False               # a spy node's host (docs/research.md)

    def param_args(self) -> list[str]:
        """`--param k=v ...` for tree-runner, each value encoded so the engine reads it back exactly."""
        out: list[str] = []
        for name, value in self.params.items():
            out += ["--param", f"{name}={encode_param(value)}"]
        return out


@dataclass
class Group:
    name: str
    tree: Path
    count: int = 1
    wallet: bool = True
    params: dict[str, Any] = field(default_factory=dict)
    stop: str = STOP_LATE
    plugins: tuple[str, ...] = ()
    position: int = 0               # index in `groups:`
    start: float = 0.0              # seconds: the first agent's start
    stagger: float = 0.0            # seconds between the starts of consecutive agents
    region: tuple[str, ...] = ()    # agents take these regions in turn (default: all, by agent)
    network_node: tuple[int, ...] = ()
    host_bandwidth: Bandwidth | None = None
    draws: dict[str, list] = field(default_factory=dict)   # per_agent params: one value per index
    private_daemon: bool = False
    spy: bool = False               # its hosts are spy nodes

    def ids(self) -> list[str]:
        return [self.name] if self.count == 1 else [f"{self.name}-{i}" for i in range(self.count)]

    def params_for(self, index: int) -> dict[str, Any]:
        """A per_agent draw gives its value for `index`; a list of exactly `count` items
        (count > 1) gives item `index`; any other value is shared."""
        return {k: (self.draws[k][index] if k in self.draws else
                    v[index] if self.count > 1 and isinstance(v, list) and len(v) == self.count else v)
                for k, v in self.params.items()}

    def start_of(self, index: int) -> float:
        return self.start + index * self.stagger


@dataclass
class Scenario:
    path: Path
    text: str
    name: str
    duration: float                 # simulated seconds
    groups: list[Group]
    description: str = ""
    seed: int = 0
    drain: float = 0.0
    time_scale: float = 1.0
    doc: Document | None = field(default=None, repr=False)
    network: Network = field(default_factory=Network)
    daemons: Daemons = field(default_factory=Daemons)
    monerod_args: tuple[str, ...] = ()
    wallet_rpc_args: tuple[str, ...] = ()
    wallet_login: WalletLogin | None = None
    events: list = field(default_factory=list)       # sim.scenario.events.NetworkEvent, in time order
    overrides: dict[str, Any] = field(default_factory=dict)  # `--seed`/`--param` key -> value

    def agents(self) -> list[AgentSpec]:
        """Every agent, group by group in scenario order. Without a group `region` (or
        `network_node`), agents take the regions (nodes with a self-loop) in turn."""
        regions = list(self.network.regions) if self.network.type == REGIONS else []
        nodes = list(self.network.nodes) if self.network.type == GML else []
        out = []
        for g in self.groups:
            for i, agent_id in enumerate(g.ids()):
                n = len(out)
                region = (g.region[i % len(g.region)] if g.region else regions[n % len(regions)]) \
                    if regions else None
                node = (g.network_node[i % len(g.network_node)] if g.network_node else nodes[n % len(nodes)]) \
                    if nodes else None
                out.append(AgentSpec(agent_id, g.name, i, g.tree, g.params_for(i), g.wallet, g.stop,
                                     g.plugins, g.start_of(i), region, node, g.host_bandwidth,
                                     g.private_daemon, g.spy))
        return out

    def check_trees(self) -> None:
        """Load each agent's tree with its params, as tree-runner will: once per distinct set of
        params, per_agent numbers only at their smallest and largest draw. Raises LoadError."""
        problems: list[Problem] = []
        seen: set[str] = set()
        loaded: list = []
        for group in self.groups:
            extremes = _extremes(group.draws)
            for index in range(group.count):
                params = group.params_for(index)
                shown = {k: (v if index in extremes.get(k, (index,)) else "<drawn>") for k, v in params.items()}
                key = json.dumps([str(group.tree), group.plugins, shown], sort_keys=True, default=str)
                if key not in seen:
                    seen.add(key)
                    problems += self._tree_problems(group, params, loaded if index == 0 else None)
        if not problems:     # the wiring between groups, once every tree loads
            from sim.scenario.wiring import check_wiring
            problems = check_wiring(self.doc, loaded)
        if problems:
            raise LoadError(problems)

    def _tree_problems(self, group: Group, params: dict, loaded: list | None = None) -> list[Problem]:
        """Problems loading `group`'s tree with `params`; the tree goes to `loaded` if given."""
        from behaviours.registry import RegistryError
        from engine import Factory
        from sim.scenario.wiring import Loaded
        gpath = ("groups", group.position)
        try:
            factory = Factory.for_plugins(group.plugins)
            tree = factory.load(group.tree, params)
            if loaded is not None:
                loaded.append(Loaded(group, params, tree, factory.catalogue))
        except RegistryError as exc:
            return [self.doc.problem(gpath + ("plugins",), str(exc))]
        except LoadError as exc:
            out = []
            for p in exc.problems:
                prefix = "--param "
                name = p.message[len(prefix):].split(":", 1)[0] if p.message.startswith(prefix) else None
                if name is not None and name in group.params:   # an unknown param: point at the scenario
                    message = p.message.split(": ", 1)[1]
                    out.append(self.doc.problem(gpath + ("params", name), f"{message} (tree {p.file})",
                                                key=True))
                else:
                    out.append(p)
            return out
        return []


def _extremes(draws: dict[str, list]) -> dict[str, tuple[int, ...]]:
    """For drawn numbers: the indices of the smallest and largest value (the trees are checked
    with those; other draws lie between). Other draws: every distinct value is checked."""
    out = {}
    for name, values in draws.items():
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            out[name] = (values.index(min(values)), values.index(max(values)))
    return out


def encode_param(value: Any) -> str:
    """JSON for a `--param` value; the engine parses it as strict YAML, which reads JSON back
    unchanged once the characters YAML treats as line breaks are escaped."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    for char in ("\x85", "\u2028", "\u2029", "\ufeff"):
        text = text.replace(char, f"\\u{ord(char):04x}")
    return text


def load_scenario(path: str | Path, *, check_trees: bool = False,
                  overrides: Sequence[Override] = ()) -> Scenario:
    """Read, validate and resolve the scenario at `path`, with `overrides` (`--seed`, `--param`:
    `sim.scenario.overrides`) applied first. Raises LoadError with every problem, UsageError for
    an override that addresses nothing."""
    path = Path(path)
    doc = load_file(path, str(path))
    apply_overrides(doc, list(overrides))
    data = doc.data
    problems = [_problem(doc, e) for e in _VALIDATOR.iter_errors(data)]
    if problems:
        raise LoadError(problems)
    base = path.resolve().parent
    seconds = {}
    for key in ("duration", "drain"):
        if key in data:
            try:
                seconds[key] = parse_duration(data[key])
            except DurationError as exc:
                problems.append(doc.problem((key,), str(exc)))
    if seconds.get("duration") == 0:
        problems.append(doc.problem(("duration",), "must be above 0"))
    layout, more = load_layout(doc, data, base)
    problems += more
    seed = data.get("seed", 0)
    groups, more = _groups(doc, data, base, layout.network, seconds.get("duration"), seed)
    problems += more
    events, more = load_events(doc, data.get("events", []), layout.network, [g.name for g in groups],
                               seconds.get("duration", 0) + seconds.get("drain", 0))
    problems += more
    problems += _spy_problems(doc, groups, layout.daemons)
    if events and not layout.daemons.several():
        problems.append(doc.problem(("events",), "network events need more than one daemon: add "
                                                 "`daemons: {placement: per-host}` (docs/network.md)", key=True))
    if problems:
        raise LoadError(problems)
    scenario = Scenario(path, _text(path, data, overrides), data["name"], seconds["duration"],
                        groups, data.get("description", ""), seed,
                        seconds.get("drain", 0.0), float(data.get("time_scale", 1)), doc,
                        layout.network, layout.daemons, layout.monerod_args, layout.wallet_rpc_args,
                        layout.wallet_login, events, {o.key: o.value for o in overrides})
    if check_trees:
        scenario.check_trees()
    return scenario


def _text(path: Path, data: dict, overrides: Sequence[Override]) -> str:
    """The scenario as run: the file's text, or with overrides the changed data as YAML."""
    if not overrides:
        return path.read_text(encoding="utf-8")
    given = " ".join(o.option for o in overrides)
    return (f"# {path} as run, with {given}\n# (tree and network files are relative to "
            f"{path.resolve().parent})\n" + yaml.safe_dump(data, sort_keys=False, allow_unicode=True))


def _spy_problems(doc: Document, groups: list[Group], daemons: Daemons) -> list[Problem]:
    """Spy groups need a daemon per host, and some host that is not a spy."""
    spies = [g for g in groups if g.spy]
    if not spies:
        return []
    where = ("groups", spies[0].position, "spy")
    if daemons.placement != PER_HOST:
        return [doc.problem(where, "spy nodes need `daemons: {placement: per-host}` (a monerod on "
                                   "every host)", key=True)]
    if len(spies) == len(groups):
        return [doc.problem(where, "every group is a spy: the spies need other daemons to watch", key=True)]
    return []


def _groups(doc: Document, data: dict, base: Path, network: Network, duration: float | None,
            seed: int) -> tuple[list[Group], list[Problem]]:
    """The groups of a schema-valid scenario, with their layout and draws checked."""
    groups, owners, problems = [], {}, []
    for i, raw in enumerate(data["groups"]):
        group = Group(raw["name"], (base / raw["tree"]).resolve(), raw.get("count", 1),
                      raw.get("wallet", True), dict(raw.get("params") or {}),
                      raw.get("stop", STOP_LATE), tuple(raw.get("plugins", ())), i)
        group.private_daemon = bool(raw.get("private_daemon", False))
        groups.append(group)
        where = ("groups", i, "name")
        if not group.tree.is_file():
            problems.append(doc.problem(("groups", i, "tree"), f"no such tree file: {group.tree}"))
        for name in group.params:
            if not isinstance(name, str) or not name.isidentifier():
                problems.append(doc.problem(("groups", i, "params", name),
                                            f"bad parameter name {name!r}: use letters, digits and _",
                                            key=True))
        problems += group_layout(doc, raw, group, network, duration)
        problems += group_draws(doc, group, seed)
        for agent_id in group.ids():
            try:
                ipc.validate_agent_id(agent_id)
            except ipc.InvalidAgentId as exc:
                problems.append(doc.problem(where, str(exc)))
                break
            if agent_id in owners:
                other = groups[owners[agent_id]]
                line = doc.where(("groups", other.position, "name"))[0]
                problems.append(doc.problem(where, f"agent id {agent_id!r} is also an agent of group "
                                                   f"{other.name!r} (line {line})"))
                break
            owners[agent_id] = i
    return groups, problems


_TYPE_WORDS = {"number": "a number", "integer": "a whole number", "string": "a string",
               "boolean": "true or false", "object": "a mapping", "array": "a list"}


def _problem(doc: Document, error) -> Problem:
    """One jsonschema error as a positioned, readable problem."""
    path = tuple(error.absolute_path)
    v, arg, inst = error.validator, error.validator_value, error.instance
    if v == "additionalProperties":
        allowed = list(error.schema.get("properties", {}))
        extra = [k for k in inst if k not in allowed]
        key = extra[0] if extra else ""
        return doc.problem(path + (key,), f"unknown key {key!r}{did_you_mean(key, allowed) or ''}"
                           f" (allowed: {', '.join(allowed)})", key=True)
    if v == "required":
        missing = [k for k in arg if k not in inst]
        return doc.problem(path, f"missing required key {missing[0]!r}", shown=format_path(path) or "(top)")
    if v == "type":
        types = [arg] if isinstance(arg, str) else arg
        message = f"expected {' or '.join(_TYPE_WORDS.get(t, t) for t in types)}, got {kind_of(inst)}"
    elif v == "enum":
        message = f"expected one of {', '.join(map(repr, arg))}, got {kind_of(inst)}"
    elif v == "const":
        message = f"must be {arg!r}, got {kind_of(inst)}"
    elif v in ("minimum", "exclusiveMinimum", "maximum"):
        word = {"minimum": "at least", "exclusiveMinimum": "above", "maximum": "at most"}[v]
        message = f"must be {word} {arg}, got {kind_of(inst)}"
    elif v == "pattern":
        hint = PATTERN_HINTS.get(arg)
        message = f"{kind_of(inst)} is not allowed" + (f": use {hint}" if hint else f" ({arg})")
    elif v in ("minItems", "minLength", "minProperties"):
        message = "must not be empty"
    else:
        message = error.message
    return doc.problem(path, message)
