"""The Shadow config checker: a negative corpus (each file names the problem it must raise),
valid configs with anchors/merges/x- keys, Shadow's YAML and unit rules, and `check-shadow`."""
import lzma
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sim import cli
from sim.shadow.check import RULES, check_config, check_text
from sim.shadow.configyaml import YamlError, load_config_yaml
from sim.scenario.units import UnitError, format_bits, format_time, parse_bits, parse_bytes, parse_time_ns

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO / "tests" / "shadow"
BAD = sorted((CORPUS / "bad").glob("*.yaml"))
GOOD = sorted((CORPUS / "good").glob("*.yaml"))


def expected(path: Path) -> str:
    line = path.read_text().splitlines()[1]
    assert line.startswith("# expect: "), f"{path.name}: second line must be '# expect: …'"
    return line[len("# expect: "):]


def shown(problem, path: Path) -> str:
    return str(problem).replace(f"{path}:", "", 1)


def test_the_corpus_is_large_and_covers_every_rule():
    assert len(BAD) >= 15
    rules = {next(part for part in expected(p).split(": ") if part in RULES) for p in BAD}
    assert rules == set(RULES), f"rules without a broken config: {set(RULES) - rules}"


@pytest.mark.parametrize("path", BAD, ids=lambda p: p.stem)
def test_each_broken_config_is_rejected_naming_its_rule(path):
    problems, _ = check_config(path)
    assert problems, f"{path.name} passed the checker"
    assert shown(problems[0], path) == expected(path)
    for problem in problems:
        rule = problem.message.split(": ", 1)[0]
        assert rule in RULES, problem


@pytest.mark.parametrize("path", GOOD, ids=lambda p: p.stem)
def test_valid_configs_pass(path):
    problems, summary = check_config(path)
    assert problems == []
    assert summary.hosts == 2


def test_a_compressed_graph_file_is_read(tmp_path):
    shutil.copy(CORPUS / "good" / "file-graph.yaml", tmp_path / "c.yaml")
    (tmp_path / "net.gml.xz").write_bytes(lzma.compress((CORPUS / "good" / "net.gml").read_bytes()))
    text = (tmp_path / "c.yaml").read_text().replace("{path: net.gml, compression: null}",
                                                     "{path: net.gml.xz, compression: xz}")
    (tmp_path / "c.yaml").write_text(text)
    assert check_config(tmp_path / "c.yaml")[0] == []
    (tmp_path / "net.gml.xz").write_bytes(b"not xz")
    (problem,) = check_config(tmp_path / "c.yaml")[0]
    assert "graph: cannot read" in problem.message


def test_a_graph_problem_in_a_file_points_into_the_gml(tmp_path):
    shutil.copy(CORPUS / "good" / "file-graph.yaml", tmp_path / "c.yaml")
    gml = (CORPUS / "good" / "net.gml").read_text().replace('latency "50 ms"', 'latency "50 MS"')
    (tmp_path / "net.gml").write_text(gml)
    (problem,) = check_config(tmp_path / "c.yaml")[0]
    assert (problem.file, problem.line) == (str(tmp_path / "net.gml"), 25)
    assert problem.message.startswith("units: edge 0-7: latency: '50 MS': unknown time unit 'MS'")


def test_every_problem_is_reported(tmp_path):
    text = (CORPUS / "good" / "base.yaml").read_text()
    text = text.replace("  beta:", "  Beta_2:").replace("ip_addr: 11.0.0.2", "ip_addr: 11.0.0.1") \
        .replace("start_time: 1 s", "start_time: 1.5 s").replace('PYTHONHASHSEED: "0"', "PYTHONHASHSEED: 0")
    problems, _ = check_text(text, "c.yaml", tmp_path)
    assert [p.message.split(":")[0] for p in problems] == ["units", "host name", "ip address", "environment"]


# --------------------------------------------------------------------------- YAML as serde_yaml reads it

