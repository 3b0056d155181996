"""The scenario schema documents every key the loader accepts, and the docs made from it are current.

- docs/scenario.schema.json and docs/scenario.md equal what `monerosim schema [--markdown]` makes.
- Every key in the schema has a description and examples (a default where the loader has one);
  the examples and defaults are valid, and a default written out loads as the key left out does.
- Three sample scenarios (one per network type) use every documented key and load; a key added
  at any mapping level of them is refused: what the loader accepts is exactly what is documented.
"""
from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator

from lang.errors import LoadError
from lang.yamlload import load_text
from sim import cli
from sim.scenario.load import SCHEMA, load_scenario
from sim.scenario.docs import example_yaml, render_markdown, type_text
from sim.scenario.schema import keys, schema_text

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"
IDLER = REPO / "tests" / "sim_fixtures" / "trees" / "idler.yaml"
DOCUMENTED = keys()
PATHS = {k.path for k in DOCUMENTED}
BOGUS = "undocumented_key"
GML_TEXT = """graph [
  directed 0
  node [ id 0 label "a" host_bandwidth_down "100 Mbit" host_bandwidth_up "100 Mbit" ]
  edge [ source 0 target 0 latency "1 ms" packet_loss 0.0 ]
]
"""
BASE = {"version": 1, "name": "every-key", "duration": "10m",
        "groups": [{"name": "idler", "tree": str(IDLER)}]}
GROUP = {"name": "idler", "tree": str(IDLER), "count": 2, "wallet": False,
         "params": {"label": ["a", "b"], "every": {"per_agent": {"uniform": {"low": 5, "high": 9}}}},
         "stop": "early", "plugins": ["tests.guide.saver_leaves"], "start": "1s", "stagger": "2s"}
TOP = {"description": "uses every key", "seed": 3, "drain": "1m", "time_scale": 2,
       "daemons": {"placement": "shared", "count": 2, "peers": 3, "overlay": "line"},
       "monerod_args": ["--log-level", "1"], "wallet_rpc_args": ["--max-concurrency=2"],
       "wallet_login": {"user": "sim", "password": "p:w"},
       "expect": {"payments": {"user": 2}, "confirmed": False, "errors": 3, "blocks_sigma": 4}}
SAMPLES = {
    "switch": {**BASE, **TOP, "network": {"type": "switch", "latency": "2ms", "bandwidth": "100 Mbit",
                                          "packet_loss": 0.001, "jitter": "1ms"},
               "groups": [{**GROUP, "host_bandwidth": {"down": "1 Gbit", "up": "200 Mbit"}}]},
    "regions": {**BASE, "network": {
        "type": "regions",
        "regions": {"eu": {"bandwidth": "100 Mbit"}, "us": {"bandwidth_down": "50 Mbit", "bandwidth_up": "10 Mbit"}},
        "latency": {"eu": "5ms", "us": "10ms", "eu-us": "80ms"}, "packet_loss": {"eu-us": 0.01},
        "jitter": {"eu-us": "5ms"}},
        "daemons": {"placement": "per-host"},
        "events": [{"at": "10s", "kind": "partition", "regions": ["us"]}, {"at": "20s", "kind": "heal"},
                   {"at": "30s", "kind": "partition", "groups": ["idler"]}, {"at": "40s", "kind": "heal"},
                   {"at": "50s", "kind": "latency", "link": "eu-us", "latency": "100ms"},
                   {"at": "55s", "kind": "loss", "link": "*", "loss": 0.01}],
        "groups": [{**GROUP, "region": ["eu", "us"], "host_bandwidth": "1 Gbit"},
                   {"name": "other", "tree": str(IDLER), "region": "eu", "spy": True}]},
    "gml": {**BASE, "network": {"type": "gml", "file": "net.gml"},
            "groups": [{**GROUP, "network_node": 0, "private_daemon": True}]},
}


def load(tmp_path: Path, data: dict):
    (tmp_path / "net.gml").write_text(GML_TEXT)
    path = tmp_path / "scenario.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return load_scenario(path)


# ------------------------------------------------------------------ the docs are current

