"""Issue 6, bad input: every malformed tree and scenario goes through the real command-line
tools as a subprocess and must give `file:line:col: message`, exit code 2, no traceback, and
write nothing.

The corpus is the malformed trees of tests/trees/malformed/ (expectations in
test_language_corpus.py), the trees and scenarios of tests/badinput/, and two 5 MB files made
here. Every command runs in a sandbox (a copy of the corpus; HOME, TMPDIR and the working
directory inside it), all at once on a thread pool; the sandbox is listed before and after, so
any file written anywhere in it — a run directory, a Shadow config, a journal, the marker a
code payload would create — fails the test. The corpus, its expectations and the sandbox run
are in tests/unit/badinputkit.py; bad command lines and `monerosim check-shadow` on garbage
are in test_badinput_cli.py.
"""
from __future__ import annotations

import os
import subprocess

import pytest

from tests.unit.badinputkit import (CATEGORIES, GENERATED, GENERATED_DIR, HUGE, MARKER, REPO, SCENARIO_DIR,
                                    SCENARIOS, TREE_DIR, TREES, check_refusal, commands_for, corpus_files,
                                    engine, expectation, is_scenario, slug)


@pytest.mark.parametrize("case", corpus_files())
def test_corpus_file_is_refused_by_every_tool(corpus, case):
    first, text, anywhere = expectation(case)
    commands = commands_for(case)
    for label in commands:
        check_refusal(corpus.results[(case, label)], first, text, anywhere)
    written = [p for p in corpus.added if p.startswith(f"out/{slug(case)}") or p.startswith("runs")]
    assert written == [], f"{case}: written despite the error: {written}"
    assert not (corpus.root / MARKER).exists(), "a payload ran"


def test_validate_reports_every_tree_at_once(corpus):
    result = corpus.results[("*", "validate")]
    assert result.code == 2 and result.stdout == "" and "Traceback" not in result.stderr, result.show()
    for case in corpus_files():
        if is_scenario(case) or case.endswith("no-root.yaml"):
            continue
        first, text, _ = expectation(case)
        if text is None:
            assert first in result.stderr.splitlines(), f"{case}: {first!r} missing\n{result.show()}"
        else:
            assert any(line.startswith(first) and text in line for line in result.stderr.splitlines()), \
                f"{case}: {first}… {text!r} missing\n{result.show()}"


def test_nothing_was_written_anywhere(corpus):
    """Not in the working directory, HOME, TMPDIR or beside the corpus; no file changed."""
    assert (corpus.added, corpus.removed, corpus.changed) == ([], [], [])
    assert not (corpus.root / MARKER).exists()


def test_corpus_is_complete_and_covers_every_category():
    on_disk = {f"{TREE_DIR}/{p.name}" for p in (REPO / TREE_DIR).iterdir()} | \
              {f"{SCENARIO_DIR}/{p.name}" for p in (REPO / SCENARIO_DIR).iterdir()}
    expected = {f"{TREE_DIR}/{n}" for n in TREES} | {f"{SCENARIO_DIR}/{n}" for n in SCENARIOS}
    assert on_disk == expected, "every corpus file needs an expectation (and vice versa)"
    assert len(SCENARIOS) + 1 >= 15                     # + the generated huge scenario
    assert len(corpus_files()) >= 40
    everything = set(corpus_files())
    for category, files in CATEGORIES.items():
        missing = [f for f in files if f not in everything]
        assert files and not missing, f"{category}: {missing}"
        assert any(is_scenario(f) for f in files), f"{category}: no scenario file"
    generated = [f for f in corpus_files() if f.startswith(GENERATED_DIR)]
    assert generated and not (REPO / GENERATED_DIR).exists(), "huge files are made by the test, not committed"


def test_huge_files_are_refused_quickly(corpus):
    """The 5 MB files are refused before parsing (PyYAML would take ~20 s and 700 MB)."""
    for name in GENERATED:
        assert (corpus.root / GENERATED_DIR / name).stat().st_size >= HUGE
    import time
    start = time.monotonic()
    done = subprocess.run(engine("validate", f"{GENERATED_DIR}/huge-tree.yaml"), cwd=corpus.root,
                          capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    assert done.returncode == 2 and "larger than 1 MiB" in done.stderr
    assert time.monotonic() - start < 15
