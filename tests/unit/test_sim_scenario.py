"""Scenario files: loading, agent expansion, and bad input as file:line:col with exit 2."""
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lang.errors import LoadError
from lang.yamlload import parse_value
from sim import cli
from sim.scenario.load import STOP_EARLY, STOP_LATE, encode_param, load_scenario

FIXTURES = Path(__file__).resolve().parent.parent / "sim_fixtures"
TREES = FIXTURES / "trees"
TINY = FIXTURES / "scenarios" / "tiny.yaml"


def write(tmp_path, text, name="scenario.yaml"):
    """The scenario beside a copy of the fixture trees (so columns do not depend on tmp_path)."""
    if not (tmp_path / "trees").exists():
        shutil.copytree(TREES, tmp_path / "trees")
    path = tmp_path / name
    path.write_text(text.replace("TREES", "trees"))
    return path


GOOD = """\
version: 1
name: small
description: two pools and three idlers
seed: 42
duration: 20m
drain: 3m
time_scale: 10
groups:
  - name: pool
    tree: TREES/fake-pool.yaml
    count: 2
    params: {hashrate: [60, 40], every: 30s}
  - name: idler
    tree: TREES/idler.yaml
    count: 3
    wallet: false
    stop: early
    params: {label: [a, b], every: 1m}
  - name: solo
    tree: TREES/idler.yaml
    params: {label: [only]}
"""


def test_good_scenario_loads(tmp_path):
    s = load_scenario(write(tmp_path, GOOD), check_trees=True)
    assert (s.name, s.description, s.seed) == ("small", "two pools and three idlers", 42)
    assert (s.duration, s.drain, s.time_scale) == (1200.0, 180.0, 10.0)
    assert [g.name for g in s.groups] == ["pool", "idler", "solo"]
    assert s.text == write(tmp_path, GOOD).read_text()


def test_defaults(tmp_path):
    s = load_scenario(write(tmp_path, "version: 1\nname: x\nduration: 90\ngroups:\n"
                                      "  - {name: a, tree: TREES/idler.yaml}\n"))
    assert (s.seed, s.drain, s.time_scale, s.description) == (0, 0.0, 1.0, "")
    (agent,) = s.agents()
    assert (agent.id, agent.wallet, agent.stop, agent.params, agent.plugins) == ("a", True, STOP_LATE, {}, ())


def test_agent_expansion(tmp_path):
    agents = load_scenario(write(tmp_path, GOOD)).agents()
    assert [a.id for a in agents] == ["pool-0", "pool-1", "idler-0", "idler-1", "idler-2", "solo"]
    assert [a.group for a in agents] == ["pool", "pool", "idler", "idler", "idler", "solo"]
    assert [a.index for a in agents] == [0, 1, 0, 1, 2, 0]
    assert agents[0].tree == tmp_path / "trees" / "fake-pool.yaml" and agents[0].tree.is_absolute()
    # a list of exactly `count` items is per index; anything else goes to every agent
    assert [a.params for a in agents[:2]] == [{"hashrate": 60, "every": "30s"},
                                              {"hashrate": 40, "every": "30s"}]
    assert agents[2].params == {"label": ["a", "b"], "every": "1m"}      # 2 items, count 3: shared
    assert agents[5].params == {"label": ["only"]}                       # count 1 keeps its list
    assert [a.wallet for a in agents] == [True, True, False, False, False, True]
    assert [a.stop for a in agents] == [STOP_LATE] * 2 + [STOP_EARLY] * 3 + [STOP_LATE]


def test_tree_path_is_relative_to_the_scenario():
    agents = load_scenario(TINY, check_trees=True).agents()
    assert agents[0].tree == TREES / "fake-pool.yaml"


@pytest.mark.parametrize("value", [
    0, -3, 2.5, 1e20, True, None, "", "5m", "yes", "010", "0x1f", "${p}", "{key}", "a: b", "- x",
    "quote \" and \\ backslash", "line\nbreak\ttab", "é ü 日本 😀", "\u2028 \x85 \ufeff",
    [1, "two", [3]], {"exponential": {"mean": "5m"}}, {"a": None, "b": [True, False]},
])
def test_param_values_survive_the_engine_parser(value):
    assert parse_value(encode_param(value)) == value


def test_param_args(tmp_path):
    agent = load_scenario(write(tmp_path, GOOD)).agents()[0]
    assert agent.param_args() == ["--param", "hashrate=60", "--param", 'every="30s"']


# --------------------------------------------------------------------------- bad input

def bad(tmp_path, text, capsys, *extra):
    path = write(tmp_path, text)
    code = cli.main(["run", str(path), "--check", *extra])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err
    return err.replace(str(path), "S").strip()


