"""The language: strict YAML values, params and substitution, distributions, references,
imports and subtrees."""
import textwrap

import pytest

from lang.values import BlackboardRef, DurationError, parse_duration, parse_ref
from lang.errors import LoadError
from engine import Factory
from lang.yamlload import load_text, parse_value

FACTORY = Factory.for_plugins()


def write(tmp_path, name, text):
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def test_yaml_11_surprises_stay_strings():
    data = load_text("a: yes\nb: on\nc: 010\nd: 0x1f\ne: 1_000\nf: .inf\non: 1\nno: n\n").data
    assert data == {"a": "yes", "b": "on", "c": "010", "d": "0x1f", "e": "1_000", "f": ".inf", "on": 1, "no": "n"}


def test_yaml_json_like_scalars():
    data = load_text("a: true\nb: False\nc: null\nd: ~\ne: 12\nf: -0.5\ng: 1e3\nh: '12'\ni:\n").data
    assert data == {"a": True, "b": False, "c": None, "d": None, "e": 12, "f": -0.5, "g": 1000.0, "h": "12", "i": None}


def test_param_reference_allowed_in_flow_context():
    data = load_text("w: {duration: ${t}, xs: [${a}, b]}").data
    assert data == {"w": {"duration": "${t}", "xs": ["${a}", "b"]}}


def test_positions_are_one_based_line_and_column():
    doc = load_text("root:\n  Wait:\n    duration: 5s\n")
    assert doc.where(("root", "Wait", "duration")) == (3, 15)
    assert doc.where(("root", "Wait", "duration"), key=True) == (3, 5)
    assert doc.where(("root", "Wait", "missing")) == (3, 5)  # nearest known ancestor


def test_alias_bomb_is_an_error():
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 7):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    with pytest.raises(LoadError, match="alias bomb"):
        load_text("\n".join(lines))


@pytest.mark.parametrize("text, seconds", [("250ms", 0.25), ("30s", 30), ("5m", 300), ("2h", 7200),
                                           ("1d", 86400), ("1h30m", 5400), ("1.5s", 1.5), (12, 12), (0, 0)])
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text, message", [("5 minutes", "write 5m"), ("-3s", "negative"), ("1.5x", "unknown unit"),
                                           ("soon", "write a number with a unit"), (True, "expected a duration"),
                                           (-1, "negative")])
def test_bad_durations(text, message):
    with pytest.raises(DurationError, match=message):
        parse_duration(text)


def test_blackboard_refs():
    assert parse_ref("{shop.address}") == BlackboardRef("shop", ("address",))
    assert parse_ref("{x}") == BlackboardRef("x")
    assert parse_ref("pay {x}") is None and parse_ref("{1x}") is None
    assert BlackboardRef("tx", ("outs", "1")).lookup({"outs": [0, {"a": 2}]}) == {"a": 2}


def test_parse_value_for_command_line():
    assert parse_value("5m") == "5m"
    assert parse_value("0.2") == 0.2
    assert parse_value("{exponential: {mean: 5m}}") == {"exponential": {"mean": "5m"}}
    assert parse_value("") == ""


def tree_text(body, params=""):
    return f"{params}\nroot:\n{textwrap.indent(textwrap.dedent(body), '  ')}"


def test_whole_param_keeps_type_and_embedded_param_becomes_text(tmp_path):
    path = write(tmp_path, "t.yaml", """\
        params:
          n: 3
          who: shop-1
        root:
          Repeat:
            times: ${n}
            child:
              RecordEvent: {event: paid, fields: {note: "to ${who} x${n}", cost: "$${n}"}}
        """)
    root = FACTORY.load(path).root
    assert root.params["times"] == 3
    assert root.children[0].params["fields"] == {"note": "to shop-1 x3", "cost": "${n}"}


def test_parameter_precedence_default_with_override(tmp_path):
    write(tmp_path, "lib/common.yaml", """\
        params:
          label: lib-default
        subtrees:
          note:
            RecordEvent: {event: e, fields: {label: "${label}"}}
        """)
    path = write(tmp_path, "t.yaml", """\
        params:
          label: tree-default
        imports:
          common: lib/common.yaml
        root:
          Sequence:
            children:
              - Subtree: {use: common.note}
              - Subtree: {use: common.note, with: {label: "${label}"}}
        """)
    labels = lambda tree: [n.params["fields"]["label"] for n in tree.root.walk() if n.type == "RecordEvent"]
    assert labels(FACTORY.load(path)) == ["lib-default", "tree-default"]
    assert labels(FACTORY.load(path, {"label": "agent"})) == ["lib-default", "agent"]


def test_unknown_override_is_an_error_with_suggestion(tmp_path):
    path = write(tmp_path, "t.yaml", "params:\n  tx_interval: 5m\nroot:\n  Succeed:\n")
    with pytest.raises(LoadError) as caught:
        FACTORY.load(path, {"tx_intervl": "1m"})
    assert caught.value.problems[0].message == \
        "--param tx_intervl: the tree has no parameter 'tx_intervl' (did you mean 'tx_interval'?)"