def test_docs_are_current():
    assert schema_text() == (DOCS / "scenario.schema.json").read_text(encoding="utf-8"), \
        "docs/scenario.schema.json is stale: run `monerosim schema -o docs/scenario.schema.json` (make schema)"
    assert render_markdown() == (DOCS / "scenario.md").read_text(encoding="utf-8"), \
        "docs/scenario.md is stale: run `monerosim schema --markdown -o docs/scenario.md` (make docs)"


def test_schema_markdown_cli_prints_or_writes_the_reference(tmp_path, capsys):
    assert cli.main(["schema", "--markdown"]) == 0
    assert capsys.readouterr().out == render_markdown()
    out = tmp_path / "sub" / "scenario.md"
    assert cli.main(["schema", "--markdown", "-o", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == render_markdown() and capsys.readouterr().out == ""
    assert cli.main(["schema", "-o", str(tmp_path / "s.json")]) == 0
    assert json.loads((tmp_path / "s.json").read_text(encoding="utf-8")) == SCHEMA


def test_schema_cli_reports_an_unwritable_output(tmp_path, capsys):
    (tmp_path / "file").write_text("")
    assert cli.main(["schema", "--markdown", "-o", str(tmp_path / "file" / "scenario.md")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("monerosim: schema: ") and "Traceback" not in err


def test_reference_has_a_row_and_a_section_per_key():
    text = render_markdown()
    for key in DOCUMENTED:
        title = f"`{key.path}`" + (f" *({key.when})*" if key.when else "")
        assert f"\n| {title} | {type_text(key.schema)} |" in text, key.path
        section = text.split(f"\n### {title}\n", 1)[1].split("\n### ", 1)[0]
        assert key.schema["description"] in section, key.path
        for example in key.schema["examples"]:
            assert example_yaml(key.path, example) in section, key.path


# ------------------------------------------------------------------ every key is documented

def _properties(schema: dict, path: str, outer: dict):
    """(path, name, subschema, enclosing properties) of every property and map value, walked
    here independently of sim.scenario.schema.keys()."""
    for name, sub in schema.get("properties", {}).items():
        yield path, name, sub, outer
        yield from _nested(sub, f"{path}.{name}")
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict):
        yield path, "*", extra, outer
        yield from _nested(extra, f"{path}.*")
    for branch in schema.get("allOf", []):
        yield from _properties(branch["then"], path, schema.get("properties", {}))


def _nested(schema: dict, path: str):
    if isinstance(schema.get("items"), dict):
        yield from _properties(schema["items"], path + "[]", {})
    yield from _properties(schema, path, schema.get("properties", {}))


def test_every_key_the_loader_validates_with_has_a_description_and_examples():
    seen = 0
    for path, name, sub, outer in _properties(SCHEMA, "", {}):
        where = f"{path}.{name}".lstrip(".")
        if sub == {}:          # a branch re-lists a key of its enclosing object (network's type)
            assert outer.get(name, {}).get("description"), f"{where}: not described by its object"
            continue
        seen += 1
        assert isinstance(sub.get("description"), str) and len(sub["description"]) > 10, \
            f"{where}: no description"
        assert isinstance(sub.get("examples"), list) and sub["examples"], f"{where}: no examples"
        if name == "*":
            assert sub.get("title"), f"{where}: a map's values need a title naming their key"
        if "object" in ([sub.get("type")] if isinstance(sub.get("type"), str) else sub.get("type", [])):
            assert _closed(sub), f"{where}: an open mapping would accept undocumented keys"
    assert _closed(SCHEMA) and seen == len(DOCUMENTED) > 40


def _closed(schema: dict) -> bool:
    """Whether a mapping accepts only the keys it lists (or describes the values of any key)."""
    extra = schema.get("additionalProperties")
    if extra is False or isinstance(extra, dict):
        return True
    branches = [b["then"] for b in schema.get("allOf", [])]
    return bool(branches) and all(b.get("additionalProperties") is False for b in branches)


def test_examples_and_defaults_are_valid_values_of_their_key():
    for key in DOCUMENTED:
        validator = Draft202012Validator(key.schema)
        values = key.schema["examples"] + ([key.schema["default"]] if "default" in key.schema else [])
        for value in values:
            assert list(validator.iter_errors(value)) == [], f"{key.path}: {value!r}"
        for example in key.schema["examples"]:
            name = key.path.rsplit(".", 1)[-1]
            assert load_text(example_yaml(key.path, example)).data == {name: example}, key.path


# ------------------------------------------------------------------ documented = accepted

def _documented_path(path: str, name) -> str:
    """The documented path of key `name` below documented `path` (a user-named key: `<...>`)."""
    here = f"{path}.{name}" if path else str(name)
    if here in PATHS:
        return here
    named = [p for p in PATHS if p.startswith(f"{path}.<") and p.count(".") == path.count(".") + 1]
    assert len(named) == 1, f"{here}: not documented"
    return named[0]


def _used(data, path: str, out: set) -> None:
    """The documented paths of every key in `data`, a value at documented `path`."""
    if isinstance(data, dict) and (path == "" or any(p.startswith(f"{path}.") for p in PATHS)):
        for name, value in data.items():
            child = _documented_path(path, name)
            out.add(child)
            _used(value, child, out)
    elif isinstance(data, list) and any(p.startswith(f"{path}[].") for p in PATHS):
        for item in data:
            _used(item, f"{path}[]", out)


def test_the_samples_use_every_documented_key_and_load(tmp_path):
    used: set[str] = set()
    for kind, data in SAMPLES.items():
        _used(data, "", used)
        scenario = load(tmp_path, data)
        assert scenario.network.type == kind and len(scenario.agents()) == (3 if kind == "regions" else 2)
    assert used == PATHS, f"documented but in no sample: {sorted(PATHS - used)}"


def _mappings(data, path: tuple = ()):
    """The location of every mapping of documented keys in `data` (not params, nor per-link latencies, losses or jitters)."""
    if isinstance(data, dict):
        yield path
        for name, value in data.items():
            if name not in ("params", "latency", "packet_loss", "jitter", "regions", "payments"):
                yield from _mappings(value, path + (name,))
            elif name == "regions" and isinstance(value, dict):          # network.regions
                for region in value:
                    yield path + (name, region)
    elif isinstance(data, list) and data and isinstance(data[0], dict):
        yield from _mappings(data[0], path + (0,))


def test_a_key_added_to_any_mapping_is_refused(tmp_path):
    probed = set()
    for data in SAMPLES.values():
        for where in _mappings(data):
            bad = copy.deepcopy(data)
            target = bad
            for part in where:
                target = target[part]
            target[BOGUS] = 1
            with pytest.raises(LoadError) as caught:
                load(tmp_path, bad)
            assert f"unknown key {BOGUS!r}" in str(caught.value), where
            probed.add(_doc_of(where))
    objects = {k.path for k in DOCUMENTED if "properties" in k.schema or "allOf" in k.schema}
    assert objects | {"", "groups[]"} <= probed, f"not probed: {sorted(objects - probed)}"


def _doc_of(where: tuple) -> str:
    """The documented path of a location in a sample: ("groups", 0, "host_bandwidth") ->
    groups[].host_bandwidth."""
    path = ""
    for part in where:
        path = path + "[]" if isinstance(part, int) else _documented_path(path, part)
    return path


# ------------------------------------------------------------------ defaults are the loader's

def _loaded(scenario) -> dict:
    skip = {"path", "text", "doc"}
    return {f.name: getattr(scenario, f.name) for f in dataclasses.fields(scenario) if f.name not in skip}


def _set(data: dict, path: str, value) -> None:
    parts = path.replace("[]", ".0").split(".")
    for part in parts[:-1]:
        data = data[int(part)] if part.isdigit() else data.setdefault(part, {})
    data[parts[-1]] = value


def test_a_default_written_out_loads_as_the_key_left_out(tmp_path):
    networks = {"type: switch": {"type": "switch"}, "type: regions": SAMPLES["regions"]["network"]}
    checked = 0
    for key in DOCUMENTED:
        if "default" not in key.schema:
            continue
        base = copy.deepcopy(BASE)
        if key.when:
            base["network"] = {k: v for k, v in networks[key.when].items() if k != key.path.split(".")[1]}
        if key.path == "daemons.count":
            base["daemons"] = {"placement": "shared"}
        explicit = copy.deepcopy(base)
        _set(explicit, key.path, key.schema["default"])
        assert explicit != base
        assert _loaded(load(tmp_path, explicit)) == _loaded(load(tmp_path, base)), key.path
        checked += 1
    assert checked >= 15