HEAD = "version: 1\nname: x\nduration: 1m\n"


@pytest.mark.parametrize("text, expected", [
    (HEAD + "duration: 2m\ngroups: []\n",
     "S:4:1: duration: duplicate key 'duration' (first at line 3)"),
    (HEAD + "duraton: 2m\ngroups:\n  - {name: a, tree: TREES/idler.yaml}\n",
     "S:4:1: duraton: unknown key 'duraton' (did you mean 'duration'?)"),
    ("version: 1\nname: x\nduration: 1m\n", "S:1:1: (top): missing required key 'groups'"),
    ("version: 2\nname: x\nduration: 1m\ngroups:\n  - {name: a, tree: TREES/idler.yaml}\n",
     "S:1:10: version: must be 1, got the number 2"),
    (HEAD.replace("1m", "20 minutes") + "groups:\n  - {name: a, tree: TREES/idler.yaml}\n",
     "S:3:11: duration: bad duration '20 minutes' (write 20m)"),
    (HEAD.replace("1m", "0") + "groups:\n  - {name: a, tree: TREES/idler.yaml}\n",
     "S:3:11: duration: must be above 0"),
    (HEAD + "time_scale: 0\ngroups:\n  - {name: a, tree: TREES/idler.yaml}\n",
     "S:4:13: time_scale: must be above 0, got the number 0"),
    (HEAD + "groups: []\n", "S:4:9: groups: must not be empty"),
    (HEAD + "groups:\n  - name: a\n    tree: TREES/idler.yaml\n    count: 0\n",
     "S:7:12: groups[0].count: must be at least 1, got the number 0"),
    (HEAD + "groups:\n  - name: a\n    tree: TREES/idler.yaml\n    count: '2'\n",
     "S:7:12: groups[0].count: expected a whole number, got the string '2'"),
    (HEAD + "groups:\n  - name: a\n    tree: TREES/idler.yaml\n    wallet: yes\n",
     "S:7:13: groups[0].wallet: expected true or false, got the string 'yes'"),
    (HEAD + "groups:\n  - name: a\n    tree: TREES/idler.yaml\n    stop: first\n",
     "S:7:11: groups[0].stop: expected one of 'early', 'late', got the string 'first'"),
    (HEAD + "groups:\n  - name: Big_Pool\n    tree: TREES/idler.yaml\n",
     "S:5:11: groups[0].name: the string 'Big_Pool' is not allowed: use lowercase a-z, 0-9, '-', '.'; "
     "agent ids are name or name-<i>"),
    (HEAD + "groups:\n  - name: a\n    tree: TREES/idler.yaml\n    colour: red\n",
     "S:7:5: groups[0].colour: unknown key 'colour'"),
    (HEAD + "groups:\n  - {name: a, tree: TREES/idler.yaml, count: 2}\n"
            "  - {name: a-1, tree: TREES/idler.yaml}\n",
     "S:6:12: groups[1].name: agent id 'a-1' is also an agent of group 'a' (line 5)"),
    (HEAD + "groups:\n  - {name: a, tree: TREES/nowhere.yaml}\n",
     "S:5:21: groups[0].tree: no such tree file: "),
    (HEAD + "groups:\n  - name: a\n    tree: TREES/idler.yaml\n    params: {lable: x}\n",
     "S:7:14: groups[0].params.lable: the tree has no parameter 'lable' (did you mean 'label'?)"),
    (HEAD + "groups:\n  - name: a\n\tbad: tab\n", "S:6:1: YAML syntax error"),
    ("", "S:1:1: the file is empty"),
])
def test_bad_scenarios(tmp_path, capsys, text, expected):
    err = bad(tmp_path, text, capsys)
    assert err.splitlines()[0].startswith(expected), err


def test_a_bad_param_value_points_into_the_tree(tmp_path, capsys):
    err = bad(tmp_path, HEAD + "groups:\n  - name: a\n    tree: TREES/idler.yaml\n"
                               "    params: {every: soon}\n", capsys)
    first = err.splitlines()[0]
    assert first.startswith(f"{tmp_path / 'trees' / 'idler.yaml'}:"), first
    assert "soon" in first and "every set by --param/scenario" in first


def test_every_problem_is_reported(tmp_path, capsys):
    err = bad(tmp_path, "version: 1\nname: x\nduration: 1m\nseed: -1\ngroups:\n"
                        "  - {name: a, tree: TREES/idler.yaml, count: 0}\n", capsys)
    assert len(err.splitlines()) == 2
    assert err.splitlines()[0].startswith("S:4:7: seed: must be at least 0")


