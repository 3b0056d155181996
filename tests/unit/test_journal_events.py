"""The journal's vocabulary (lang/events.py): the code writes only declared events, every
declared event is written, a record is checked against its declaration when it is written,
a tree's own events keep off the built-in meanings, and docs/journal.md is current."""
import ast
import random
import re
from pathlib import Path

import pytest
import yaml
from py_trees.common import Status

from behaviours.base import AgentContext, Leaf
from behaviours.core import RecordEvent
from engine.clock import VirtualClock
from lang import events
from lang.events import EVENTS, UndeclaredEvent
from sim.report.summary import Tally

REPO = Path(__file__).resolve().parents[2]
WRITERS = ("behaviours", "engine", "sim", "ipc", "rpc_client")
# (file, function) whose record(...) passes on an event chosen elsewhere
PASS_ON = {("behaviours/base.py", "record"), ("behaviours/base.py", "failed")}
OWN = {("behaviours/base.py", "record"), ("behaviours/core.py", "update")}   # record_own callers


# ------------------------------------------------------------------ static: what the code writes

def _functions(tree: ast.AST):
    """(function name, node) for every function, innermost name for nested ones."""
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node.name, node


def _constant(node: ast.AST) -> str | None:
    """The event a name of lang.events stands for (`PAYMENT_SENT`, `events.PAYMENT_SENT`)."""
    name = node.attr if isinstance(node, ast.Attribute) else getattr(node, "id", None)
    value = getattr(events, name, None) if name and name.isupper() else None
    return value if isinstance(value, str) else None


def scan(roots=WRITERS, repo: Path = REPO) -> tuple[dict, list[str]]:
    """(event -> places that write it, problems) over every record(...) call under `roots`."""
    written: dict[str, list[str]] = {}
    problems: list[str] = []
    for root in roots:
        for path in sorted((repo / root).rglob("*.py")):
            rel = path.relative_to(repo).as_posix()
            for function, node in _functions(ast.parse(path.read_text(encoding="utf-8"))):
                if (rel, function) in PASS_ON:     # the events it names, e.g. failed()'s
                    for name in ast.walk(node):
                        if _constant(name) is not None:
                            written.setdefault(_constant(name), []).append(f"{rel} ({function})")
                for call in ast.walk(node):
                    if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
                            and call.func.attr in ("record", "record_own") and call.args):
                        continue
                    where = f"{rel}:{call.lineno} ({function})"
                    if call.func.attr == "record_own":
                        if (rel, function) not in OWN:
                            problems.append(f"{where}: record_own is for a tree's or plugin's own events")
                        continue
                    first = call.args[0]
                    if isinstance(first, ast.Constant) and isinstance(first.value, str):
                        event = first.value
                    else:
                        event = _constant(first)
                    if event is None:
                        if (rel, function) not in PASS_ON:
                            problems.append(f"{where}: cannot tell which event record() writes")
                        continue
                    if event not in EVENTS:
                        problems.append(f"{where}: writes {event!r}, not declared in lang/events.py")
                    written.setdefault(event, []).append(where)
    return written, problems


def test_the_code_writes_only_declared_events():
    _written, problems = scan()
    assert problems == []


def test_every_declared_event_is_written_somewhere():
    written, _problems = scan()
    assert sorted(set(EVENTS) - set(written)) == [], "declared in lang/events.py, written nowhere"


def test_the_scan_catches_an_undeclared_event(tmp_path):
    leaf = tmp_path / "behaviours" / "bad.py"
    leaf.parent.mkdir()
    leaf.write_text("class Bad:\n    def update(self):\n        self.record('payment_sendt', n=1)\n"
                    "        self.ctx.record(self.args.event)\n", encoding="utf-8")
    _written, problems = scan(("behaviours",), tmp_path)
    assert problems == ["behaviours/bad.py:3 (update): writes 'payment_sendt', not declared in lang/events.py",
                        "behaviours/bad.py:4 (update): cannot tell which event record() writes"]


# ------------------------------------------------------------------ the declaration itself

def test_declarations_are_well_formed():
    for name, event in EVENTS.items():
        assert name == event.name and re.fullmatch(r"[a-z][a-z0-9_]*", name)
        assert len(set(event.fields)) == len(event.fields), name
        assert not {"t", "event", "agent"} & set(event.fields), name
        assert event.meaning and event.writer and "|" not in event.meaning + event.writer
        assert getattr(events, name.upper()) == name


def test_the_tally_dispatches_only_declared_events():
    assert set(Tally.HANDLERS) <= set(EVENTS)
    assert not [n for n in dir(Tally) if n.startswith("_on_") and getattr(Tally, n) not in
                Tally.HANDLERS.values()], "a handler the table does not list"


