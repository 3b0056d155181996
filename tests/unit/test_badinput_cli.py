"""Issue 6, bad input on the command line: a bad argument or option value of `tree-runner` or
`monerosim` gives one clear line and exit code 2, echoes no password and writes nothing;
`monerosim check-shadow` refuses garbage YAML with `file:line:col: message`. The commands run
in the bad-input sandbox with the corpus (tests/unit/badinputkit.py, fixture `corpus`).
"""
from __future__ import annotations

import pytest

from tests.unit.badinputkit import CHECK_SHADOW, CLI_CASES, PASSWORD, check_refusal


@pytest.mark.parametrize("path", sorted(CHECK_SHADOW))
def test_check_shadow_refuses_garbage(corpus, path):
    line, col, text = CHECK_SHADOW[path]
    check_refusal(corpus.results[(path, "check-shadow")], f"{path}:{line}:{col}: ", text, None)


@pytest.mark.parametrize("name", sorted(CLI_CASES))
def test_bad_command_line_gives_one_clear_line(corpus, name):
    result = corpus.results[(name, "cli")]
    shown = result.show()
    assert result.code == 2, shown
    assert "Traceback" not in result.stdout + result.stderr, shown
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and CLI_CASES[name][2] in lines[0], shown
    assert PASSWORD not in result.stdout + result.stderr, "a password was echoed"
    written = [p for p in corpus.added if p.startswith(f"out/{name}")]
    assert written == [], f"written despite the error: {written}"
