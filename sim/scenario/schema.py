"""The scenario file's JSON Schema, the one source of truth for its keys.

`sim.scenario.load` validates every scenario against SCHEMA; `monerosim schema` prints it as
docs/scenario.schema.json (for editors) and `monerosim schema --markdown` renders it as the
reference docs/scenario.md (`sim.scenario.docs`). Every key carries a `description`, its
`default` where the loader has one, and `examples`; a map whose keys the user names (regions,
links, params) describes its values under `additionalProperties`, with a `title` naming the key.

Descriptions are for people; the short hints that finish a pattern error ("use ...") are in
PATTERN_HINTS. `keys()` lists every documented key with its dotted path (`groups[].count`).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sim.scenario.layout import GML, PER_HOST, REGIONS, SHARED, SWITCH

__all__ = ["SCHEMA", "GROUP_SCHEMA", "NETWORK_SCHEMA", "PATTERN_HINTS", "BANDWIDTH_PATTERN",
           "STOP_EARLY", "STOP_LATE", "Key", "keys", "schema_text"]

STOP_EARLY, STOP_LATE = "early", "late"
BANDWIDTH_PATTERN = r"^[0-9]+ ?(K|Ki|M|Mi|G|Gi|T|Ti)?bit$"
_RUN_NAME = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
_ID = r"^[a-z0-9][a-z0-9.-]*$"
_MODULE = r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$"
_USER = r"^[^:\s]+$"
PATTERN_HINTS = {
    _RUN_NAME: "letters, digits, '.', '_', '-' (it names the run directory)",
    _ID: "lowercase a-z, 0-9, '-', '.'; agent ids are name or name-<i>",
    _MODULE: "a dotted Python module name, e.g. tests.guide.saver_leaves",
    _USER: "no ':' or spaces",
    BANDWIDTH_PATTERN: "an integer and a unit, e.g. 100 Mbit, 1 Gbit",
}
_NO_DEFAULT = object()
_LOCAL_IGNORES = "Used by `monerosim generate` (Shadow); local runs (`monerosim run`) ignore it."


def _key(schema: dict, description: str, examples: list, default: Any = _NO_DEFAULT, **more) -> dict:
    """`schema` with its documentation: description, default (when there is one) and examples."""
    out = {**schema, **more, "description": description}
    if default is not _NO_DEFAULT:
        out["default"] = default
    out["examples"] = examples
    return out


def _duration(description: str, examples: list, default: Any = _NO_DEFAULT, **more) -> dict:
    return _key({"type": ["string", "number"]}, description + " A duration: 250ms, 30s, 5m, 2h, or "
                "a number of seconds.", examples, default, **more)


def _bandwidth(description: str, examples: list, default: Any = _NO_DEFAULT) -> dict:
    return _key({"type": "string", "pattern": BANDWIDTH_PATTERN}, description + " An integer and a "
                "unit (bit, Kbit, Mbit, Gbit, Tbit; Kibit, Mibit, ... for powers of 1024), e.g. "
                "100 Mbit.", examples, default)


_LOSS = {"type": "number", "minimum": 0, "maximum": 1}
_JITTER = ("Extra delay, drawn for each packet between 0 and this, on top of the latency (order kept). "
           "Local networked runs apply it; Shadow 3.3 reads it from the graph but does not apply it.")
_LINK = "A link is `REGION` (between two hosts of that region) or `REGION-REGION` (either order)."


def _when(kind: str, then: dict) -> dict:
    return {"if": {"required": ["type"], "properties": {"type": {"const": kind}}}, "then": then}


_REGION = _key({
    "type": "object", "additionalProperties": False,
    "properties": {
        "bandwidth": _bandwidth("Bandwidth of each host in the region, both directions.", ["100 Mbit"]),
        "bandwidth_down": _bandwidth("Download bandwidth of each host in the region; with "
                                     "`bandwidth_up`, instead of `bandwidth`.", ["50 Mbit"]),
        "bandwidth_up": _bandwidth("Upload bandwidth of each host in the region; with "
                                   "`bandwidth_down`, instead of `bandwidth`.", ["10 Mbit"]),
    }},
    "One region, keyed by its name (lowercase a-z, 0-9 and _, starting with a letter). Give "
    "`bandwidth`, or both `bandwidth_down` and `bandwidth_up`.",
    [{"bandwidth": "100 Mbit"}, {"bandwidth_down": "50 Mbit", "bandwidth_up": "10 Mbit"}], title="region")

_SWITCH = {"additionalProperties": False, "properties": {
    "type": {},
    "latency": _duration("Latency of every path between two hosts; above 0.", ["5ms"], "1ms"),
    "bandwidth": _bandwidth("Bandwidth of every host, both directions.", ["100 Mbit"], "1 Gbit"),
    "packet_loss": _key(_LOSS, "Fraction of packets lost on every path, 0 to 1.", [0.001], 0),
    "jitter": _duration(_JITTER, ["5ms"], 0),
}}
_GML = {"additionalProperties": False, "required": ["file"], "properties": {
    "type": {},
    "file": _key({"type": "string", "minLength": 1},
                 "A GML graph in Shadow's format, relative to the scenario file. Agents sit on its "
                 "nodes that have a self-loop edge, in turn, unless their group names a "
                 "`network_node`; a node without `host_bandwidth_down`/`host_bandwidth_up` needs the "
                 "group's `host_bandwidth`.", ["topology.gml"]),
}}
_REGIONS = {"additionalProperties": False, "required": ["regions", "latency"], "properties": {
    "type": {},
    "regions": _key({"type": "object", "minProperties": 1, "additionalProperties": _REGION},
                    "The regions, by name, with the bandwidth of their hosts. Agents take the regions "
                    "in turn unless their group names a `region`.",
                    [{"eu": {"bandwidth": "100 Mbit"},
                      "us": {"bandwidth_down": "50 Mbit", "bandwidth_up": "10 Mbit"}}]),
    "latency": _key({"type": "object", "minProperties": 1, "additionalProperties": _duration(
                        "Latency of one link; above 0. " + _LINK, ["80ms"], title="link")},
                    "Latency per link. Every region needs its own (`eu: 5ms`), and every region must "
                    "be reachable from every other through the links given. " + _LINK,
                    [{"eu": "5ms", "us": "10ms", "eu-us": "80ms"}]),
    "packet_loss": _key({"type": ["number", "object"], "minimum": 0, "maximum": 1,
                         "additionalProperties": _key(_LOSS, "Fraction of packets lost on one link, 0 "
                                                      "to 1; the link needs a latency. " + _LINK,
                                                      [0.01], title="link")},
                        "Fraction of packets lost, 0 to 1: one number for every link, or a mapping "
                        "per link (links not named lose none).", [0.0005, {"eu-us": 0.01}], 0),
    "jitter": _key({"type": ["string", "number", "object"],
                    "additionalProperties": _duration(_JITTER + " " + _LINK, ["20ms"], title="link")},
                   _JITTER + " One duration for every link, or a mapping per link (links not named "
                   "have none).", ["2ms", {"eu-us": "20ms"}], 0),
}}
NETWORK_SCHEMA = _key({
    "type": "object",
    "required": ["type"],
    "properties": {"type": _key({"enum": [SWITCH, GML, REGIONS]},
                                "`switch`: every host on one switch; `regions`: named regions with "
                                "a latency per link; `gml`: your own graph file. The other keys of "
                                "`network` depend on it.", [SWITCH, REGIONS])},
    "allOf": [_when(SWITCH, _SWITCH), _when(GML, _GML), _when(REGIONS, _REGIONS)]},
    "Where the hosts sit and how they are linked. Under Shadow, its network; in a local run with "
    "more than one daemon (`daemons`), the latency, bandwidth and loss of every P2P link between "
    "daemons (docs/network.md); a local run with one daemon ignores it.",
    [{"type": "switch", "latency": "5ms", "bandwidth": "100 Mbit"}, {"type": "gml", "file": "topology.gml"}],
    {"type": SWITCH, "latency": "1ms", "bandwidth": "1 Gbit", "packet_loss": 0})

_DAEMONS = _key({"type": "object", "additionalProperties": False, "properties": {
    "placement": _key({"enum": [PER_HOST, SHARED]},
                      "`per-host`: a monerod on every agent's host; `shared`: `count` daemon hosts "
                      "that the agents use in turn. Without it: per-host under Shadow, one shared "
                      "daemon locally.", [PER_HOST, SHARED]),
    "count": _key({"type": "integer", "minimum": 1},
                  "How many daemons, with `placement: shared` only.", [2], 1),
    "peers": _key({"type": "integer", "minimum": 1},
                  "Exclusive P2P neighbours of each monerod: the next daemon on a ring (so all are "
                  "connected) plus others drawn from the seed.", [8], 4),
    "overlay": _key({"enum": ["random", "line"]},
                    "How the daemons are peered: `random` (a ring plus `peers` - 1 chords drawn from "
                    "the seed) or `line` (each daemon to the next one only, in host order: for "
                    "measuring hop by hop).", ["line"], "random")}},
    "The monerod processes: where they run and how they are peered. Without `placement`, a "
    "local run has one daemon and a Shadow run one per host; with it, both run the same daemons "
    "on the same overlay (docs/network.md).",
    [{"placement": PER_HOST, "peers": 4}, {"placement": SHARED, "count": 2}], {})


def _args(program: str, example: list) -> dict:
    return _key({"type": "array", "items": {"type": "string", "minLength": 1}},
                f"Extra command-line options for every {program}, starting with an option (`--name`). "
                "Each replaces monerosim's option of the same name or is added; the options that wire "
                "the processes together (--regtest, --data-dir, --rpc-bind-port, --add-exclusive-node, "
                "--daemon-address, --wallet-dir, --rpc-login, ...) cannot be set. " + _LOCAL_IGNORES,
                [example], [])


_EVENT = _key({
    "type": "object", "additionalProperties": False, "required": ["at", "kind"],
    "properties": {
        "at": _duration("When, from the start of the run (before its end).", ["2m"]),
        "kind": _key({"enum": ["partition", "heal", "latency", "loss"]},
                     "`partition`: cut every P2P link between the hosts named (`regions` or `groups`) "
                     "and all others; `heal`: restore every cut link; `latency` / `loss`: set `link`'s "
                     "latency or packet loss from now on.", ["partition", "heal"]),
        "regions": _key({"type": "array", "minItems": 1, "items": {"type": "string"}},
                        "partition: the regions cut off from the rest.", [["us"]]),
        "groups": _key({"type": "array", "minItems": 1, "items": {"type": "string"}},
                       "partition: the groups whose hosts are cut off from the rest.", [["pool"]]),
        "link": _key({"type": "string", "minLength": 1},
                     "latency / loss: `REGION` or `REGION-REGION` of `network.latency`, or `*` for "
                     "every link (also with a switch network).", ["eu-us", "*"]),
        "latency": _duration("latency: the link's new latency; above 0.", ["300ms"]),
        "loss": _key({"type": "number", "minimum": 0, "maximum": 1},
                     "loss: the link's new fraction of packets lost, 0 to 1.", [0.05]),
    }},
    "One network event.", [{"at": "2m", "kind": "partition", "regions": ["us"]}, {"at": "4m", "kind": "heal"},
                           {"at": "5m", "kind": "latency", "link": "eu-us", "latency": "300ms"}],
    title="event")
_EVENTS = _key({"type": "array", "items": _EVENT},
               "Changes to the network during a local run with more than one daemon "
               "(docs/network.md): partitions, heals, latency and loss. A Shadow run cannot apply "
               "them (its network is fixed): `monerosim generate` refuses a scenario with events.",
               [[{"at": "2m", "kind": "partition", "regions": ["us"]}, {"at": "4m", "kind": "heal"}]], [])

LAYOUT_PROPERTIES = {
    "network": NETWORK_SCHEMA,
    "events": _EVENTS,
    "daemons": _DAEMONS,
    "monerod_args": _args("monerod", ["--log-level", "1"]),
    "wallet_rpc_args": _args("monero-wallet-rpc", ["--max-concurrency=2"]),
    "wallet_login": _key({
        "type": "object", "additionalProperties": False, "required": ["user", "password"],
        "properties": {
            "user": _key({"type": "string", "pattern": _USER}, "Login name: no ':' or spaces.", ["sim"]),
            "password": _key({"type": "string", "minLength": 1}, "Password; it may contain ':'.", ["s3cret"])}},
        "HTTP digest login (`--rpc-login`) that every monero-wallet-rpc requires; the agents get it "
        "in their environment, never on their command line. Without it the wallet RPCs need no login.",
        [{"user": "sim", "password": "s3cret"}]),
}
_PARAM = {"title": "name", "description": (
    "One parameter, named as in the tree's `params:`. Any value (a number, a duration, a string, a "
    "distribution such as `{exponential: {mean: 5m}}` that the tree re-draws each time a leaf "
    "starts) is given to every agent of the group; a list of exactly `count` items (count > 1) gives "
    "agent i item i; `{per_agent: DISTRIBUTION}` (optionally with `round: N` decimals) draws one "
    "fixed value per agent when the scenario is loaded, from the seed, the group and the name."),
    "examples": [2, "30s", [60, 40], {"exponential": {"mean": "1m"}},
                 {"per_agent": {"uniform": {"low": 10, "high": 90}, "round": 0}}]}
GROUP_LAYOUT_PROPERTIES = {
    "start": _duration("When the group's first agent starts, from the start of the run. Every agent "
                       "must start before `duration`.", ["30s"], 0),
    "stagger": _duration("Time between the starts of consecutive agents: agent i starts at "
                         "`start + i * stagger`.", ["2s"], 0),
    "region": _key({"type": ["string", "array"], "minItems": 1, "items": {"type": "string"}},
                   "With `network: {type: regions}` only: the region of the group's agents, or a list "
                   "the agents take in turn. Without it the run's agents take all regions in turn.",
                   ["eu", ["eu", "us"]]),
    "network_node": _key({"type": ["integer", "array"], "minimum": 0, "minItems": 1,
                          "items": {"type": "integer", "minimum": 0}},
                         "With `network: {type: gml}` only: the graph node id the group's agents sit "
                         "on, or a list they take in turn. Without it the run's agents take the nodes "
                         "with a self-loop in turn.", [7, [0, 1]]),
    "host_bandwidth": _key({
        "type": ["string", "object"], "pattern": BANDWIDTH_PATTERN,
        "additionalProperties": False, "required": ["down", "up"],
        "properties": {"down": _bandwidth("Download bandwidth.", ["1 Gbit"]),
                       "up": _bandwidth("Upload bandwidth.", ["200 Mbit"])}},
        "Bandwidth of each of the group's hosts under Shadow: one value for both directions, or "
        "`{down, up}`. Without it: the switch's, the region's, or the GML node's bandwidth.",
        ["1 Gbit", {"down": "1 Gbit", "up": "200 Mbit"}]),
    "spy": _key({"type": "boolean"},
                "The group's hosts are spy nodes (docs/research.md, Spy nodes): needs `daemons: "
                "{placement: per-host}`. Every other daemon dials each spy's monerod besides its own "
                "`peers`, which are drawn among the other daemons only; a spy dials no one. The "
                "report's Spy nodes section guesses each transaction's origin from the spies' logs "
                "(first-spy estimator).", [True], False),
}

GROUP_SCHEMA = _key({
    "type": "object",
    "additionalProperties": False,
    "required": ["name", "tree"],
    "properties": {
        "name": _key({"type": "string", "pattern": _ID},
                     "The group's name (lowercase a-z, 0-9, '-', '.'). Agent ids are the name when "
                     "`count` is 1, else name-0, name-1, ...; ids are unique across the run.",
                     ["pool", "user"]),
        "tree": _key({"type": "string", "minLength": 1},
                     "The agents' tree file, relative to the scenario file.", ["../trees/user.yaml"]),
        "count": _key({"type": "integer", "minimum": 1, "maximum": 100_000},   # 10**7 took minutes and GBs
                      "How many agents the group has.", [10], 1),
        "wallet": _key({"type": "boolean"},
                       "Whether each agent gets its own monero-wallet-rpc (own wallet directory and "
                       "ring database). `false` for agents that use no wallet, like the controller.",
                       [False], True),
        "private_daemon": _key({"type": "boolean"},
                               "Whether each agent gets a monerod of its own besides its daemon: offline, "
                               "no peers, its own chain (a selfish pool's private chain, "
                               "trees/selfish-pool.yaml). The agent reaches it as `--private-daemon`.",
                               [True], False),
        "params": _key({"type": "object", "additionalProperties": _PARAM},
                       "Values for the tree's `params:`, for every agent of the group; a name the tree "
                       "does not declare is an error. Names: letters, digits and _.",
                       [{"hashrate": [60, 40], "fund_every": "30s"}], {}),
        "stop": _key({"enum": [STOP_EARLY, STOP_LATE]},
                     "When the agents are stopped (SIGTERM): `early` at `duration`, `late` at "
                     "`duration + drain`.", [STOP_EARLY], STOP_LATE),
        "plugins": _key({"type": "array", "items": {"type": "string", "pattern": _MODULE}},
                        "Python modules with extra leaf types that the group's trees use (as "
                        "`tree-runner --plugin`); importable from the repository.",
                        [["tests.guide.saver_leaves"]], []),
        **GROUP_LAYOUT_PROPERTIES,
    }},
    "One group of agents that run the same tree.",
    [{"name": "pool", "tree": "../trees/pool.yaml", "count": 2, "params": {"hashrate": [60, 40]}}])

_ROLE = r"^[a-z][a-z0-9_-]*$"
EXPECT_SCHEMA = _key(
    {"type": "object", "additionalProperties": False, "properties": {
        "payments": _key(
            {"type": "object", "additionalProperties": _key(
                {"type": "integer", "minimum": 0},
                "Payments each agent of this role must send at least (`payment_sent`); 0 "
                "expects nothing of the role.", [2], title="role"),
             "propertyNames": {"pattern": _ROLE}},
            "Per role (the tree's `role:`), the fewest payments each of its agents sends. An "
            "agent that never paid fails the run; one below the number degrades it.",
            [{"user": 2}, {"saver": 1, "user": 0}], {"user": 1}),
        "confirmed": _key({"type": "boolean"},
                          "Every payment seen by its shop is confirmed by the end (else degraded).",
                          [False], True),
        "errors": _key({"type": "integer", "minimum": 0},
                       "Journaled errors (`rpc_failed`, `leaf_failed`) tolerated before the run "
                       "is degraded.", [5], 0),
        "blocks_sigma": _key({"type": "number", "exclusiveMinimum": 0},
                             "How many standard deviations a pool's block count may stray from "
                             "its hashrate share before the run is degraded.", [4], 3),
    }},
    "What the run must show for its verdict (ok / degraded / failed; `monerosim run` exits 3 on "
    "failed). Anything not given takes its default.",
    [{"payments": {"user": 2}, "errors": 5}], {})

SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Monerosim scenario",
    "description": "A run: its agents (groups of agents that run a tree), how long it lasts, and "
                   "where the agents sit. Reference: docs/scenario.md.",
    "type": "object",
    "additionalProperties": False,
    "required": ["version", "name", "duration", "groups"],
    "properties": {
        "version": _key({"const": 1}, "The scenario format's version: 1.", [1]),
        "name": _key({"type": "string", "pattern": _RUN_NAME},
                     "The scenario's name (letters, digits, '.', '_', '-'); it names the run directory "
                     "`runs/<name>-<time>`.", ["small"]),
        "description": _key({"type": "string"}, "One line on what the run is; shown in the report.",
                            ["1 controller, 2 pools, 2 marketplaces, 10 users."], ""),
        "seed": _key({"type": "integer", "minimum": 0},
                     "Seeds every random choice: each agent's RNG (with its id), `per_agent` draws, "
                     "the daemon peers and Shadow's `general.seed` (below 2^32 for `monerosim "
                     "generate`). The same seed gives the same decisions.", [42], 0),
        "duration": _duration("Simulated time the agents run; above 0. `stop: early` groups stop at "
                              "`duration`, the others at `duration + drain`. `monerosim run "
                              "--duration` overrides it.", ["1h"]),
        "drain": _duration("Extra simulated time after `duration` for groups without `stop: early`, "
                           "e.g. so pools keep mining and the last payments confirm.", ["5m"], 0),
        "time_scale": _key({"type": "number", "exclusiveMinimum": 0},
                           "Simulated seconds per real second, for `monerosim run --clock scaled` "
                           "only (`--time-scale` overrides it); the lockstep and real clocks and "
                           "Shadow ignore it.", [20], 1),
        "groups": _key({"type": "array", "minItems": 1, "items": GROUP_SCHEMA},
                       "The agents, as groups that run one tree each; started in the order written.",
                       [[{"name": "user", "tree": "../trees/user.yaml", "count": 10, "stop": "early"}]]),
        "expect": EXPECT_SCHEMA,
        **LAYOUT_PROPERTIES,
    },
}


@dataclass(frozen=True)
class Key:
    """One documented key: `path` like `groups[].count` or `network.regions.<region>`."""

    path: str
    schema: dict
    required: bool = False
    when: str = ""                  # e.g. "type: switch" for a key of one network type


def keys(schema: dict = SCHEMA) -> list[Key]:
    """Every key of `schema` below the top, in schema order (a key before the keys inside it)."""
    out: list[Key] = []
    _object_keys(schema, "", "", out)
    return out


def _object_keys(schema: dict, prefix: str, when: str, out: list[Key]) -> None:
    required = schema.get("required", [])
    for name, sub in schema.get("properties", {}).items():
        if sub:                         # {}: declared by the enclosing object (a branch's `type`)
            path = f"{prefix}.{name}" if prefix else name
            out.append(Key(path, sub, name in required, when))
            _inner_keys(sub, path, when, out)
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict):
        path = f"{prefix}.<{extra['title']}>"
        out.append(Key(path, extra, False, when))
        _inner_keys(extra, path, when, out)
    for branch in schema.get("allOf", []):
        condition = ", ".join(f"{k}: {v['const']}" for k, v in branch["if"]["properties"].items())
        _object_keys(branch["then"], prefix, condition, out)


def _inner_keys(schema: dict, path: str, when: str, out: list[Key]) -> None:
    items = schema.get("items")
    if isinstance(items, dict) and "properties" in items:
        _object_keys(items, path + "[]", when, out)
    if "properties" in schema or "allOf" in schema or isinstance(schema.get("additionalProperties"), dict):
        _object_keys(schema, path, when, out)


def schema_text() -> str:
    """docs/scenario.schema.json: the schema scenarios are checked against, for editors."""
    return json.dumps(SCHEMA, indent=2, ensure_ascii=False) + "\n"
