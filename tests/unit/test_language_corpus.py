"""The malformed-tree corpus: each file must fail to load with this exact first problem
(`line:col: path: message`), and the CLI must print it with exit code 2 and no traceback."""
import subprocess
import sys
from pathlib import Path

import pytest

from lang.errors import LoadError
from engine import Factory

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO / "tests" / "trees" / "malformed"

# file -> (line, col, path, message)
EXPECTED = {
    "empty.yaml": (1, 1, "", "the file is empty"),
    "not-a-mapping.yaml": (1, 1, "", "a tree file is a mapping with root:, params:, imports:, subtrees: (got a list)"),
    "binary.yaml": (3, 3, "", "not UTF-8 text (byte 0xff); tree files are UTF-8 YAML"),
    "nul-character.yaml": (2, 23, "", "character U+0000 is not allowed in YAML (binary data?)"),
    "duplicate-key.yaml": (4, 5, "root.Wait.duration", "duplicate key 'duration' (first at line 3)"),
    "python-tag.yaml": (4, 13, "root.RecordEvent.fields",
                        "YAML tags are not allowed (!!python/object/apply:os.system); tree files hold plain data"),
    "unknown-node-type.yaml": (4, 9, "root.Sequence.children[0].Wiat", "unknown node type 'Wiat' (did you mean 'Wait'?)"),
    "unknown-parameter.yaml": (2, 10, "root.Wait.durration",
                               "unknown parameter 'durration' for Wait (did you mean 'duration'?)"),
    "missing-required.yaml": (5, 9, "root.Sequence.children[1].Wait", "Wait needs 'duration' (e.g. 30s, 5m)"),
    "duration-in-words.yaml": (2, 20, "root.Wait.duration", "bad duration '5 minutes' (write 5m)"),
    "negative-duration.yaml": (3, 12, "root.Timeout.after", "duration must not be negative, got '-3s'"),
    "unknown-duration-unit.yaml": (3, 12, "root.RateLimit.every",
                                   "bad duration '1.5x': unknown unit 'x'; use ms, s, m, h or d"),
    "unknown-distribution.yaml": (4, 20, "root.Wait.duration",
                                  "unknown distribution 'exponentail' (did you mean 'exponential'?) "
                                  "[from ${interval} = {'exponentail': {'mean': '5m'}}: interval defaults to it "
                                  "at tests/trees/malformed/unknown-distribution.yaml:2:13]"),
    "unresolved-param.yaml": (4, 20, "root.Wait.duration", "unknown parameter ${tx_intervl} (did you mean 'tx_interval'?)"),
    "import-cycle.yaml": (2, 9, "imports.back",
                          "import cycle: tests/trees/malformed/import-cycle.yaml -> "
                          "tests/trees/malformed/helpers/cycle-b.yaml -> tests/trees/malformed/import-cycle.yaml"),
    "yes-is-not-true.yaml": (3, 13, "root.Sequence.memory",
                             "expected true or false, got the string 'yes' (did you mean true?)"),
    "octal-looking-number.yaml": (3, 12, "root.Repeat.times",
                                  "expected a whole number, got the string '010' (numbers must not be quoted or zero-padded)"),
    "huge-number.yaml": (3, 12, "root.Repeat.times", "number 999999999999…999999 (26 digits) is too large (at most 2**63-1)"),
    "parameter-beside-node.yaml": (5, 9, "root.Sequence.children[0].duration",
                                   "'duration' is beside 'Wait', not inside it: indent it under Wait "
                                   "(a node has exactly one key, its type)"),
    "decorator-with-children.yaml": (4, 5, "root.Repeat.children", "Repeat decorates one node: use child:, not children:"),
    "composite-without-children.yaml": (2, 3, "root.Selector", "Selector: children is missing"),
    "unquoted-blackboard-ref.yaml": (2, 32, "root.SetValue.value",
                                     'a blackboard reference must be quoted: write "{shop.address}"'),
    "unknown-subtree.yaml": (5, 18, "root.Subtree.use", "unknown subtree 'bootsrap' (did you mean 'bootstrap'?)"),
    "with-unknown-param.yaml": (9, 12, "root.Subtree.with.walet", "open has no parameter 'walet' (did you mean 'wallet'?)"),
    "subtree-cycle.yaml": (7, 26, "subtrees.pong.Sequence.children[0].Subtree.use", "subtree cycle: ping -> pong -> ping"),
    "top-level-typo.yaml": (1, 1, "paramss", "unknown top-level key 'paramss' (did you mean 'params'?)"),
    "two-documents.yaml": (3, 1, "", "only one YAML document per file (remove the second '---')"),
    "unclosed-bracket.yaml": (4, 1, "", "YAML syntax error: expected ',' or ']', but got '<stream end>' "
                                        "(while parsing a flow sequence at line 3)"),
    "tab-indentation.yaml": (3, 1, "", "YAML syntax error: tab characters cannot indent YAML; use spaces"),
    "bad-enum.yaml": (3, 13, "root.Parallel.policy", "expected one of 'all', 'one', got 'any'"),
    "uniform-low-above-high.yaml": (3, 15, "root.Wait.duration", "uniform: low (600.0) is above high (60.0)"),
    "no-root.yaml": (1, 1, "", "the tree has no root: (a file with only subtrees: can be imported, not run)"),
    "missing-import.yaml": (2, 11, "imports.common",
                            "imported file tests/trees/malformed/common/bootstrap.yaml does not exist"),
    "scalar-body.yaml": (2, 9, "root.Wait", "Wait takes a mapping of parameters, got the string '5m' "
                                            "(write Wait: {duration: 5m})"),
    "distribution-field-typo.yaml": (3, 15, "root.Wait.duration",
                                     "exponential: unknown field 'mena' (did you mean 'mean'?) (fields: mean, min, max)"),
    "leaf-with-child.yaml": (4, 5, "root.Wait.child", "Wait is a leaf: it has no child"),
    "bad-event-name.yaml": (2, 24, "root.RecordEvent.event",
                            "'Order Placed' does not match ^[a-z][a-z0-9_]*$ (journal event name, e.g. order_placed)"),
    "quoted-number.yaml": (3, 15, "root.Retry.attempts",
                           "expected a whole number, got the string '3' (numbers must not be quoted or zero-padded)"),
    "param-type-mismatch.yaml": (6, 26, "root.Sequence.children[0].Wait.duration",
                                 "bad duration 'five minutes': write a number with a unit (250ms, 30s, 5m, 2h, 1d) "
                                 "or a number of seconds [from ${pause} = 'five minutes': pause defaults to it at "
                                 "tests/trees/malformed/param-type-mismatch.yaml:2:10]"),
    "merge-key.yaml": (4, 5, "root.Wait", "YAML merge keys (<<) are not supported; use a Subtree"),
    "version-two.yaml": (1, 10, "version", "unsupported version 2 (this engine reads version 1)"),
}