def test_the_loader_raises_load_error(tmp_path):
    with pytest.raises(LoadError) as info:
        load_scenario(write(tmp_path, HEAD + "groups: []\n"))
    assert info.value.problems[0].line == 4


@pytest.mark.parametrize("option, value, message", [
    ("--duration", "5 minutes", "--duration 5 minutes: bad duration"),
    ("--duration", "0", "--duration 0: must be above 0"),
    ("--time-scale", "-1", "--time-scale -1: expected a number above 0"),
    ("--time-scale", "fast", "--time-scale fast: expected a number above 0"),
])
def test_bad_options(tmp_path, capsys, option, value, message):
    err = bad(tmp_path, GOOD, capsys, option, value)
    assert err == f"monerosim: {message}" or err.startswith(f"monerosim: {message}"), err


def test_non_empty_run_directory_is_refused(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "something").write_text("x")
    assert cli.main(["run", str(TINY), "--out", str(out)]) == 2
    assert "run directory is not empty" in capsys.readouterr().err


def test_check_lists_the_agents(capsys):
    assert cli.main(["run", str(TINY), "--check"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == ["pool-0", "pool-1", "idler-0", "idler-1"]
    assert "--param hashrate=60" in lines[0] and '--param label="second"' in lines[3]


def test_cli_subprocess_exit_2_without_traceback(tmp_path):
    path = write(tmp_path, HEAD + "groups:\n  - {name: a, tree: TREES/idler.yaml, count: 0}\n")
    done = subprocess.run([sys.executable, "-m", "sim.cli", "run", str(path)], capture_output=True,
                          text=True, timeout=60, cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 2
    assert done.stderr.strip() == f"{path}:5:46: groups[0].count: must be at least 1, got the number 0"
    assert not (tmp_path / "runs").exists()


# --------------------------------------------------------------------------- issue 5: layout, draws, schema

import json  # noqa: E402

from jsonschema import Draft202012Validator  # noqa: E402

from lang.yamlload import load_file  # noqa: E402
from sim.scenario.layout import SHARED, Bandwidth  # noqa: E402
from sim.scenario.load import SCHEMA, schema_text  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
LAYOUT = HEAD + """network:
  type: regions
  regions: {eu: {bandwidth: 100 Mbit}, us: {bandwidth_down: 50Mbit, bandwidth_up: 10 Mbit}}
  latency: {eu: 5ms, us: 10ms, us-eu: 80ms}
  packet_loss: {eu-us: 0.01}
daemons: {placement: shared, count: 2, peers: 3}
monerod_args: [--log-level, "1"]
wallet_rpc_args: [--max-concurrency=2]
wallet_login: {user: sim, password: "p:w"}
groups:
  - {name: pool, tree: TREES/fake-pool.yaml, count: 3, start: 30s, stagger: 1500ms, region: [us, eu],
     host_bandwidth: {down: 1 Gbit, up: 200 Mbit}}
  - {name: idler, tree: TREES/idler.yaml, count: 3, wallet: false}
"""


def test_the_layout_loads(tmp_path):
    s = load_scenario(write(tmp_path, LAYOUT), check_trees=True)
    net = s.network
    assert net.type == "regions" and list(net.regions) == ["eu", "us"]
    assert net.regions["us"].bandwidth == Bandwidth(50 * 10 ** 6, 10 ** 7)
    assert net.link("us", "eu") == (0.08, 0.01, 0.0) and net.link("eu", "eu") == (0.005, 0.0, 0.0)
    assert (s.daemons.placement, s.daemons.count, s.daemons.peers) == (SHARED, 2, 3)
    assert s.monerod_args == ("--log-level", "1") and s.wallet_rpc_args == ("--max-concurrency=2",)
    assert s.wallet_login.pair == ("sim", "p:w") and str(s.wallet_login) == "sim:p:w"
    pool = s.groups[0]
    assert (pool.start, pool.stagger, pool.region) == (30.0, 1.5, ("us", "eu"))
    agents = s.agents()
    assert [a.start for a in agents] == [30.0, 31.5, 33.0, 0.0, 0.0, 0.0]
    assert [a.region for a in agents] == ["us", "eu", "us", "us", "eu", "us"]   # idlers: every region in turn
    assert agents[0].host_bandwidth == Bandwidth(10 ** 9, 2 * 10 ** 8) and agents[3].host_bandwidth is None


def test_layout_defaults(tmp_path):
    s = load_scenario(write(tmp_path, GOOD))
    assert (s.network.type, s.network.latency, s.network.bandwidth) == ("switch", 0.001, Bandwidth(10 ** 9, 10 ** 9))
    assert (s.daemons.placement, s.daemons.resolved("per-host"), s.daemons.peers) == (None, "per-host", 4)
    assert (s.monerod_args, s.wallet_rpc_args, s.wallet_login) == ((), (), None)
    assert all(a.start == 0 and a.region is None and a.network_node is None for a in s.agents())


DRAWN = HEAD + """groups:
  - name: pool
    tree: TREES/fake-pool.yaml
    count: 50
    params:
      hashrate: {per_agent: {uniform: {low: 10, high: 90}, round: 0}}
      every: {per_agent: {exponential: {mean: 1m, min: 1}, round: 3}}
  - name: idler
    tree: TREES/idler.yaml
    count: 4
    params: {label: {per_agent: {choice: [a, b]}}, every: {exponential: {mean: 1m}}}
"""


def test_per_agent_draws_are_fixed_per_agent_and_reproducible(tmp_path):
    s = load_scenario(write(tmp_path, DRAWN), check_trees=True)
    agents = s.agents()
    rates = [a.params["hashrate"] for a in agents[:50]]
    assert all(isinstance(r, int) and 10 <= r <= 90 for r in rates) and len(set(rates)) > 20
    assert all(a.params["every"] >= 1 for a in agents[:50])
    assert {a.params["label"] for a in agents[50:]} <= {"a", "b"}
    assert agents[50].params["every"] == {"exponential": {"mean": "1m"}}     # no per_agent: the tree draws
    again = load_scenario(write(tmp_path, DRAWN)).agents()
    assert [a.params for a in again] == [a.params for a in agents]
    other = load_scenario(write(tmp_path, DRAWN.replace("name: x", "name: x\nseed: 9"))).agents()
    assert [a.params["hashrate"] for a in other[:50]] != rates
    # a group's draws do not move when another param or group is added
    more = DRAWN.replace("      hashrate:", "      extra: {per_agent: {uniform: {low: 0, high: 1}}}\n      hashrate:")
    with pytest.raises(LoadError):           # fake-pool has no `extra`: but the draws are made first
        load_scenario(write(tmp_path, more), check_trees=True)
    assert [a.params["hashrate"] for a in load_scenario(write(tmp_path, more)).agents()[:50]] == rates


def test_trees_are_checked_with_the_extreme_draws(tmp_path):
    text = HEAD + ("groups:\n  - name: a\n    tree: TREES/idler.yaml\n    count: 40\n"
                   "    params: {every: {per_agent: {normal: {mean: 10, stddev: 30}}}}\n")
    with pytest.raises(LoadError) as info:
        load_scenario(write(tmp_path, text), check_trees=True)
    assert "negative" in str(info.value)


LAYOUT_HEAD = HEAD + "groups:\n  - {name: a, tree: TREES/idler.yaml, count: 2}\n"


@pytest.mark.parametrize("extra, expected", [
    ("network: {type: mesh}\n", "S:6:17: network.type: expected one of 'switch', 'gml', 'regions', got the "
                                "string 'mesh'"),
    ("network: {type: switch, regions: {}}\n", "S:6:25: network.regions: unknown key 'regions' (allowed: type, "
                                               "latency, bandwidth, packet_loss, jitter)"),
    ("network: {type: switch, bandwidth: 1.5 Gbit}\n", "S:6:36: network.bandwidth: the string '1.5 Gbit' is not "
                                                       "allowed: use an integer and a unit"),
    ("network: {type: switch, latency: 0}\n", "S:6:34: network.latency: latency must be above 0"),
    ("network: {type: switch, packet_loss: 2}\n", "S:6:38: network.packet_loss: must be at most 1, got the number 2"),
    ("network: {type: gml}\n", "S:6:10: network: missing required key 'file'"),
    ("network: {type: gml, file: none.gml}\n", "S:6:28: network.file: cannot read"),
    ("network: {type: regions, regions: {eu: {bandwidth: 1 Gbit}}, latency: {eu: 1ms, eu-mars: 3ms}}\n",
     "S:6:81: network.latency.eu-mars: 'eu-mars': write REGION or REGION-REGION; unknown region 'mars'"),
    ("network: {type: regions, regions: {eu: {bandwidth: 1 Gbit}, us: {bandwidth: 1 Gbit}}, latency: {eu: 1ms}}\n",
     "S:6:96: network.latency: missing 'us': the latency between two hosts of region us"),
    ("network: {type: regions, regions: {eu: {bandwidth_up: 1 Gbit}}, latency: {eu: 1ms}}\n",
     "S:6:40: network.regions.eu: give bandwidth (or bandwidth_down and bandwidth_up)"),
    ("network: {type: regions, regions: {EU: {bandwidth: 1 Gbit}}, latency: {EU: 1ms}}\n",
     "S:6:36: network.regions.EU: region name 'EU': use lowercase a-z, 0-9 and _"),
    ("daemons: {placement: per-host, count: 3}\n", "S:6:32: daemons.count: count is for `placement: shared` daemons"),
    ("daemons: {peers: 0}\n", "S:6:18: daemons.peers: must be at least 1, got the number 0"),
    ("monerod_args: [--data-dir, /x]\n", "S:6:16: monerod_args[0]: --data-dir is set by monerosim to wire"),
    ("monerod_args: [verbose]\n", "S:6:16: monerod_args[0]: 'verbose': the first item must be an option (--name)"),
    ("wallet_rpc_args: [--rpc-login=u:p]\n", "S:6:19: wallet_rpc_args[0]: --rpc-login is set by monerosim"),
    ("wallet_login: {user: 'a:b', password: c}\n", "S:6:22: wallet_login.user: the string 'a:b' is not allowed: "
                                                    "use no ':' or spaces"),
])
def test_bad_layouts(tmp_path, capsys, extra, expected):
    err = bad(tmp_path, LAYOUT_HEAD + extra, capsys)
    assert err.splitlines()[0].startswith(expected), err


@pytest.mark.parametrize("group, expected", [
    ("start: 10 minutes", "S:5:56: groups[0].start: bad duration '10 minutes' (write 10m)"),
    ("start: 2m", "S:5:56: groups[0].start: agent a-1 would start at 120s, not before the end of the run (60s)"),
    ("stagger: 1m", "S:5:58: groups[0].stagger: agent a-1 would start at 60s"),
    ("region: eu", "S:5:49: groups[0].region: region needs `network: {type: regions}`"),
    ("network_node: 1", "S:5:49: groups[0].network_node: network_node needs `network: {type: gml, file: ...}`"),
    ("host_bandwidth: 10 mbit", "S:5:65: groups[0].host_bandwidth: the string '10 mbit' is not allowed"),
    ("params: {x: {per_agent: {uniform: {low: 2, high: 1}}}}", "S:5:61: groups[0].params.x: uniform: low (2) is "
                                                               "above high (1)"),
    ("params: {x: {per_agent: {unifrom: {low: 1}}}}", "S:5:61: groups[0].params.x: per_agent takes one "
                                                      "distribution"),
    ("params: {x: {per_agent: {uniform: {low: 1, high: 2}}, y: 1}}", "S:5:61: groups[0].params.x: per_agent must "
                                                                    "be the only key (remove 'y')"),
    ("params: {x: {per_agent: {uniform: {low: 1, high: 2}, round: -1}}}", "S:5:61: groups[0].params.x: per_agent: "
                                                                          "round must be a whole number 0..12"),
])
def test_bad_group_layouts(tmp_path, capsys, group, expected):
    err = bad(tmp_path, HEAD + "groups:\n  - {name: a, tree: TREES/idler.yaml, count: 2, " + group + "}\n", capsys)
    assert err.splitlines()[0].startswith(expected), err


def test_a_region_must_exist(tmp_path, capsys):
    text = LAYOUT.replace("region: [us, eu]", "region: [us, asia]")
    err = bad(tmp_path, text, capsys)
    assert "groups[0].region[1]: unknown region 'asia' (regions: eu, us)" in err


def test_docs_schema_is_current_and_valid():
    Draft202012Validator.check_schema(SCHEMA)
    assert schema_text() == (REPO / "docs" / "scenario.schema.json").read_text(encoding="utf-8"), \
        "docs/scenario.schema.json is stale: run `monerosim schema -o docs/scenario.schema.json`"


def test_schema_cli(capsys):
    assert cli.main(["schema"]) == 0
    assert json.loads(capsys.readouterr().out) == SCHEMA


@pytest.mark.parametrize("path", sorted((REPO / "scenarios").glob("*.yaml")), ids=lambda p: p.stem)
def test_templates_pass_the_editor_schema(path):
    assert list(Draft202012Validator(json.loads(schema_text())).iter_errors(load_file(path).data)) == []


def test_regions_must_be_linked(tmp_path, capsys):
    err = bad(tmp_path, LAYOUT_HEAD + "network: {type: regions, regions: {eu: {bandwidth: 1 Gbit}, us: "
                                      "{bandwidth: 1 Gbit}}, latency: {eu: 1ms, us: 1ms}}\n", capsys)
    assert "S:6:96: network.latency: region 'us' is not linked to region 'eu', directly or through others: " \
           "add a latency like eu-us" in err
