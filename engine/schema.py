"""The node catalogue (every registered node type: the engine's composites, decorators and
Subtree, and every leaf) and the JSON Schema built from it: the editor schema (`tree-runner
schema`, docs/tree.schema.json) and one cached jsonschema validator per parameter schema for
load-time checks.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Iterable

from behaviours.registry import BehaviourRegistry, default_registry, node_kind
from lang.values import BB_REF_PATTERN, DISTRIBUTIONS, DURATION_PATTERN

from .nodes import CONTROL_NODES

__all__ = ["NodeType", "Catalogue", "engine_registry", "TOP_LEVEL_KEYS", "PARAM_NAME_PATTERN"]

PARAM_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
SCHEMA_ID = "https://monerosim.invalid/tree.schema.json"
TOP_LEVEL_KEYS = ("version", "role", "description", "params", "imports", "subtrees", "root")


@dataclass
class NodeType:
    """One YAML node type as its class declares it: kind, summary, parameters, outputs."""

    name: str
    kind: str                      # "composite" | "decorator" | "subtree" | "leaf"
    doc: str
    params: dict[str, dict] = field(default_factory=dict)
    required: tuple[str, ...] = ()
    shown: tuple[str, ...] = ()
    cls: type | None = None        # the registered class: a Leaf or an engine.nodes.ControlNode
    outputs: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, node_class: type) -> "NodeType":
        """The node type a registered class declares."""
        return cls(node_class.type_name(), node_kind(node_class), node_class.summary(),
                   dict(node_class.PARAMS), tuple(node_class.REQUIRED), tuple(node_class.SHOWN),
                   node_class, dict(node_class.OUTPUTS))

    @property
    def leaf(self) -> type | None:
        """The Leaf class of a leaf type; None for the engine's node types."""
        return self.cls if self.kind == "leaf" else None


def engine_registry(plugins: Iterable[str] = (), *, entry_points: bool = True) -> BehaviourRegistry:
    """The engine's node types, the built-in leaves, entry-point plugins (unless
    `entry_points` is false) and the plugin modules named."""
    return default_registry(list(plugins), entry_points=entry_points, control_nodes=CONTROL_NODES)


class Catalogue:
    """Every node type the language knows, from a registry (default: engine_registry())."""

    def __init__(self, registry: BehaviourRegistry | None = None):
        self.registry = registry if registry is not None else engine_registry()
        self.types: dict[str, NodeType] = {name: NodeType.of(c) for name, c in self.registry.items()}
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
            defs[f"node_{name}"] = _node_schema(nt)
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


def _node_schema(nt: NodeType) -> dict:
    """The editor schema of one node type: `{Type: {params..., children:/child:}}`."""
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
    out = {"type": "object", "description": description, "properties": {nt.name: body},
           "required": [nt.name], "additionalProperties": False}
    if nt.kind == "leaf":
        out["x-kind"] = "leaf"
        if nt.outputs:
            out["x-outputs"] = dict(nt.outputs)
        if nt.cls.RPC:
            out["x-rpc"] = list(nt.cls.RPC)
    return out


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



