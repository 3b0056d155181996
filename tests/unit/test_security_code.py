"""Issue 6, security: no code is ever executed from a tree or scenario.

- Object-constructing YAML tags and `${...}` that looks like code are refused by every loader
  (trees, scenarios, --param, MONEROSIM_PARAMS, Shadow configs, run journals); the marker the
  payload would create never appears. A control shows the payload is live: PyYAML's unsafe
  loader does create it.
- The source has no eval/exec, no unsafe YAML loader, no pickle; agents never start processes.
- Plugins load only through the `monerosim.behaviours` entry points, `--plugin` /
  MONEROSIM_PLUGINS, or a scenario's `plugins:` — never because a tree file names a module.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest
import yaml

from lang.errors import LoadError

REPO = Path(__file__).resolve().parents[2]
SOURCE_DIRS = ("engine", "behaviours", "sim", "ipc", "rpc_client")
AGENT_DIRS = ("engine", "behaviours", "ipc", "rpc_client")      # what a tree-runner process runs


def payload(marker: Path) -> str:
    return f'!!python/object/apply:os.system ["touch {marker}"]'


def code(marker: Path) -> str:
    return f"${{__import__('os').system('touch {marker}')}}"


def sources(*dirs: str) -> list[Path]:
    return sorted(p for d in dirs for p in (REPO / d).rglob("*.py"))


def cli(*argv: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    env = dict(env or {})
    extra_path = env.pop("PYTHONPATH", None)
    full = {k: v for k, v in os.environ.items() if not k.startswith("MONEROSIM_")}
    full["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), extra_path) if p)
    full.update(env)
    return subprocess.run([sys.executable, *argv], cwd=cwd, env=full, capture_output=True, text=True,
                          timeout=60, stdin=subprocess.DEVNULL)


# ---------------------------------------------------------------- (a) tags and ${...} never run

def test_the_payload_is_live_under_an_unsafe_loader(tmp_path):
    """Control: the payload the other tests feed the loaders does run under yaml.unsafe_load."""
    marker = tmp_path / "marker"
    yaml.unsafe_load(f"x: {payload(marker)}")
    assert marker.exists()


def _tree(tmp_path: Path, marker: Path, where: str) -> Path:
    texts = {
        "leaf-param": f"version: 1\nroot:\n  RecordEvent: {{event: e, fields: {{x: {payload(marker)}}}}}\n",
        "param-default": f"version: 1\nparams:\n  p: {payload(marker)}\nroot:\n  Wait: {{duration: 1s}}\n",
        "key": f"version: 1\nroot:\n  ? {payload(marker)}\n  : {{duration: 1s}}\n",
        "code-reference": f'version: 1\nparams: {{p: 1s}}\nroot:\n  Wait: {{duration: "{code(marker)}"}}\n',
        "code-default": f'version: 1\nparams:\n  p: "{code(marker)}"\nroot:\n  Wait: {{duration: "${{p}}"}}\n',
        "code-unquoted": f"version: 1\nparams: {{p: 1s}}\nroot:\n  Wait:\n    duration: {code(marker)}\n",
    }
    path = tmp_path / f"{where}.yaml"
    path.write_text(texts[where])
    return path


TREE_PLACES = ("leaf-param", "param-default", "key", "code-reference", "code-default", "code-unquoted")


@pytest.mark.parametrize("where", TREE_PLACES)
def test_tree_loader_refuses_code(tmp_path, where):
    from engine import Factory
    marker = tmp_path / "marker"
    with pytest.raises(LoadError) as caught:
        Factory.for_plugins().load(_tree(tmp_path, marker, where))
    assert re.match(r"^.+:\d+:\d+: ", str(caught.value))
    assert not marker.exists()


@pytest.mark.parametrize("where", ["leaf-param", "code-reference", "code-default"])
def test_tree_runner_refuses_code(tmp_path, where):
    marker = tmp_path / "marker"
    tree = _tree(tmp_path, marker, where)
    for command in (["run", str(tree), "--agent", "a", "--journal", str(tmp_path / "j")], ["validate", str(tree)]):
        done = cli("-m", "engine.cli", *command, cwd=tmp_path)
        assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
        assert done.stderr.startswith(f"{tree.name}:"), done.stderr      # shown relative to the cwd
    assert not marker.exists() and not (tmp_path / "j").exists()


def test_parameters_from_the_command_line_and_environment_refuse_code(tmp_path):
    from engine.options import params as _params
    from lang.errors import UsageError
    marker = tmp_path / "marker"
    with pytest.raises(UsageError):
        _params([f"p={payload(marker)}"])
    # text that looks like code stays text
    assert _params([f"p={code(marker)}"]) == {"p": code(marker)}
    with pytest.raises(UsageError):
        _params([], env_json=f'{{"p": {payload(marker)}}}')
    assert _params([], env_json=json.dumps({"p": code(marker)})) == {"p": code(marker)}
    tree = tmp_path / "t.yaml"
    tree.write_text('version: 1\nparams: {p: x}\nroot:\n  RecordEvent: {event: e, fields: {v: "${p}"}}\n')
    done = cli("-m", "engine.cli", "run", str(tree), "--agent", "a", "--virtual", "--stop-after", "1s",
               "--journal", str(tmp_path / "j"), "--param", f"p={code(marker)}", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    journal = (tmp_path / "j" / "a.jsonl").read_text()
    assert json.dumps(code(marker))[1:-1] in journal          # journaled as the text it is
    assert not marker.exists()


@pytest.mark.parametrize("where", ["seed", "params", "key", "code"])
def test_scenario_loader_refuses_code(tmp_path, where):
    from sim.scenario.load import load_scenario
    marker = tmp_path / "marker"
    (tmp_path / "t.yaml").write_text("version: 1\nparams: {every: 5s}\nroot:\n  Wait: {duration: \"${every}\"}\n")
    lines = {"seed": f"seed: {payload(marker)}\n",
             "params": "", "key": f"? {payload(marker)}\n: 1\n", "code": ""}
    params = {"params": f"    params: {{every: {payload(marker)}}}\n",
              "code": f'    params: {{every: "{code(marker)}"}}\n'}.get(where, "")
    text = (f"version: 1\nname: s\nduration: 5m\n{lines[where]}groups:\n  - name: g\n    tree: t.yaml\n"
            f"    wallet: false\n{params}")
    (tmp_path / "s.yaml").write_text(text)
    with pytest.raises(LoadError) as caught:
        load_scenario(tmp_path / "s.yaml", check_trees=True)
    assert re.match(r"^.+:\d+:\d+: ", str(caught.value))
    assert not marker.exists()


def test_shadow_config_checker_refuses_tags(tmp_path):
    from sim.shadow.check import check_text
    marker = tmp_path / "marker"
    problems, _ = check_text(f"general: {payload(marker)}\n", "shadow.yaml", tmp_path)
    assert problems and "tags are not supported" in str(problems[0])
    assert not marker.exists()


def test_journal_lines_are_data(tmp_path):
    """A journal line holding YAML/pickle-looking text is read as JSON text, nothing more."""
    import ipc
    marker = tmp_path / "marker"
    path = tmp_path / "a.jsonl"
    path.write_text(json.dumps({"t": 1, "event": "x", "v": payload(marker)}) + "\n" + payload(marker) + "\n")
    records = ipc.read_journal(path)
    assert records[0]["v"] == payload(marker) and not marker.exists()


# ---------------------------------------------------------------- (a) the source

_EVAL = re.compile(r"(?<![\w.])(eval|exec|compile|execfile)\s*\(")
_UNSAFE_YAML = re.compile(r"\byaml\.(load|load_all|unsafe_load|unsafe_load_all|full_load|full_load_all)\s*\("
                          r"|\byaml\.C?Loader\b|\b(C?FullLoader|C?UnsafeLoader)\b|add_(multi_)?constructor")
_PICKLE = re.compile(r"^\s*(import|from)\s+(pickle|cPickle|_pickle|marshal|shelve|dill|cloudpickle)\b", re.M)
_SPAWN = re.compile(r"^\s*(import|from)\s+(subprocess|multiprocessing|pty|concurrent\.futures\.process)\b"
                    r"|\bos\.(system|popen|fork|forkpty|posix_spawnp?|spawn\w*|exec\w*)\s*\(", re.M)
_DYNAMIC_IMPORT = re.compile(r"\bimport_module\s*\(|\b__import__\s*\(|\bentry_points\s*\(|spec_from_file_location"
                             r"|\brunpy\b|\bimp\.load_")
# the one module that may start a process in engine/: `tree-runner render` runs Graphviz dot
SPAWN_ALLOWED = {"engine/render.py": "tree-runner render runs Graphviz `dot`; an agent run never imports it"}
DYNAMIC_IMPORT_ALLOWED = {"behaviours/registry.py"}


def _code_lines(path: Path) -> str:
    """The file's text with `#` comments dropped (a comment may name what the code must not do)."""
    return "\n".join(line.split("#", 1)[0] if not line.lstrip().startswith(("'", '"')) else line
                     for line in path.read_text(encoding="utf-8").splitlines())


