"""The floors and rooms of docs/architecture.md: every import runs downwards, no module or function
outgrows its size line. Imports inside functions count the same as those at the top.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

# Floors, lowest first: a module may import its own floor's package and any floor below.
FLOORS = [("lang",), ("ipc", "rpc_client"), ("behaviours",), ("engine",), ("sim",), ("bench",)]
# sim's rooms, lowest first: a room may import itself, `sim` (its package) and the rooms below.
ROOMS = [("sim.monero", "sim.scenario"), ("sim.report", "sim.network"), ("sim.local", "sim.shadow", "sim.compare"),
         ("sim.sweep",), ("sim.cli",)]
PACKAGES = [p for floor in FLOORS for p in floor]
MODULE_LINES, FUNCTION_LINES = 400, 60


def _rank(name: str, levels: list[tuple[str, ...]]) -> tuple[int, str] | None:
    for rank, level in enumerate(levels):
        for part in level:
            if name == part or name.startswith(part + "."):
                return rank, part
    return None


def imports(source: str, module: str, is_package: bool = False) -> list[tuple[int, str]]:
    """(line, absolute module name) of every project import in `source`."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")[: len(module.split(".")) - node.level + is_package]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            found += [(node.lineno, name)]
            found += [(node.lineno, f"{name}.{a.name}") for a in node.names]   # from sim import cli
    return [(line, name) for line, name in found if name.split(".")[0] in PACKAGES]


def against_the_arrows(module: str, imported: str) -> str | None:
    """Why `module` may not import `imported`, or None when the arrow points down."""
    here, there = _rank(module, FLOORS), _rank(imported, FLOORS)
    if here is None or there is None:
        return None
    if there[0] > here[0] or (there[0] == here[0] and there[1] != here[1]):
        return f"floor {here[1]} imports {there[1]}"
    room, other = _rank(module, ROOMS), _rank(imported, ROOMS)
    if room is None or other is None:
        return None
    if other[0] > room[0] or (other[0] == room[0] and other[1] != room[1]):
        return f"room {room[1]} imports {other[1]}"
    return None


def _production_modules():
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            rel = path.relative_to(REPO).with_suffix("")
            parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
            yield path, ".".join(parts), rel.name == "__init__"


def test_every_import_runs_down_the_floors_and_rooms():
    wrong = []
    for path, module, is_package in _production_modules():
        for line, name in imports(path.read_text(encoding="utf-8"), module, is_package):
            why = against_the_arrows(module, name)
            if why:
                wrong.append(f"{path.relative_to(REPO)}:{line}: {why} ({name})")
    assert wrong == []


@pytest.mark.parametrize("module, source, why", [
    ("lang.values", "from engine.spec import Spec", "floor lang imports engine"),
    ("behaviours.core", "import sim.cli", "floor behaviours imports sim"),
    ("ipc.journal", "from rpc_client import DaemonClient", "floor ipc imports rpc_client"),
    ("engine.runner", "def f():\n    from sim.report import summary", "floor engine imports sim"),
    ("sim.report.summary", "from sim.local.launcher import Launcher", "room sim.report imports sim.local"),
    ("sim.local.agents", "from ..shadow import run", "room sim.local imports sim.shadow"),
    ("sim.scenario.load", "from sim import cli", "room sim.scenario imports sim.cli"),
])
def test_an_upward_import_is_found(module, source, why):
    found = [against_the_arrows(module, name) for _, name in imports(source, module)]
    assert why in found


@pytest.mark.parametrize("module, source", [
    ("engine.runner", "from behaviours.base import Leaf\nfrom lang.values import parse_duration"),
    ("sim.local.launcher", "from sim.report.summary import Tally\nfrom sim import REPO_ROOT"),
    ("sim.cli", "from sim.shadow.run import run_under_shadow\nimport engine"),
    ("sim.shadow.generate", "from .check import check_config\nfrom sim.scenario.gml import parse_gml"),
])
def test_a_downward_import_passes(module, source):
    assert [against_the_arrows(module, name) for _, name in imports(source, module)] == \
        [None] * len(imports(source, module))


def test_no_module_or_function_past_its_size_line():
    over = []
    for path, _, _ in _production_modules():
        text = path.read_text(encoding="utf-8")
        rel = path.relative_to(REPO)
        if len(text.splitlines()) > MODULE_LINES:
            over.append(f"{rel}: {len(text.splitlines())} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > FUNCTION_LINES:
                    over.append(f"{rel}:{node.lineno}: {node.name} {length} lines")
    assert over == []


def test_every_project_error_sits_under_the_one_root():
    import importlib
    import inspect

    from lang.errors import MonerosimError

    loose = []
    for path, module, _ in _production_modules():
        if module.startswith("bench") or module.endswith("__main__"):
            continue
        for name, cls in vars(importlib.import_module(module)).items():
            if inspect.isclass(cls) and issubclass(cls, BaseException) and cls.__module__ == module \
                    and not name.startswith("_") and not issubclass(cls, MonerosimError):
                loose.append(f"{module}.{name}")
    assert loose == []
