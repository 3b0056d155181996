"""`tree-runner validate` given a scenario file says so in one line and names the command that
checks scenarios, instead of listing the scenario's keys as unknown tree keys."""
import subprocess
import sys
from pathlib import Path

from engine.cli import main

REPO = Path(__file__).resolve().parents[2]
VALID_TREE = REPO / "tests" / "trees" / "valid" / "user-like.yaml"
SCENARIO = "version: 1\nname: s\nduration: 5m\ngroups:\n  - {name: a, tree: t.yaml}\n"


def _one_line(path: Path) -> str:
    return (f"{path}:4:1: groups: {path} is a scenario file, not a tree: use "
            f"`monerosim run --check {path}`")


def test_a_scenario_file_is_named_as_such(tmp_path, capsys):
    path = tmp_path / "s.yaml"
    path.write_text(SCENARIO)
    assert main(["validate", str(path)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.splitlines() == [_one_line(path)]


def test_trees_beside_it_are_still_validated(tmp_path, capsys):
    path = tmp_path / "s.yaml"
    path.write_text(SCENARIO)
    assert main(["validate", str(VALID_TREE), str(path)]) == 2
    out, err = capsys.readouterr()
    assert out.startswith(f"{VALID_TREE}: ok (") and out.count("\n") == 1
    assert err.splitlines() == [_one_line(path)]


def test_a_path_with_spaces_is_quoted_in_the_command(tmp_path, capsys):
    path = tmp_path / "my runs" / "s.yaml"
    path.parent.mkdir()
    path.write_text(SCENARIO)
    assert main(["validate", str(path)]) == 2
    assert capsys.readouterr().err.rstrip("\n").endswith(f"use `monerosim run --check '{path}'`")


def test_a_tree_with_a_groups_key_is_still_a_tree(tmp_path, capsys):
    path = tmp_path / "t.yaml"
    path.write_text("version: 1\ngroups: []\nroot:\n  Wait: {duration: 1s}\n")
    assert main(["validate", str(path)]) == 2
    assert capsys.readouterr().err.splitlines() == [f"{path}:2:1: groups: unknown top-level key 'groups'"]


def test_a_broken_scenario_file_gets_the_yaml_error(tmp_path, capsys):
    path = tmp_path / "s.yaml"
    path.write_text(SCENARIO + "groups: again\n")
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"{path}:6:1: ") and "duplicate key 'groups'" in err, err


def test_the_shipped_scenarios_through_the_real_command():
    paths = sorted(str(p.relative_to(REPO)) for p in (REPO / "scenarios").glob("*.yaml"))
    done = subprocess.run([sys.executable, "-m", "engine", "validate", *paths], cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and done.stdout == "" and "Traceback" not in done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == len(paths) >= 4
    for path, line in zip(paths, lines):
        assert line.startswith(f"{path}:") and line.endswith(f"not a tree: use `monerosim run --check {path}`")