def test_no_eval_exec_unsafe_yaml_or_pickle_in_the_source():
    found = []
    for path in sources(*SOURCE_DIRS):
        text = _code_lines(path)
        rel = path.relative_to(REPO).as_posix()
        for pattern, what in ((_EVAL, "eval/exec"), (_UNSAFE_YAML, "unsafe YAML loading"), (_PICKLE, "pickle")):
            for match in pattern.finditer(text):
                line = text.count("\n", 0, match.start()) + 1
                found.append(f"{rel}:{line}: {what}: {match.group(0).strip()}")
    assert found == []
    assert len(sources(*SOURCE_DIRS)) > 40          # the scan saw the project


def test_the_scanners_see_what_they_look_for():
    assert _EVAL.search("x = eval(text)") and _EVAL.search("exec (code)") and not _EVAL.search("ast.literal_eval(t)")
    assert _UNSAFE_YAML.search("yaml.load(f)") and _UNSAFE_YAML.search("yaml.load(f, Loader=yaml.FullLoader)")
    assert _UNSAFE_YAML.search("yaml.unsafe_load(f)") and not _UNSAFE_YAML.search("yaml.safe_load(f)")
    assert _PICKLE.search("import pickle") and _PICKLE.search("from marshal import loads")
    assert _SPAWN.search("import subprocess") and _SPAWN.search("os.system('x')") and _SPAWN.search("os.execvp(a)")
    assert _DYNAMIC_IMPORT.search("importlib.import_module(name)") and _DYNAMIC_IMPORT.search("__import__(n)")