# ------------------------------------------------------------------ runtime: records are checked

@pytest.fixture
def ctx():
    context = AgentContext("agent-1", clock=VirtualClock(start=1000.0), rng=random.Random(7))
    yield context
    context.clear_blackboard()


@pytest.mark.parametrize("event, fields, message", [
    ("payment_sendt", {"txid": "ab"}, "journal event 'payment_sendt' is not declared in lang/events.py"),
    ("block_late", {"seq": 1}, "journal event 'block_late' needs field 'pool'"),
    ("block_late", {"seq": 1, "pool": "p", "why": "slow"},
     "journal event 'block_late' has no field 'why' (its fields: seq, pool)"),
])
def test_context_refuses_what_is_not_declared_and_writes_nothing(ctx, event, fields, message):
    with pytest.raises(UndeclaredEvent, match=re.escape(message)):
        ctx.record(event, **fields)
    assert ctx.journal.records == []


def test_own_events_are_free_but_keep_off_built_in_fields(ctx):
    ctx.record_own("saved", amount=1)
    ctx.record_own("block_mined", blocks=1)               # a stand-in pool: some of the fields
    with pytest.raises(UndeclaredEvent, match="has no field 'note'"):
        ctx.record_own("block_mined", blocks=1, note="x")
    assert [r["event"] for r in ctx.journal.records] == ["saved", "block_mined"]


class _Stray(Leaf):
    """Journals an undeclared event (as a built-in leaf must not)."""

    def update(self):
        self.record("payment_sendt", txid="ab")
        return Status.SUCCESS


def _run(leaf, ctx):
    leaf.setup(ctx=ctx)
    leaf.tick_once()
    return leaf.status


def test_a_built_in_leaf_writing_an_undeclared_event_fails(ctx, monkeypatch):
    monkeypatch.setattr(_Stray, "__module__", "behaviours.stray")
    assert _run(_Stray(), ctx) == Status.FAILURE
    [failed] = ctx.journal.records
    assert failed["event"] == "leaf_failed" and failed["error"] == "UndeclaredEvent"


def test_a_plugin_leaf_may_write_its_own_event(ctx):
    assert _run(_Stray(), ctx) == Status.SUCCESS       # defined here, not in behaviours/
    assert [r["event"] for r in ctx.journal.records] == ["payment_sendt"]


def test_record_event_may_not_give_a_built_in_name_another_field(ctx):
    assert _run(RecordEvent(event="pool_registered", fields={"hashrate": 2}), ctx) == Status.SUCCESS
    assert _run(RecordEvent(event="funded", fields={"amount": 2}), ctx) == Status.FAILURE
    assert [r["event"] for r in ctx.journal.records] == ["pool_registered", "leaf_failed"]
    assert ctx.journal.records[1]["message"] == \
        "journal event 'funded' has no field 'amount' (its fields: unlocked, balance)"


def _record_events(data):
    """(event, field names) of every RecordEvent in a loaded tree file."""
    if isinstance(data, dict):
        body = data.get("RecordEvent")
        if isinstance(body, dict) and isinstance(body.get("event"), str):
            yield body["event"], tuple(body.get("fields") or {})
        for value in data.values():
            yield from _record_events(value)
    elif isinstance(data, list):
        for value in data:
            yield from _record_events(value)


def test_tree_files_use_built_in_names_only_with_their_fields():
    checked, problems = 0, []
    for path in sorted(REPO.glob("**/*.yaml")):
        if ".venv" in path.parts or "malformed" in path.parts or "badinput" in path.parts:
            continue
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError):
            continue
        for event, fields in _record_events(data):
            checked += 1
            wrong = events.problem(event, fields, own=True)
            if wrong:
                problems.append(f"{path.relative_to(REPO)}: {wrong}")
    assert checked > 10 and problems == []


# ------------------------------------------------------------------ docs/journal.md

def test_journal_md_is_current():
    assert (REPO / "docs" / "journal.md").read_text(encoding="utf-8") == events.markdown(), \
        "docs/journal.md is stale: run `python -m lang.events -o docs/journal.md` (or `make docs`)"


def test_journal_md_lists_every_event_with_its_fields(tmp_path):
    out = tmp_path / "journal.md"
    assert events.main(["-o", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    for event in EVENTS.values():
        [row] = [line for line in text.splitlines() if line.startswith(f"| `{event.name}` |")]
        assert all(f"`{f}`" in row for f in event.fields) and event.meaning in row
