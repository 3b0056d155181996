"""`--seed` / `--param KEY=VALUE` on a scenario: what each key addresses, and every bad one said
as `option: path: message` (exit 2), checked like the file itself."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from lang.errors import LoadError, UsageError
from sim.scenario.load import load_scenario
from sim.scenario.overrides import parse_override, seed_override

ROOT = Path(__file__).resolve().parents[2]
SMALL = ROOT / "scenarios" / "small.yaml"


def _load(*texts: str, seed: str | None = None):
    given = ([seed_override(seed)] if seed is not None else []) + [parse_override(t) for t in texts]
    return load_scenario(SMALL, check_trees=True, overrides=given)


def test_group_key_param_and_top_level():
    plain = load_scenario(SMALL)
    s = _load("user.count=3", "pool.hashrate=[70,30]", "user.tx_interval=2m", "duration=30m",
              "daemons.peers=6", seed="9")
    users = [a for a in s.agents() if a.group == "user"]
    assert len(users) == 3 and len([a for a in plain.agents() if a.group == "user"]) != 3
    assert [a.params["hashrate"] for a in s.agents() if a.group == "pool"] == [70, 30]
    assert users[0].params["tx_interval"] == "2m"
    assert (s.duration, s.daemons.peers, s.seed) == (1800.0, 6, 9)
    assert s.overrides == {"seed": 9, "user.count": 3, "pool.hashrate": [70, 30],
                           "user.tx_interval": "2m", "duration": "30m", "daemons.peers": 6}


def test_list_index_and_later_wins():
    s = _load("pool.hashrate.0=90", "user.count=4", "user.count=2")
    assert [a.params["hashrate"] for a in s.agents() if a.group == "pool"][0] == 90
    assert len([a for a in s.agents() if a.group == "user"]) == 2


def test_the_run_copy_is_the_scenario_as_run():
    s = _load("user.count=2", seed="3")
    header, _, body = s.text.partition("\nversion:")
    assert "--seed 3 --param user.count=2" in header
    data = yaml.safe_load("version:" + body)
    assert data["seed"] == 3 and [g["count"] for g in data["groups"] if g["name"] == "user"] == [2]
    assert load_scenario(SMALL).text == SMALL.read_text()     # no override: the file itself


@pytest.mark.parametrize("texts, seed, message", [
    (["user.count=abc"], None,
     "--param user.count=abc: groups[3].count: expected a whole number, got the string 'abc'"),
    (["user.budgt=3"], None, "--param user.budgt=3: groups[3].params.budgt: the tree has no parameter 'budgt'"),
    (["daemons.foo=1"], None, "--param daemons.foo=1: daemons.foo: unknown key 'foo'"),
    ([], "-1", "--seed -1: seed: must be at least 0, got the number -1"),
    ([], "x", "--seed x: seed: expected a whole number, got the string 'x'"),
])
def test_bad_values_name_the_option(texts, seed, message):
    with pytest.raises(LoadError) as caught:
        _load(*texts, seed=seed)
    assert str(caught.value).startswith(message)


@pytest.mark.parametrize("text, message", [
    ("usr.count=2", "'usr' is neither a group of the scenario (controller, pool, shop, user) nor a "
                    "scenario key (did you mean 'user'?)"),
    ("user=3", "name a key of group 'user'"),
    ("pool.hashrate.5=1", "groups[1].params.hashrate is a list of 2: 5 is not one of its indexes (0-1)"),
    ("duration.x=1", "duration is a single value; 'x' is not in it"),
    ("x", "expected KEY=VALUE"),
    ("a..b=1", "empty part"),
    ("user.count=[1", "the value is not YAML"),
])
def test_keys_that_address_nothing(text, message):
    with pytest.raises(UsageError) as caught:
        _load(text)
    assert str(caught.value).startswith(f"--param {text}: ") and message in str(caught.value)


def test_cli_exit_2_one_line():
    done = subprocess.run([sys.executable, "-m", "sim.cli", "run", str(SMALL), "--check",
                           "--param", "user.count=abc"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip() == ("--param user.count=abc: groups[3].count: expected a whole number, "
                                   "got the string 'abc'")
    done = subprocess.run([sys.executable, "-m", "sim.cli", "run", str(SMALL), "--check",
                           "--param", "user.count=2", "--seed", "4"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.count("\nuser-") == 2