def test_yaml_is_only_composed_or_safe_loaded():
    """Every use of PyYAML builds nodes (compose / our Composer) or uses safe_load."""
    uses = []
    for path in sources(*SOURCE_DIRS):
        for match in re.finditer(r"\byaml\.(\w+)\s*\(", _code_lines(path)):
            uses.append((path.relative_to(REPO).as_posix(), match.group(1)))
    assert {name for _, name in uses} <= {"safe_load", "compose", "safe_dump", "dump"}, uses


def test_our_yaml_loaders_cannot_construct_objects():
    """The loaders handed to PyYAML only compose nodes: no constructor, so no tag can build
    a Python object, whatever it names."""
    import yaml.constructor

    from lang.yamlload import _Loader as TreeLoader
    from sim.shadow.configyaml import _Loader as ConfigLoader
    for loader in (TreeLoader, ConfigLoader):
        assert not issubclass(loader, (yaml.constructor.FullConstructor, yaml.constructor.UnsafeConstructor))
        assert not any("python" in tag for tag in getattr(loader, "yaml_multi_constructors", {}))
        assert not any("python" in str(tag) for tag in getattr(loader, "yaml_constructors", {}))


def test_agents_never_start_processes_in_the_source():
    found = []
    for path in sources(*AGENT_DIRS):
        rel = path.relative_to(REPO).as_posix()
        for match in _SPAWN.finditer(_code_lines(path)):
            if rel not in SPAWN_ALLOWED:
                found.append(f"{rel}: {match.group(0).strip()}")
    assert found == []


