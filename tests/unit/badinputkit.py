"""Helpers of the bad-input tests (test_badinput_corpus.py, test_badinput_cli.py): the corpus
and what each tool must say about each file, the bad command lines, and `run_corpus`, which
runs every command once in a sandbox (the session fixture `corpus` in tests/unit/conftest.py).

The corpus is the malformed trees of tests/trees/malformed/ (expectations in
test_language_corpus.py), the trees and scenarios of tests/badinput/, and two 5 MB files made
here. Every command runs in a sandbox (a copy of the corpus; HOME, TMPDIR and the working
directory inside it), all at once on a thread pool; the sandbox is listed before and after, so
any file written anywhere in it shows in `Corpus.added`, `removed` or `changed`.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from tests.unit.test_language_corpus import EXPECTED as MALFORMED_TREES

REPO = Path(__file__).resolve().parents[2]
MALFORMED = "tests/trees/malformed"
TREE_DIR = "tests/badinput/trees"
SCENARIO_DIR = "tests/badinput/scenarios"
GENERATED_DIR = "tests/badinput/generated"       # only in the sandbox
MARKER = "pwned-marker"                          # what every code payload tries to create
HUGE = 5 * 10 ** 6
PASSWORD = "s3cr3t-Pa55"

# corpus file -> (file the first problem is reported in, None: the file itself; line; col;
#                 text in that first line; text that must appear in some line of stderr or None)
TREES = {
    "png-image.yaml": (None, 1, 1, "not UTF-8 text (byte 0x89)", None),
    "utf16.yaml": (None, 1, 1, "not UTF-8 text (byte 0xff)", None),
    "control-character.yaml": (None, 3, 28, "character U+0007 is not allowed in YAML", None),
    "comments-only.yaml": (None, 1, 1, "the file is empty", None),
    "null-document.yaml": (None, 1, 1, "a tree file is a mapping with root:", None),
    "python-name-tag.yaml": (None, 4, 3, "root: YAML tags are not allowed on keys", None),
    "python-object-new.yaml": (None, 4, 10, "YAML tags are not allowed (!!python/object/new:subprocess.Popen)",
                               None),
    "python-tag-verbose.yaml": (None, 6, 17, "YAML tags are not allowed (!!python/object/apply:os.system)", None),
    "local-tag.yaml": (None, 4, 20, "root.Wait.duration: YAML tags are not allowed (!shell)", None),
    "code-reference.yaml": (None, 6, 20, "bad parameter reference ${__import__('os')", None),
    "code-default.yaml": (None, 4, 10, "params.every: a parameter default cannot use ${...}", None),
    "alias-bomb.yaml": (None, 4, 40, "more than 200000 values (alias bomb?)", None),
    "deep-nesting.yaml": (None, 4, 139, "nested deeper than 100 levels", None),
    "recursive-alias.yaml": (None, 3, 7, "root.Sequence.children[0]: recursive alias", None),
    "import-device.yaml": ("/dev/zero", 1, 1, "not a regular file", None),
    "import-directory.yaml": ("tests/badinput/helpers", 1, 1, "is a directory, not a tree file", None),
    "unitless-duration.yaml": (None, 4, 20, "bad duration '90': write a number with a unit", None),
    "spaced-unit.yaml": (None, 4, 20, "bad duration '5 m' (write 5m)", None),
    "negative-param-duration.yaml": (None, 6, 20, "duration must not be negative, got '-30s'", None),
    "wrong-type-list.yaml": (None, 6, 7, "children must be a non-empty list, got a mapping", None),
    "unknown-node-lowercase.yaml": (None, 4, 3, "unknown node type 'wait' (did you mean 'Wait'?)", None),
    "self-import.yaml": (None, 4, 7, "imports.me: import cycle: tests/badinput/trees/self-import.yaml -> "
                                     "tests/badinput/trees/self-import.yaml", None),
}

SCENARIOS = {
    "syntax-error.yaml": (None, 7, 1, "YAML syntax error: expected ',' or '}'", None),
    "duplicate-key.yaml": (None, 5, 1, "duration: duplicate key 'duration' (first at line 4)", None),
    "duplicate-group-name.yaml": (None, 7, 12, "agent id 'user' is also an agent of group 'user' (line 6)", None),
    "wrong-type-count.yaml": (None, 6, 51, "groups[0].count: expected a whole number, got the string '3'", None),
    "wrong-type-groups.yaml": (None, 6, 3, "groups: expected a list, got a mapping", None),
    "unknown-top-key.yaml": (None, 2, 1, "missing required key 'duration'",
                             "unknown key 'duraton' (did you mean 'duration'?)"),
    "unknown-group-key.yaml": (None, 6, 5, "missing required key 'tree'",
                               "unknown key 'trees' (did you mean 'tree'?)"),
    "unknown-param.yaml": (None, 8, 14, "groups[0].params.evry: the tree has no parameter 'evry' "
                                        "(did you mean 'every'?)", None),
    "unresolved-param.yaml": ("tests/badinput/helpers/unresolved.yaml", 6, 20,
                              "unknown parameter ${evry} (did you mean 'every'?)", None),
    "param-reference.yaml": (None, 4, 11, "duration: bad duration '${run_length}'", None),
    "code-in-param.yaml": ("tests/badinput/helpers/ok.yaml", 17, 36,
                           "bad duration \"${__import__('os').system('touch pwned-marker')}\"", None),
    "import-cycle.yaml": ("tests/badinput/helpers/cycle-b.yaml", 3, 6,
                          "import cycle: tests/badinput/helpers/cycle-a.yaml -> tests/badinput/helpers/cycle-b.yaml"
                          " -> tests/badinput/helpers/cycle-a.yaml", None),
    "negative-duration.yaml": (None, 4, 11, "duration: duration must not be negative, got '-5m'", None),
    "negative-start.yaml": (None, 6, 51, "groups[0].start: duration must not be negative, got '-10s'", None),
    "unitless-duration.yaml": (None, 4, 11, "duration: bad duration '20': write a number with a unit", None),
    "wordy-duration.yaml": (None, 5, 8, "drain: bad duration '2 minutes' (write 2m)", None),
    "zero-duration.yaml": (None, 4, 11, "duration: must be above 0", None),
    "empty.yaml": (None, 1, 1, "the file is empty", None),
    "comments-only.yaml": (None, 1, 1, "the file is empty", None),
    "binary.yaml": (None, 1, 2, "not UTF-8 text (byte 0x8b)", None),
    "nul-character.yaml": (None, 3, 10, "character U+0000 is not allowed in YAML", None),
    "python-tag.yaml": (None, 4, 7, "seed: YAML tags are not allowed (!!python/object/apply:os.system)", None),
    "python-tag-params.yaml": (None, 9, 14, "YAML tags are not allowed (!!python/object/new:subprocess.Popen)",
                               None),
    "alias-bomb.yaml": (None, 10, 12, "more than 200000 values (alias bomb?)", None),
    "deep-nesting.yaml": (None, 9, 111, "nested deeper than 100 levels", None),
    "agent-id-dotdot.yaml": (None, 6, 12, "groups[0].name: the string '../../outside' is not allowed", None),
    "agent-id-dots.yaml": (None, 6, 12, "groups[0].name: the string '..' is not allowed", None),
    "run-name-dotdot.yaml": (None, 3, 7, "name: the string '../../outside' is not allowed", None),
    "missing-tree.yaml": (None, 6, 24, "groups[0].tree: no such tree file:", None),
    "tree-is-device.yaml": (None, 6, 24, "groups[0].tree: no such tree file: /dev/zero", None),
    "gml-device.yaml": (None, 5, 28, "network.file: cannot read /dev/zero: not a regular file", None),
    "yes-is-not-true.yaml": (None, 6, 52, "groups[0].wallet: expected true or false, got the string 'yes'", None),
    "version-two.yaml": (None, 1, 10, "version: must be 1, got the number 2", None),
    "not-a-mapping.yaml": (None, 2, 1, "expected a mapping, got a list", None),
    "two-documents.yaml": (None, 6, 1, "only one YAML document per file", None),
    "tab-indentation.yaml": (None, 6, 1, "tab characters cannot indent YAML", None),
    "wallet-login-colon.yaml": (None, 5, 22, "wallet_login.user: the string 'sim:admin' is not allowed", None),
    "wiring-arg.yaml": (None, 5, 16, "monerod_args[0]: --data-dir is set by monerosim", None),
    "missing-plugin.yaml": (None, 6, 53, "groups[0].plugins: cannot import plugin module 'no_such_monerosim_plugin'",
                            None),
    "plugin-path.yaml": (None, 6, 54, "groups[0].plugins[0]: the string '../../evil.py' is not allowed", None),
    "count-zero.yaml": (None, 5, 51, "groups[0].count: must be at least 1", None),
    "count-huge.yaml": (None, 6, 51, "groups[0].count: must be at most 100000", None),
    "negative-seed.yaml": (None, 3, 7, "seed: must be at least 0, got the number -1", None),
    "zero-time-scale.yaml": (None, 5, 13, "time_scale: must be above 0, got the number 0", None),
    "no-groups.yaml": (None, 4, 9, "groups: must not be empty", None),
}

# made in the sandbox by `_generate` (5 MB each): refused before they are parsed
GENERATED = {
    "huge-tree.yaml": (None, 1, 1, "file is larger than 1 MiB", None),
    "huge-scenario.yaml": (None, 1, 1, "file is larger than 1 MiB", None),
}

# `monerosim check-shadow` on garbage: file -> (line, col, text in the first line)
CHECK_SHADOW = {
    f"{SCENARIO_DIR}/empty.yaml": (1, 1, "yaml: the file is empty"),
    f"{SCENARIO_DIR}/binary.yaml": (1, 1, "yaml: cannot read"),
    f"{SCENARIO_DIR}/nul-character.yaml": (1, 1, "control characters are not allowed"),
    f"{SCENARIO_DIR}/python-tag.yaml": (4, 7, "yaml: YAML tags are not supported"),
    f"{SCENARIO_DIR}/syntax-error.yaml": (7, 1, "yaml: YAML syntax error"),
    f"{SCENARIO_DIR}/two-documents.yaml": (6, 1, "yaml: YAML syntax error"),
    f"{SCENARIO_DIR}/tab-indentation.yaml": (6, 1, "yaml: YAML syntax error"),
    f"{SCENARIO_DIR}/duplicate-key.yaml": (5, 1, "yaml: duplicate key 'duration'"),
    f"{TREE_DIR}/python-tag-verbose.yaml": (6, 17, "yaml: YAML tags are not supported"),
    "/dev/zero": (1, 1, "yaml: cannot read: not a regular file"),
}

# the categories issue 6 lists -> corpus files that cover them (trees and scenarios)
CATEGORIES = {
    "syntax errors": [f"{MALFORMED}/unclosed-bracket.yaml", f"{MALFORMED}/tab-indentation.yaml",
                      f"{SCENARIO_DIR}/syntax-error.yaml", f"{SCENARIO_DIR}/tab-indentation.yaml",
                      f"{SCENARIO_DIR}/two-documents.yaml"],
    "duplicate keys": [f"{MALFORMED}/duplicate-key.yaml", f"{SCENARIO_DIR}/duplicate-key.yaml",
                       f"{SCENARIO_DIR}/duplicate-group-name.yaml"],
    "wrong types": [f"{MALFORMED}/quoted-number.yaml", f"{TREE_DIR}/wrong-type-list.yaml",
                    f"{SCENARIO_DIR}/wrong-type-count.yaml", f"{SCENARIO_DIR}/wrong-type-groups.yaml",
                    f"{SCENARIO_DIR}/yes-is-not-true.yaml"],
    "unknown nodes and parameters": [f"{MALFORMED}/unknown-node-type.yaml", f"{MALFORMED}/unknown-parameter.yaml",
                                     f"{TREE_DIR}/unknown-node-lowercase.yaml", f"{SCENARIO_DIR}/unknown-param.yaml",
                                     f"{SCENARIO_DIR}/unknown-top-key.yaml", f"{SCENARIO_DIR}/unknown-group-key.yaml"],
    "unresolved ${p}": [f"{MALFORMED}/unresolved-param.yaml", f"{SCENARIO_DIR}/unresolved-param.yaml",
                        f"{SCENARIO_DIR}/param-reference.yaml"],
    "import cycles": [f"{MALFORMED}/import-cycle.yaml", f"{TREE_DIR}/self-import.yaml",
                      f"{SCENARIO_DIR}/import-cycle.yaml"],
    "negative or unit-less durations": [f"{MALFORMED}/negative-duration.yaml", f"{TREE_DIR}/unitless-duration.yaml",
                                        f"{TREE_DIR}/spaced-unit.yaml", f"{SCENARIO_DIR}/negative-duration.yaml",
                                        f"{SCENARIO_DIR}/negative-start.yaml", f"{SCENARIO_DIR}/unitless-duration.yaml",
                                        f"{SCENARIO_DIR}/wordy-duration.yaml"],
    "empty files": [f"{MALFORMED}/empty.yaml", f"{TREE_DIR}/comments-only.yaml", f"{SCENARIO_DIR}/empty.yaml",
                    f"{SCENARIO_DIR}/comments-only.yaml"],
    "binary garbage": [f"{MALFORMED}/binary.yaml", f"{TREE_DIR}/png-image.yaml", f"{TREE_DIR}/utf16.yaml",
                       f"{SCENARIO_DIR}/binary.yaml", f"{SCENARIO_DIR}/nul-character.yaml"],
    "huge files": [f"{GENERATED_DIR}/huge-tree.yaml", f"{GENERATED_DIR}/huge-scenario.yaml",
                   f"{TREE_DIR}/alias-bomb.yaml", f"{SCENARIO_DIR}/alias-bomb.yaml",
                   f"{TREE_DIR}/deep-nesting.yaml", f"{SCENARIO_DIR}/count-huge.yaml",
                   f"{TREE_DIR}/import-device.yaml", f"{SCENARIO_DIR}/gml-device.yaml"],
    "object-constructing YAML tags": [f"{MALFORMED}/python-tag.yaml", f"{TREE_DIR}/python-object-new.yaml",
                                      f"{TREE_DIR}/python-tag-verbose.yaml", f"{TREE_DIR}/python-name-tag.yaml",
                                      f"{SCENARIO_DIR}/python-tag.yaml", f"{SCENARIO_DIR}/python-tag-params.yaml"],
    "agent ids with ../": [f"{SCENARIO_DIR}/agent-id-dotdot.yaml", f"{SCENARIO_DIR}/agent-id-dots.yaml",
                           f"{SCENARIO_DIR}/run-name-dotdot.yaml"],      # and --agent ../x in CLI_CASES
}

PY = sys.executable
OK_TREE = "tests/badinput/helpers/ok.yaml"
OK_SCENARIO = "tests/sim_fixtures/scenarios/tiny.yaml"


def engine(*args: str) -> list[str]:
    return [PY, "-m", "engine.cli", *args]


def monerosim(*args: str) -> list[str]:
    return [PY, "-m", "sim.cli", *args]


# A bad command-line argument has no file: one clear line. id -> (argv, extra env, text in the line)
CLI_CASES = {
    "agent-dotdot": (engine("run", OK_TREE, "--agent", "../x", "--journal", "out/agent-dotdot"), {},
                     "--agent: agent id '../x': path separators '/' and '\\' are not allowed"),
    "agent-dots": (engine("run", OK_TREE, "--agent", "..", "--journal", "out/agent-dots"), {},
                   "--agent: agent id '..': must start with a letter or digit"),
    "agent-env-dotdot": (engine("run", OK_TREE, "--journal", "out/agent-env-dotdot"),
                         {"MONEROSIM_AGENT": "../../etc"}, "agent id '../../etc': path separators"),
    "agent-uppercase": (engine("run", OK_TREE, "--agent", "Alice", "--journal", "out/agent-uppercase"), {},
                        "agent id 'Alice': only lowercase"),
    "agent-missing": (engine("run", OK_TREE, "--agent", "", "--journal", "out/agent-missing"), {},
                      "--agent ID is required"),
    "param-python-tag": (engine("run", OK_TREE, "--agent", "a", "--journal", "out/param-python-tag", "--param",
                                f'label=!!python/object/apply:os.system ["touch {MARKER}"]'), {},
                         "--param label: YAML tags are not allowed (!!python/object/apply:os.system)"),
    "params-env-not-json": (engine("run", OK_TREE, "--agent", "a", "--journal", "out/params-env-not-json"),
                            {"MONEROSIM_PARAMS": f'{{"label": !!python/object/apply:os.system ["touch {MARKER}"]}}'},
                            "MONEROSIM_PARAMS: not a JSON object"),
    "params-env-list": (engine("run", OK_TREE, "--agent", "a", "--journal", "out/params-env-list"),
                        {"MONEROSIM_PARAMS": "[1]"}, "MONEROSIM_PARAMS: expected a JSON object"),
    "param-no-name": (engine("run", OK_TREE, "--agent", "a", "--journal", "out/param-no-name", "--param", "=1"), {},
                      "--param '=1': write NAME=VALUE"),
    "rpc-timeout-negative": (engine("run", OK_TREE, "--agent", "a", "--journal", "out/rpc-timeout-negative",
                                    "--rpc-timeout=-5s"), {}, "--rpc-timeout: duration must not be negative"),
    "idle-wordy": (engine("run", OK_TREE, "--agent", "a", "--journal", "out/idle-wordy", "--idle", "5 minutes"), {},
                   "--idle: bad duration '5 minutes' (write 5m)"),
    "stop-after-unit": (engine("run", OK_TREE, "--agent", "a", "--journal", "out/stop-after-unit",
                               "--stop-after", "10 parsecs"), {}, "--stop-after: bad duration '10 parsecs'"),
    "time-scale-zero": (engine("run", OK_TREE, "--agent", "a", "--journal", "out/time-scale-zero",
                               "--time-scale", "0"), {}, "--time-scale: must be above 0"),
    "wallet-login-no-colon": (engine("run", OK_TREE, "--agent", "a", "--journal", "out/wallet-login-no-colon"),
                              {"MONEROSIM_WALLET_LOGIN": PASSWORD}, "write USER:PASSWORD"),
    "plugin-path": (engine("run", OK_TREE, "--agent", "a", "--journal", "out/plugin-path", "--plugin",
                           "../../evil.py"), {}, "cannot import plugin module '../../evil.py'"),
    "log-level": (engine("run", OK_TREE, "--agent", "a", "--journal", "out/log-level", "--log-level", "verbose"), {},
                  "--log-level verbose: use debug, info, warning or error"),
    "run-time-scale-zero": (monerosim("run", OK_SCENARIO, "--out", "out/run-time-scale-zero", "--time-scale", "0"),
                            {}, "monerosim: --time-scale 0: expected a number above 0"),
    "run-duration-negative": (monerosim("run", OK_SCENARIO, "--out", "out/run-duration-negative",
                                        "--duration=-5m"), {}, "--duration -5m: duration must not be negative"),
    "run-duration-wordy": (monerosim("run", OK_SCENARIO, "--out", "out/run-duration-wordy", "--duration",
                                     "5 minutes"), {}, "bad duration '5 minutes' (write 5m)"),
    "run-out-is-a-file": (monerosim("run", OK_SCENARIO, "--out", "a-file"), {},
                          "monerosim: a-file: run directory is not empty"),
    "generate-relative-python": (monerosim("generate", OK_SCENARIO, "-o", "out/generate-relative-python",
                                           "--python", "python3"), {}, "--python python3: give an absolute path"),
    "summary-not-a-run": (monerosim("summary", "home"), {}, "home: not a run directory (no journals/)"),
    "report-not-a-run": (monerosim("report", "home", "-o", "out/report-not-a-run"), {},
                         "home: not a run directory"),
    "report-missing": (monerosim("report", "out/report-missing"), {}, "no such directory"),
}


@dataclass
class Result:
    argv: list[str]
    code: int
    stdout: str
    stderr: str

    def show(self) -> str:
        return f"$ {' '.join(self.argv[2:])}\nexit {self.code}\n--- stdout\n{self.stdout}--- stderr\n{self.stderr}"


@dataclass
class Corpus:
    root: Path
    results: dict[tuple[str, str], Result]          # (case, command label) -> result
    added: list[str]
    removed: list[str]
    changed: list[str]


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _listing(root: Path) -> dict[str, tuple]:
    out = {}
    for path in sorted(root.rglob("*")):
        st = path.lstat()
        out[str(path.relative_to(root))] = (path.is_dir(), st.st_size, st.st_mtime_ns) \
            if not path.is_dir() else (True,)
    return out


def _generate(root: Path) -> None:
    """5 MB files, made here rather than committed: a tree (a long Sequence) and a scenario."""
    gen = root / GENERATED_DIR
    gen.mkdir(parents=True)
    lines, size, i = ["version: 1", "root:", "  Sequence:", "    children:"], 0, 0
    while size < HUGE:
        line = f"      - Wait: {{duration: {i % 50 + 1}s}}"
        lines.append(line)
        size, i = size + len(line) + 1, i + 1
    (gen / "huge-tree.yaml").write_text("\n".join(lines) + "\n")
    head = ("version: 1\nname: huge\nduration: 5m\ngroups:\n  - name: user\n    tree: ../helpers/ok.yaml\n"
            "    params:\n      label: [")
    (gen / "huge-scenario.yaml").write_text(head + ", ".join(["lol"] * (HUGE // 5)) + "]\n")


def corpus_files() -> list[str]:
    """Every corpus file, as a path relative to the repository (and the sandbox)."""
    return ([f"{MALFORMED}/{n}" for n in sorted(MALFORMED_TREES)] + [f"{TREE_DIR}/{n}" for n in sorted(TREES)]
            + [f"{SCENARIO_DIR}/{n}" for n in sorted(SCENARIOS)] + [f"{GENERATED_DIR}/{n}" for n in sorted(GENERATED)])


def is_scenario(case: str) -> bool:
    return case.startswith(SCENARIO_DIR) or case.endswith("huge-scenario.yaml")


def commands_for(case: str) -> dict[str, list[str]]:
    out = f"out/{slug(case)}"
    if is_scenario(case):
        return {"run --check": monerosim("run", case, "--check"),
                "run": monerosim("run", case, "--quiet"),                   # default run dir: runs/ in the cwd
                "generate": monerosim("generate", case, "-o", f"{out}/shadow")}
    return {"run": engine("run", case, "--agent", "probe", "--journal", f"{out}/journals",
                          "--shared", f"{out}/shared")}


def run_corpus(root: Path) -> Corpus:
    """Copy the corpus into the sandbox `root`, run every command on it at once, and list what
    they wrote (the `corpus` fixture of tests/unit/conftest.py)."""
    for sub in (MALFORMED, "tests/badinput", "tests/sim_fixtures/scenarios", "tests/sim_fixtures/trees"):
        shutil.copytree(REPO / sub, root / sub, ignore=shutil.ignore_patterns("generated"))
    _generate(root)
    for sub in ("home", "tmp"):
        (root / sub).mkdir()
    (root / "a-file").write_text("not a directory\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONEROSIM_")}
    env.update(HOME=str(root / "home"), TMPDIR=str(root / "tmp"), PYTHONPATH=str(REPO),
               PYTHONDONTWRITEBYTECODE="1")
    jobs: dict[tuple[str, str], tuple[list[str], dict]] = {}
    for case in corpus_files():
        for label, argv in commands_for(case).items():
            jobs[(case, label)] = (argv, env)
    validate = [c for c in corpus_files() if not is_scenario(c) and not c.endswith("no-root.yaml")]
    jobs[("*", "validate")] = (engine("validate", *validate), env)
    for path in CHECK_SHADOW:
        jobs[(path, "check-shadow")] = (monerosim("check-shadow", path), env)
    for name, (argv, extra, _) in CLI_CASES.items():
        jobs[(name, "cli")] = (argv, {**env, **extra})
    before = _listing(root)

    def run(item):
        key, (argv, job_env) = item
        done = subprocess.run(argv, cwd=root, env=job_env, capture_output=True, text=True, errors="replace",
                              timeout=120, stdin=subprocess.DEVNULL)
        return key, Result(argv, done.returncode, done.stdout, done.stderr)

    with ThreadPoolExecutor(max_workers=max(4, 2 * (os.cpu_count() or 2))) as pool:
        results = dict(pool.map(run, jobs.items()))
    after = _listing(root)
    return Corpus(root, results, sorted(set(after) - set(before)), sorted(set(before) - set(after)),
                  sorted(k for k in set(before) & set(after) if before[k] != after[k]))


def expectation(case: str) -> tuple[str, str | None, str | None]:
    """(expected first line or its prefix, text in the first line, text anywhere) for `case`."""
    name = case.rsplit("/", 1)[1]
    if case.startswith(MALFORMED):
        line, col, path, message = MALFORMED_TREES[name]
        where = "tests/trees/malformed/helpers/cycle-b.yaml" if name == "import-cycle.yaml" else case
        return f"{where}:{line}:{col}: " + (f"{path}: " if path else "") + message, None, None
    table = TREES if case.startswith(TREE_DIR) else SCENARIOS if case.startswith(SCENARIO_DIR) else GENERATED
    file, line, col, text, anywhere = table[name]
    return f"{file or case}:{line}:{col}: ", text, anywhere


def check_refusal(result: Result, first: str, text: str | None, anywhere: str | None) -> None:
    shown = result.show()
    assert result.code == 2, shown
    assert "Traceback" not in result.stdout + result.stderr, shown
    assert result.stdout == "", shown
    lines = result.stderr.splitlines()
    assert lines, shown
    if text is None:
        assert lines[0] == first, shown
    else:
        assert lines[0].startswith(first) and re.match(r"^.+:\d+:\d+: ", lines[0]), shown
        assert text in lines[0], shown
    if anywhere is not None:
        assert any(anywhere in line for line in lines), shown