def test_corpus_is_complete():
    files = sorted(p.name for p in CORPUS.glob("*.yaml"))
    assert files == sorted(EXPECTED), "every malformed tree needs an expectation (and vice versa)"
    assert len(files) >= 25


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_malformed_tree_reports_position_and_message(name, monkeypatch):
    monkeypatch.chdir(REPO)
    line, col, path, message = EXPECTED[name]
    with pytest.raises(LoadError) as caught:
        Factory.for_plugins().load(Path("tests/trees/malformed") / name)
    first = caught.value.problems[0]
    assert (first.line, first.col, first.path, first.message) == (line, col, path, message)


@pytest.mark.parametrize("name", ["duplicate-key.yaml", "unknown-node-type.yaml", "binary.yaml", "empty.yaml",
                                  "import-cycle.yaml"])
def test_cli_prints_problem_and_exits_2(name):
    line, col, path, message = EXPECTED[name]
    result = subprocess.run([sys.executable, "-m", "engine.cli", "validate", f"tests/trees/malformed/{name}"],
                            cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    expected_file = "tests/trees/malformed/helpers/cycle-b.yaml" if name == "import-cycle.yaml" \
        else f"tests/trees/malformed/{name}"
    where = f"{expected_file}:{line}:{col}: " + (f"{path}: " if path else "")
    assert result.stderr.splitlines()[0] == where + message