def test_only_the_registry_imports_modules_by_name():
    found = []
    for path in sources(*SOURCE_DIRS):
        rel = path.relative_to(REPO).as_posix()
        for match in _DYNAMIC_IMPORT.finditer(_code_lines(path)):
            if rel not in DYNAMIC_IMPORT_ALLOWED:
                found.append(f"{rel}: {match.group(0).strip()}")
    assert found == []


_NO_SPAWN_PRELUDE = """
import os, subprocess, sys
calls = []
def refuse(name):
    def f(*a, **k):
        calls.append(name)
        raise RuntimeError(f"agent tried {name}")
    return f
subprocess.Popen._execute_child = refuse("subprocess")
for name in ("system", "popen", "fork", "forkpty", "posix_spawn", "posix_spawnp", "execv", "execve"):
    if hasattr(os, name):
        setattr(os, name, refuse("os." + name))
from engine.cli import main
code = main(sys.argv[1:])
assert "engine.render" not in sys.modules, "an agent run imported engine.render"
print("SPAWNS", calls)
sys.exit(code)
"""


def test_an_agent_run_starts_no_process(tmp_path):
    """A whole agent run (every engine leaf kind, journal, registry) with process creation
    booby-trapped: nothing tries, and the render module (which may run dot) is not loaded."""
    tree = tmp_path / "t.yaml"
    tree.write_text("version: 1\nroot:\n  Sequence:\n    children:\n"
                    "      - RecordEvent: {event: hello}\n"
                    "      - SetValue: {key: k, value: 1}\n"
                    "      - Timeout: {after: 2s, child: {Wait: {duration: 1s}}}\n"
                    "      - Repeat: {times: 3, child: {Wait: {duration: 1s}}}\n")
    done = cli("-c", _NO_SPAWN_PRELUDE, "run", str(tree), "--agent", "a", "--virtual", "--stop-after", "1m",
               "--journal", str(tmp_path / "j"), "--shared", str(tmp_path / "shared"), cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SPAWNS []" in done.stdout
    assert '"hello"' in (tmp_path / "j" / "a.jsonl").read_text()


# ---------------------------------------------------------------- (b) plugins

PLUGIN = '''
import os, pathlib
pathlib.Path(os.environ["PLUGIN_MARKER"]).write_text(__name__)
from behaviours.base import Leaf, Status


class MarkerLeaf(Leaf):
    """Returns SUCCESS (a plugin leaf whose import leaves a marker file)."""

    def update(self):
        return Status.SUCCESS
'''


@pytest.fixture
def plugin(tmp_path):
    """A plugin module `markerplugin` on PYTHONPATH that writes PLUGIN_MARKER when imported."""
    (tmp_path / "plugins").mkdir()
    (tmp_path / "plugins" / "markerplugin.py").write_text(PLUGIN)
    marker = tmp_path / "imported"
    return marker, {"PYTHONPATH": str(tmp_path / "plugins"), "PLUGIN_MARKER": str(marker)}


TREE_NAMING_A_MODULE = {
    "top-level plugins": ("version: 1\nplugins: [markerplugin]\nroot:\n  Wait: {duration: 1s}\n",
                          "unknown top-level key 'plugins'"),
    "module as node type": ("version: 1\nroot:\n  markerplugin.MarkerLeaf: {}\n", "unknown node type"),
    "module as subtree": ("version: 1\nroot:\n  Subtree: {use: markerplugin.root}\n", "markerplugin"),
    "python file as import": ("version: 1\nimports: {m: plugins/markerplugin.py}\nroot:\n  Subtree: {use: m.root}\n",
                              "markerplugin.py"),
}


@pytest.mark.parametrize("case", sorted(TREE_NAMING_A_MODULE))
def test_a_tree_cannot_load_a_module(tmp_path, plugin, case):
    marker, env = plugin
    text, message = TREE_NAMING_A_MODULE[case]
    (tmp_path / "t.yaml").write_text(text)
    done = cli("-m", "engine.cli", "run", "t.yaml", "--agent", "a", "--virtual", "--stop-after", "1s",
               cwd=tmp_path, env=dict(env))
    assert done.returncode == 2 and message in done.stderr, done.stderr
    assert re.match(r"^[^:]+:\d+:\d+: ", done.stderr)
    assert not marker.exists()


def test_extension_keys_do_not_load_modules(tmp_path, plugin):
    """`x-` keys are free-form data: naming a module there imports nothing."""
    marker, env = plugin
    (tmp_path / "t.yaml").write_text("version: 1\nx-plugins: [markerplugin]\nx-plugin: markerplugin\n"
                                     "root:\n  Wait: {duration: 1s}\n")
    done = cli("-m", "engine.cli", "run", "t.yaml", "--agent", "a", "--virtual", "--stop-after", "5s",
               cwd=tmp_path, env=dict(env))
    assert done.returncode == 0, done.stderr
    assert not marker.exists()


@pytest.mark.parametrize("how", ["--plugin", "MONEROSIM_PLUGINS", "scenario plugins"])
def test_declared_plugins_do_load(tmp_path, plugin, how):
    """Control: the same module is imported when it is declared the supported ways."""
    marker, env = plugin
    (tmp_path / "t.yaml").write_text("version: 1\nroot:\n  MarkerLeaf: {}\n")
    if how == "--plugin":
        done = cli("-m", "engine.cli", "run", "t.yaml", "--agent", "a", "--virtual", "--plugin", "markerplugin",
                   cwd=tmp_path, env=dict(env))
    elif how == "MONEROSIM_PLUGINS":
        done = cli("-m", "engine.cli", "run", "t.yaml", "--agent", "a", "--virtual", cwd=tmp_path,
                   env={**env, "MONEROSIM_PLUGINS": "markerplugin"})
    else:
        (tmp_path / "s.yaml").write_text("version: 1\nname: s\nduration: 1m\ngroups:\n"
                                         "  - {name: g, tree: t.yaml, wallet: false, plugins: [markerplugin]}\n")
        done = cli("-m", "sim.cli", "run", "s.yaml", "--check", cwd=tmp_path, env=dict(env))
    assert done.returncode == 0, done.stderr
    assert marker.read_text() == "markerplugin"


def test_entry_point_plugins_load(tmp_path, monkeypatch, plugin):
    """The `monerosim.behaviours` entry-point group is the installed way to add leaves."""
    import importlib.metadata

    from behaviours import registry as reg
    marker, env = plugin
    monkeypatch.syspath_prepend(env["PYTHONPATH"])
    monkeypatch.setenv("PLUGIN_MARKER", str(marker))
    monkeypatch.delitem(sys.modules, "markerplugin", raising=False)
    seen = []

    def fake_entry_points(group=None, **kw):
        seen.append(group)
        return [EntryPoint("marker", "markerplugin", reg.ENTRY_POINT_GROUP)] if group == reg.ENTRY_POINT_GROUP else []

    monkeypatch.setattr(importlib.metadata, "entry_points", fake_entry_points)
    registry = reg.default_registry()
    assert "MarkerLeaf" in registry and marker.exists()
    assert seen == [reg.ENTRY_POINT_GROUP]
    monkeypatch.delitem(sys.modules, "markerplugin", raising=False)
