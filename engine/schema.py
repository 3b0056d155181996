"""The node catalogue (composites, decorators, Subtree + every registered leaf) and the JSON
Schema built from it: the editor schema (`tree-runner schema`, docs/tree.schema.json) and one
cached jsonschema validator per parameter schema for load-time checks.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from behaviours.base import Leaf, boolean, duration, integer, string
from behaviours.registry import BehaviourRegistry, default_registry
from lang.values import BB_REF_PATTERN, DISTRIBUTIONS, DURATION_PATTERN

__all__ = ["NodeType", "ENGINE_NODES", "Catalogue", "TOP_LEVEL_KEYS", "PARAM_NAME_PATTERN"]

PARAM_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
SCHEMA_ID = "https://monerosim.invalid/tree.schema.json"
TOP_LEVEL_KEYS = ("version", "role", "description", "params", "imports", "subtrees", "root")


@dataclass
class NodeType:
    """One YAML node type: what it is, its parameters, and (for leaves) its class."""

    name: str
    kind: str                      # "composite" | "decorator" | "subtree" | "leaf"
    doc: str
    params: dict[str, dict] = field(default_factory=dict)
    required: tuple[str, ...] = ()
    shown: tuple[str, ...] = ()
    leaf: type[Leaf] | None = None
    outputs: dict[str, str] = field(default_factory=dict)


def _engine_nodes() -> dict[str, NodeType]:
    memory = boolean("true: resume at the running child; false: re-check earlier children every tick",
                     default=True)
    nodes = [
        NodeType("Sequence", "composite", "Runs children in order; FAILURE at the first that fails, "
                 "SUCCESS when all succeed.", {"memory": memory}, shown=("memory",)),
        NodeType("Selector", "composite", "Runs children in order until one does not fail; FAILURE "
                 "if all fail.", {"memory": memory}, shown=("memory",)),
        NodeType("Parallel", "composite", "Ticks all children every tick; policy all: SUCCESS when "
                 "all succeed, one: SUCCESS when one succeeds; FAILURE when any fails.",
                 {"policy": string("all | one", enum=["all", "one"], default="all")}, shown=("policy",)),
        NodeType("Repeat", "decorator", "Runs its child again each time it succeeds, `times` times "
                 "(default forever); FAILURE as soon as the child fails.",
                 {"times": integer("how many successful runs (default: forever)", minimum=1, random=False)},
                 shown=("times",)),
        NodeType("Retry", "decorator", "Runs its child again when it fails, up to `attempts` runs, "
                 "waiting `delay` between; SUCCESS as soon as it succeeds.",
                 {"attempts": integer("how many runs at most", minimum=1, random=False),
                  "delay": duration("pause before each new attempt", default=0)},
                 required=("attempts",), shown=("attempts", "delay")),
        NodeType("Timeout", "decorator", "FAILURE (and the child is stopped) if the child is still "
                 "RUNNING `after` the decorator started; otherwise the child's result.",
                 {"after": duration("time limit on the engine clock")}, required=("after",),
                 shown=("after",)),
        NodeType("Inverter", "decorator", "SUCCESS <-> FAILURE; RUNNING stays RUNNING."),
        NodeType("ForceSuccess", "decorator", "FAILURE becomes SUCCESS; RUNNING stays RUNNING."),
        NodeType("ForceFailure", "decorator", "SUCCESS becomes FAILURE; RUNNING stays RUNNING."),
        NodeType("Once", "decorator", "Runs its child until it has succeeded once (until: success) "
                 "or finished once (until: completion); afterwards returns that result without "
                 "ticking it.", {"until": string("success | completion",
                                                  enum=["success", "completion"], default="success")},
                 shown=("until",)),
        NodeType("RateLimit", "decorator", "Starts its child at most once per `every`. When too "
                 "early: RUNNING until the next slot (when_limited: wait) or FAILURE (fail).",
                 {"every": duration("minimum time between two starts of the child"),
                  "when_limited": string("wait | fail", enum=["wait", "fail"], default="wait")},
                 required=("every",), shown=("every", "when_limited")),
        NodeType("Subtree", "subtree", "Inserts a named subtree: `use: name` (this file), "
                 "`alias.name` or `alias.root` (an imported file); `with:` overrides its params.",
                 {"use": {"type": "string", "description": "name, alias.name or alias.root",
                          "x-ref": False},
                  "with": {"type": "object", "description": "parameter overrides for this use",
                           "x-ref": False}},
                 required=("use",), shown=("use",)),
    ]
    return {n.name: n for n in nodes}


ENGINE_NODES = _engine_nodes()


class Catalogue:
    """Every node type the language knows, from the engine plus a behaviour registry."""

    def __init__(self, registry: BehaviourRegistry | None = None):
        self.registry = registry if registry is not None else default_registry(reserved=ENGINE_NODES)
        self.types: dict[str, NodeType] = dict(ENGINE_NODES)
        for name, cls in self.registry.items():
            self.types[name] = NodeType(
                name, "leaf", cls.summary(), dict(cls.PARAMS), tuple(cls.REQUIRED),
                tuple(cls.SHOWN), cls, dict(cls.OUTPUTS))
        self._validators: dict[str, Any] = {}
        self._schema: dict | None = None

    def __contains__(self, name: object) -> bool:
        return name in self.types

    def __getitem__(self, name: str) -> NodeType:
        return self.types[name]

    # -- per-parameter validators, built once per schema and reused for every file
    def validator(self, schema: dict):
        """A jsonschema validator for one parameter schema, built on first use and reused."""
        plain = {k: v for k, v in schema.items() if not k.startswith("x-") and k not in ("description", "default")}
        key = json.dumps(plain, sort_keys=True, default=str)
        found = self._validators.get(key)
        if found is None:
            from jsonschema import Draft202012Validator
            found = self._validators[key] = Draft202012Validator(plain)
        return found

    # -- the editor schema
    def schema(self) -> dict:
        """The JSON Schema (2020-12) of a tree file, for editors and `tree-runner schema`."""
        if self._schema is None:
            self._schema = self._build_schema()
        return self._schema

    def _build_schema(self) -> dict:
        defs: dict[str, Any] = {
            "param_ref": {"type": "string", "pattern": r"\$\{[A-Za-z_][A-Za-z0-9_]*\}",
                          "description": "${name}: a tree parameter, substituted at load"},
            "blackboard_ref": {"type": "string", "pattern": BB_REF_PATTERN,
                               "description": "\"{key}\" or \"{key.field}\": read from the agent's "
                                              "blackboard when the leaf starts"},
            "duration": {"anyOf": [{"type": "number", "minimum": 0},
                                   {"type": "string", "pattern": DURATION_PATTERN}],
                         "description": "seconds, or a number with a unit: 250ms, 30s, 5m, 2h, 1d"},
            "distribution": _distribution_schema(),
            "node": {"anyOf": [{"$ref": f"#/$defs/node_{n}"} for n in sorted(self.types)]},
        }
        for name, nt in sorted(self.types.items()):
            props: dict[str, Any] = {"name": {"type": "string", "description": "node name (journals, renderings)"}}
            for pname, pschema in nt.params.items():
                props[pname] = _editor_param(pschema)
            if nt.kind == "composite":
                props["children"] = {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/node"}}
            elif nt.kind == "decorator":
                props["child"] = {"$ref": "#/$defs/node"}
            required = list(nt.required) + (["children"] if nt.kind == "composite" else []) \
                + (["child"] if nt.kind == "decorator" else [])
            body: dict[str, Any] = {"type": "object" if required else ["object", "null"],
                                    "properties": props, "additionalProperties": False}
            if required:
                body["required"] = required
            description = nt.doc
            if nt.outputs:
                description += " Writes: " + "; ".join(f"{p} <- {what}" for p, what in nt.outputs.items())
            defs[f"node_{name}"] = {
                "type": "object", "description": description, "properties": {name: body},
                "required": [name], "additionalProperties": False,
            }
            if nt.kind == "leaf":
                defs[f"node_{name}"]["x-kind"] = "leaf"
                if nt.outputs:
                    defs[f"node_{name}"]["x-outputs"] = dict(nt.outputs)
                if nt.leaf is not None and nt.leaf.RPC:
                    defs[f"node_{name}"]["x-rpc"] = list(nt.leaf.RPC)
        return {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": SCHEMA_ID,
            "title": "Monerosim behaviour tree",
            "description": "One file = one tree. See docs/language.md.",
            "type": "object",
            "properties": {
                "version": {"const": 1},
                "role": {"type": "string"},
                "description": {"type": "string"},
                "params": {"type": "object", "propertyNames": {"pattern": PARAM_NAME_PATTERN},
                           "description": "defaults; a scenario or --param overrides them"},
                "imports": {"type": "object", "propertyNames": {"pattern": PARAM_NAME_PATTERN},
                            "additionalProperties": {"type": "string"},
                            "description": "alias: path of another tree file, relative to this one"},
                "subtrees": {"type": "object", "propertyNames": {"pattern": PARAM_NAME_PATTERN},
                             "additionalProperties": {"$ref": "#/$defs/node"}},
                "root": {"$ref": "#/$defs/node"},
            },
            "patternProperties": {"^x-": {}},
            "additionalProperties": False,
            "$defs": defs,
        }


def _editor_param(pschema: dict) -> dict:
    """A parameter as an editor sees it: its own schema, or ${p}, a "{key}" reference, or a
    distribution when the leaf re-draws it."""
    plain = {k: v for k, v in pschema.items() if not k.startswith("x-")}
    options = [{k: v for k, v in plain.items() if k not in ("description", "default")}]
    options.append({"$ref": "#/$defs/param_ref"})
    if pschema.get("x-ref", True):
        options.append({"$ref": "#/$defs/blackboard_ref"})
    if pschema.get("x-random"):
        options.append({"$ref": "#/$defs/distribution"})
    out: dict[str, Any] = {"anyOf": options}
    for k in ("description", "default"):
        if k in plain:
            out[k] = plain[k]
    return out


def _distribution_schema() -> dict:
    number = {"anyOf": [{"type": "number"}, {"type": "string", "pattern": DURATION_PATTERN},
                        {"$ref": "#/$defs/param_ref"}]}
    options = []
    for kind, cls in sorted(DISTRIBUTIONS.items()):
        fields: dict[str, Any] = {}
        for fname, rule in cls.fields.items():
            fields[fname] = {"type": "array"} if rule == "list" else ({} if rule == "any" else number)
        fields["min"] = number
        fields["max"] = number
        body: dict[str, Any] = {"type": "object", "properties": fields, "required": list(cls.required),
                                "additionalProperties": False}
        if kind == "constant":
            body = {}
        elif kind == "choice":
            body = {"anyOf": [{"type": "array", "minItems": 1}, body]}
        options.append({"type": "object", "description": (cls.__doc__ or "").strip(),
                        "properties": {kind: body}, "required": [kind], "additionalProperties": False})
    return {"anyOf": options, "description": "re-drawn from the agent's seeded RNG each time the leaf starts"}



