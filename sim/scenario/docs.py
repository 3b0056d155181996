"""docs/scenario.md, the scenario file reference, rendered from the scenario schema.

    monerosim schema --markdown -o docs/scenario.md

Every key of `sim.scenario.schema.keys()` gets a row in the overview table (path, type, default)
and a section (type, default, description, examples). Nothing here describes a key: what a key
means lives in the schema only, so the reference and the editor schema cannot disagree.
"""
from __future__ import annotations

import yaml

from sim.scenario.schema import BANDWIDTH_PATTERN, Key, keys

__all__ = ["render_markdown", "type_text", "default_text", "example_yaml"]

_WORDS = {"string": "string", "integer": "integer", "number": "number", "boolean": "boolean",
          "object": "mapping", "array": "list"}
_PLURALS = {"string": "strings", "integer": "integers", "number": "numbers", "object": "mappings"}

_INTRO = """\
# Scenario files

<!-- Generated from sim/scenario/schema.py by `monerosim schema --markdown -o docs/scenario.md`
     (`make docs`); edit the schema, not this file. -->

A scenario file (YAML) says which agents a run has, how long it lasts and where the agents sit.
`monerosim run --check FILE` checks a scenario and every agent's tree and lists the agents;
`monerosim run FILE` runs it locally and `monerosim generate FILE -o DIR` writes a Shadow
configuration for it. The shipped scenarios are in `scenarios/`; [guide.md](guide.md) walks
through writing one.

Editors that read JSON Schema check and complete scenario files given this first line (the path
relative to the file): `# yaml-language-server: $schema=../docs/scenario.schema.json`. The
schema, [scenario.schema.json](scenario.schema.json), is printed by `monerosim schema`.

Values:

- **duration**: a string with a unit, `250ms`, `30s`, `5m`, `2h`, or a number of seconds.
  Times are simulated time from the start of the run.
- **bandwidth**: an integer and a unit, `bit`, `Kbit`, `Mbit`, `Gbit`, `Tbit` (powers of
  1000) or `Kibit`, `Mibit`, `Gibit`, `Tibit` (powers of 1024), e.g. `100 Mbit`.
- `groups[].name` is a key of each item of the list `groups`; `<region>`, `<link>` and
  `<name>` stand for keys you choose.
- A key marked *(type: regions)* exists only when `network.type` is `regions`, and so on.

A key the schema does not list is an error, reported as `file:line:col: path: message`.
"""


def render_markdown() -> str:
    """The whole of docs/scenario.md."""
    documented = keys()
    lines = [_INTRO, "## Overview", "", "| Key | Type | Default |", "|---|---|---|"]
    lines += [f"| {_title(k)} | {type_text(k.schema)} | "
              f"{'required' if k.required else default_text(k.schema)} |" for k in documented]
    sections: dict[str, list[str]] = {"Top level": []}
    tops = {_top(k.path) for k in documented if k.path != _top(k.path)}
    for key in documented:
        top = _top(key.path)
        heading = f"`{top}`" if top in tops else "Top level"
        sections.setdefault(heading, []).extend(_section(key))
    for heading, body in sections.items():
        lines += ["", f"## {heading}", *body]
    return "\n".join(lines) + "\n"


def _top(path: str) -> str:
    return path.split(".")[0].split("[")[0]


def _title(key: Key) -> str:
    return f"`{key.path}`" + (f" *({key.when})*" if key.when else "")


def _section(key: Key) -> list[str]:
    facts = [f"**Type:** {type_text(key.schema)}"]
    if key.required:
        facts.append("**required**")
    elif "default" in key.schema:
        facts.append(f"**Default:** {default_text(key.schema)}")
    out = ["", f"### {_title(key)}", "", " · ".join(facts), "", key.schema.get("description", "")]
    for example in key.schema.get("examples", []):
        out += ["", "```yaml", example_yaml(key.path, example).rstrip("\n"), "```"]
    return out


def type_text(schema: dict) -> str:
    """A short type: `integer ≥ 1`, `duration`, `list of strings`, `` `early` or `late` ``."""
    if "const" in schema:
        return f"`{_inline(schema['const'])}`"
    if "enum" in schema:
        return " or ".join(f"`{_inline(v)}`" for v in schema["enum"])
    types = schema.get("type")
    types = [types] if isinstance(types, str) else list(types or [])
    if not types:
        return "any"
    if types == ["string", "number"]:
        return "duration"
    words = []
    for kind in types:
        if kind == "string" and schema.get("pattern") == BANDWIDTH_PATTERN:
            words.append("bandwidth")
        elif kind == "array":
            items = schema.get("items", {}).get("type")
            words.append(f"list of {_PLURALS.get(items, 'values')}" if isinstance(items, str) else "list")
        elif kind in ("integer", "number"):
            words.append(f"{kind}{_range(schema)}")
        else:
            words.append(_WORDS[kind])
    return " or ".join(words)


def _range(schema: dict) -> str:
    low, high = schema.get("minimum"), schema.get("maximum")
    if "exclusiveMinimum" in schema:
        return f" > {schema['exclusiveMinimum']}"
    if low is not None and high is not None:
        return f" {low} to {high}"
    return f" ≥ {low}" if low is not None else f" ≤ {high}" if high is not None else ""


def default_text(schema: dict) -> str:
    return f"`{_inline(schema['default'])}`" if "default" in schema else "—"


class _Dumper(yaml.SafeDumper):
    """Block lists indented under their key, as scenario files write them."""

    def increase_indent(self, flow: bool = False, indentless: bool = False):
        return super().increase_indent(flow, False)


def _inline(value) -> str:
    """`value` as one line of flow YAML: 1m, [60, 40], {type: switch}."""
    text = yaml.dump([value], Dumper=_Dumper, default_flow_style=True, sort_keys=False,
                     allow_unicode=True, width=10 ** 6)
    return text.strip()[1:-1]


def example_yaml(path: str, value) -> str:
    """An example as it is written in a scenario (`count: 10`); `<region>: ...` for a key the user
    names."""
    name = path.rsplit(".", 1)[-1]
    if not isinstance(value, (dict, list)):
        return f"{name}: {_inline(value)}\n"
    return yaml.dump({name: value}, Dumper=_Dumper, default_flow_style=None, sort_keys=False,
                     allow_unicode=True, width=100)
