"""The researcher docs stay true: docs/behaviours.md equals the generator's output, the guide's
examples are real files that validate, its plugin leaf works, and the docs' links resolve."""
import random
import re
from pathlib import Path

import pytest
from py_trees.common import Status

from behaviours.base import AgentContext
from engine.cli import main
from engine.docgen import leaf_registry, render_behaviours
from engine.clock import VirtualClock

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"
GUIDE = REPO / "tests" / "guide"
PLUGIN = "tests.guide.saver_leaves"


# ------------------------------------------------------------------ docs/behaviours.md

def test_behaviours_md_equals_tree_runner_docs(capsys):
    assert main(["docs"]) == 0
    printed = capsys.readouterr().out
    assert printed == (DOCS / "behaviours.md").read_text(encoding="utf-8"), \
        "docs/behaviours.md is stale: run `tree-runner docs -o docs/behaviours.md` (or `make docs`)"


def test_docs_writes_the_file_it_prints(tmp_path, capsys):
    out = tmp_path / "sub" / "behaviours.md"
    assert main(["docs", "-o", str(out)]) == 0
    assert capsys.readouterr().out == ""
    assert out.read_text(encoding="utf-8") == render_behaviours()


def test_every_built_in_leaf_is_documented_with_its_declarations():
    text = render_behaviours()
    registry = leaf_registry()
    assert len(registry) > 0
    for name, cls in registry.leaves():
        section = text.split(f"\n### {name}\n", 1)[1].split("\n### ", 1)[0].split("\n## ", 1)[0]
        for pname in cls.PARAMS:
            assert f"| `{pname}` |" in section, f"{name}: parameter {pname} missing"
        for call in cls.RPC:
            assert f"`{call}`" in section, f"{name}: RPC {call} missing"
        for out in cls.OUTPUTS:
            assert f"the key named by `{out}`" in section, f"{name}: output {out} missing"
        assert cls.summary() in section


def test_generator_is_deterministic_and_has_no_timestamps():
    first, second = render_behaviours(), render_behaviours(leaf_registry())
    assert first == second
    assert not re.search(r"\b20\d\d-\d\d-\d\d\b", first)
    assert str(REPO) not in first


def test_modules_come_in_the_fixed_order_then_plugins():
    text = render_behaviours(leaf_registry([PLUGIN]))
    headings = re.findall(r"^## (.+)$", text, flags=re.M)
    assert headings[:12] == ["Contents", "daemon", "p2p", "wallet", "peers", "mining", "payments", "shop",
                             "selfish", "flood", "core", PLUGIN]
    assert "### ShareOf" in text and "| `fraction` | number > 0, ≤ 1 |" in text


# ------------------------------------------------------------------ docs/guide.md

def _guide_blocks(marker: str) -> list[tuple[str, str]]:
    """(path, code) for every fenced block right after `<!-- MARKER: path -->` in the guide."""
    text = (DOCS / "guide.md").read_text(encoding="utf-8")
    pattern = rf"<!-- {marker}: (\S+) -->\n```[a-z]*\n(.*?)```\n"
    return re.findall(pattern, text, flags=re.S)


def test_guide_includes_its_example_files_verbatim():
    blocks = _guide_blocks("file")
    assert {p for p, _ in blocks} >= {"tests/guide/saver.yaml", "tests/guide/savers.yaml",
                                      "tests/guide/saver_leaves.py"}
    for path, code in blocks:
        assert code == (REPO / path).read_text(encoding="utf-8"), \
            f"docs/guide.md's copy of {path} differs from the file: paste the file again"


def test_guide_excerpts_are_parts_of_real_files():
    blocks = _guide_blocks("part of")
    assert blocks
    for path, code in blocks:
        assert code in (REPO / path).read_text(encoding="utf-8"), \
            f"docs/guide.md quotes lines that are not in {path}"


def test_guide_tree_validates(capsys):
    assert main(["validate", str(GUIDE / "saver.yaml")]) == 0
    assert "ok (21 nodes)" in capsys.readouterr().out


def test_guide_plugin_tree_needs_the_plugin(monkeypatch, capsys):
    monkeypatch.syspath_prepend(str(REPO))
    assert main(["validate", str(GUIDE / "saver-share.yaml")]) == 2
    assert "unknown node type 'ShareOf'" in capsys.readouterr().err
    assert main(["validate", str(GUIDE / "saver-share.yaml"), "--plugin", PLUGIN]) == 0


def test_guide_scenario_checks(capsys):
    from sim.cli import main as monerosim
    assert monerosim(["run", str(GUIDE / "savers.yaml"), "--check"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == ["controller", "pool", "vault", "saver-0", "saver-1",
                                                   "saver-2"]


def test_guide_renders_as_text(tmp_path):
    out = tmp_path / "saver.txt"
    assert main(["render", str(GUIDE / "saver.yaml"), "-o", str(out)]) == 0
    assert "RecordEvent  (event: saved)" in out.read_text(encoding="utf-8")


# ------------------------------------------------------------------ the guide's plugin leaf

@pytest.fixture
def ctx():
    context = AgentContext("saver-0", clock=VirtualClock(start=1000.0), rng=random.Random(1))
    yield context
    context.clear_blackboard()


def _share_of(ctx, **params):
    import importlib
    leaf = importlib.import_module(PLUGIN).ShareOf(**params)
    leaf.setup(ctx=ctx)
    return leaf


def test_share_of_writes_a_fraction_in_xmr(ctx, monkeypatch):
    monkeypatch.syspath_prepend(str(REPO))
    ctx.set("balance", {"balance": 9 * 10 ** 12, "unlocked": 8 * 10 ** 12})
    leaf = _share_of(ctx, of="balance.unlocked", fraction=0.25, output="share")
    leaf.tick_once()
    assert leaf.status == Status.SUCCESS and ctx.get("share") == 2.0


def test_share_of_fails_below_at_least_and_on_a_missing_key(ctx, monkeypatch):
    monkeypatch.syspath_prepend(str(REPO))
    ctx.set("balance", {"unlocked": 10 ** 10})                       # 0.01 XMR
    leaf = _share_of(ctx, of="balance.unlocked", fraction=0.5, output="share")
    leaf.tick_once()
    assert leaf.status == Status.FAILURE
    ctx.clear_blackboard()
    leaf = _share_of(ctx, of="balance.unlocked", fraction=0.5)
    leaf.tick_once()
    assert leaf.status == Status.FAILURE
    assert ctx.journal.records[-1]["event"] == "leaf_failed"


# ------------------------------------------------------------------ links

@pytest.mark.parametrize("name", ["guide.md", "behaviours.md", "shadow.md"])
def test_relative_links_resolve(name):
    text = (DOCS / name).read_text(encoding="utf-8")
    for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
        if "://" in target:
            continue
        assert (DOCS / target).exists(), f"docs/{name} links to {target}, which does not exist"