def test_override_with_distribution_and_durations_inside(tmp_path):
    path = write(tmp_path, "t.yaml", "params:\n  d: 5m\nroot:\n  Wait: {duration: '${d}'}\n")
    wait = FACTORY.load(path, {"d": parse_value("{exponential: {mean: 2m, max: 1h}}")}).root
    dist = wait.params["duration"]
    assert dist.kind == "exponential" and dist.args == {"mean": 120.0, "max": 3600.0}


def test_distribution_forms(tmp_path):
    path = write(tmp_path, "t.yaml", """\
        root:
          Sequence:
            children:
              - Wait: {duration: {choice: [1s, 2m]}}
              - Wait: {duration: {choice: {values: [1s, 2s], weights: [1, 3]}}}
              - Wait: {duration: {constant: 90s}}
              - Wait: {duration: {normal: {mean: 1m, stddev: 10s, min: 0}}}
              - SetValue: {key: k, value: {bernoulli: {p: 0.25}}}
        """)
    kids = FACTORY.load(path).root.children
    assert kids[0].params["duration"].args == {"values": [1.0, 120.0]}
    assert kids[1].params["duration"].args == {"values": [1.0, 2.0], "weights": [1, 3]}
    assert kids[2].params["duration"].args == {"value": 90.0}
    assert kids[3].params["duration"].args == {"mean": 60.0, "stddev": 10.0, "min": 0}
    assert kids[4].params["value"].kind == "bernoulli"


def test_references_become_objects_and_outputs_stay_names(tmp_path):
    path = write(tmp_path, "t.yaml", "root:\n  SetValue: {key: copy, value: '{shop.address}'}\n")
    node = FACTORY.load(path).root
    assert node.params == {"key": "copy", "value": BlackboardRef("shop", ("address",))}


def test_every_problem_is_reported_at_once(tmp_path):
    path = write(tmp_path, "t.yaml", """\
        root:
          Sequence:
            children:
              - Wiat: {duration: 1s}
              - Wait: {duration: 5 minutes}
              - Repeat: {times: 0, child: {Succeed: }}
        """)
    with pytest.raises(LoadError) as caught:
        FACTORY.load(path)
    lines = [(p.line, p.message) for p in caught.value.problems]
    assert lines == [(4, "unknown node type 'Wiat' (did you mean 'Wait'?)"),
                     (5, "bad duration '5 minutes' (write 5m)"),
                     (6, "must be at least 1, got 0")]


def test_default_names_and_positions(tmp_path):
    write(tmp_path, "sub/lib.yaml", "subtrees:\n  s:\n    Succeed:\n")
    path = write(tmp_path, "t.yaml", "imports:\n  lib: sub/lib.yaml\nroot:\n  Sequence:\n    name: main\n"
                                     "    children:\n      - Fail:\n      - Subtree: {use: lib.s}\n")
    root = FACTORY.load(path).root
    assert root.name == "main"
    assert [n.name for n in root.walk()] == ["main", "Fail@7", "lib.s", "Succeed@lib.yaml:3"]
    assert root.children[0].line == 7 and root.children[0].col == 9


def test_imported_root_and_shared_import(tmp_path):
    write(tmp_path, "a.yaml", "root:\n  Succeed:\n")
    write(tmp_path, "b.yaml", "imports:\n  a: a.yaml\nsubtrees:\n  s:\n    Subtree: {use: a.root}\n")
    path = write(tmp_path, "t.yaml", "imports:\n  a: a.yaml\n  b: b.yaml\nroot:\n  Sequence:\n    children:\n"
                                     "      - Subtree: {use: a.root}\n      - Subtree: {use: b.s}\n")
    types = [n.type for n in FACTORY.load(path).root.walk()]
    assert types == ["Sequence", "Subtree", "Succeed", "Subtree", "Subtree", "Succeed"]


def test_extension_keys_hold_anchors(tmp_path):
    path = write(tmp_path, "t.yaml", "x-pause: &pause 5s\nroot:\n  Wait: {duration: *pause}\n")
    assert FACTORY.load(path).root.params["duration"] == 5.0


def test_reading_a_key_nobody_writes_is_a_warning_with_suggestion(tmp_path):
    path = write(tmp_path, "t.yaml", """\
        root:
          Sequence:
            children:
              - SetValue: {key: shop, value: {address: x}}
              - RecordEvent: {event: e, fields: {to: "{shpo.address}", ok: "{shop}"}}
              - CheckValue: {key: shop.address, exists: true}
        """)
    tree = FACTORY.load(path)
    assert [(w.line, w.path, w.message) for w in tree.warnings] == [
        (5, "root.Sequence.children[1].RecordEvent.fields",
         "warning: no node of this tree writes blackboard key 'shpo' (did you mean 'shop'?)")]
