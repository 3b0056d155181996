"""Scenario files: loading, agent expansion, and bad input as file:line:col with exit 2."""
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from engine.errors import LoadError
from engine.yamlload import parse_value
from sim import cli
from sim.scenario import STOP_EARLY, STOP_LATE, encode_param, load_scenario

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