def test_yaml_1_2_scalars_merges_and_positions():
    data = load_config_yaml('a: &m {x: 1, y: "2"}\nb:\n  <<: *m\n  y: yes\nc: [0o17, 0x1f, 1e3, ~, True, "3"]\n')
    assert data["b"] == {"x": 1, "y": "yes"}
    assert data["c"] == [15, 31, 1000.0, None, True, "3"]
    assert data["b"].key_pos["x"] == (1, 8)          # a merged key keeps its source position
    assert data["b"].value_pos["y"] == (4, 6)
    assert data["c"].item_pos[2] == (5, 17)


@pytest.mark.parametrize("text, message", [
    ("a: 1\na: 2\n", "2:1: duplicate key 'a' (first at line 1)"),
    ("a: !!int 3\n", "1:4: YAML tags are not supported (tag:yaml.org,2002:int)"),
    ("a: &x [*x]\n", "1:4: recursive alias"),
    ("a:\n  <<: [1]\n", "2:8: a merge key (<<) takes a mapping or a list of mappings"),
    ("a: [1\n", "2:1: YAML syntax error"),
    ("a: 1\n---\nb: 2\n", "2:1: YAML syntax error"),
    ("", "1:1: the file is empty"),
])
def test_yaml_problems(text, message):
    with pytest.raises(YamlError) as info:
        load_config_yaml(text)
    assert str(info.value).startswith(message)


# --------------------------------------------------------------------------- units as units.rs reads them

@pytest.mark.parametrize("text, ns", [
    (10, 10 ** 10), ("10", 10 ** 10), ("10 s", 10 ** 10), ("10s", 10 ** 10), ("1500 ms", 15 * 10 ** 8),
    ("2 min", 120 * 10 ** 9), ("1 hour", 3600 * 10 ** 9), ("3 μs", 3000), ("+4 ns", 4), ("10   sec", 10 ** 10),
])
def test_times(text, ns):
    assert parse_time_ns(text) == ns


@pytest.mark.parametrize("text", ["1.5 s", "-10 ms", "10 S", "10 abc", "abc 10 ms", "ms", 1.5, True, None, -3])
def test_bad_times(text):
    with pytest.raises(UnitError):
        parse_time_ns(text)


def test_bandwidths_and_sizes():
    assert parse_bits("100 Mbit") == parse_bits("100Mbits") == parse_bits("100 megabit") == 10 ** 8
    assert parse_bits("1 Gibit") == 2 ** 30 and parse_bits("10 M") == 10 ** 7 and parse_bits(5) == 5
    assert parse_bytes("64 KiB") == 65536
    for bad in ("100 mbit", "10.5 Kbit", "10 Megabit"):
        with pytest.raises(UnitError):
            parse_bits(bad)


def test_formats_are_read_back_exactly():
    for seconds in (0, 0.001, 1.5, 30, 90, 3600, 7800, 1e-9, 0.0005):
        assert parse_time_ns(format_time(seconds)) == round(seconds * 1e9), seconds
    assert format_time(1.5) == "1500 ms" and format_time(120) == "2 min" and format_time(0) == "0 s"
    for bits in (1, 1000, 1536000, 10 ** 8, 10 ** 9, 3 * 10 ** 12):
        assert parse_bits(format_bits(bits)) == bits


# --------------------------------------------------------------------------- check-shadow

def test_check_shadow_cli(capsys):
    assert cli.main(["check-shadow", str(CORPUS / "good" / "base.yaml")]) == 0
    out = capsys.readouterr().out
    assert out.strip().endswith("base.yaml: ok: 2 hosts, 2 processes, graph of 1 node and 1 edge, "
                                "stop_time 600 s")
    bad = CORPUS / "bad" / "host-underscore.yaml"
    assert cli.main(["check-shadow", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.strip() == f"{bad}:{expected(bad)}"


def test_check_shadow_subprocess_exit_2_without_traceback(tmp_path):
    done = subprocess.run([sys.executable, "-m", "sim.cli", "check-shadow", str(tmp_path / "missing.yaml")],
                          capture_output=True, text=True, timeout=60, cwd=REPO)
    assert done.returncode == 2
    assert done.stderr.strip() == f"{tmp_path / 'missing.yaml'}:1:1: yaml: cannot read: No such file or directory"
