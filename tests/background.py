"""Whole runs paced at real time, started when the test session starts so that they go on beside
the other tests (a networked run mostly waits for its links, whatever the machine's speed).

A test module lists its runs in `EARLY_RUNS = {key: argv}` (argv: `monerosim` arguments without
--out); tests/conftest.py starts them at the session's first test and moves the module's tests
to the end of the session. The module's fixture calls `result(key)`, which starts the run then
if nothing started it (the module run alone, or with -k).
"""
from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_STARTED: dict[str, "Started"] = {}
_BASE: list[Path] = []


@dataclass
class Started:
    out: Path
    log: Path
    proc: subprocess.Popen


def set_base(base: Path) -> None:
    """Where runs go (a session temporary directory)."""
    _BASE[:] = [base]


def start(key: str, args: list[str], base: Path | None = None) -> Started:
    """Start `monerosim ARGS --out BASE/KEY/run` once (BASE: the session's, else `base`); the
    same handle afterwards."""
    if key not in _STARTED:
        where = (_BASE[0] if _BASE else base) / key
        where.mkdir(parents=True, exist_ok=True)
        log = where / "run.log"
        with open(log, "w") as out:
            proc = subprocess.Popen([sys.executable, "-m", "sim.cli", *args, "--out", str(where / "run")],
                                    cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, text=True)
        _STARTED[key] = Started(where / "run", log, proc)
    return _STARTED[key]


def result(key: str, args: list[str], base: Path, timeout: float) -> tuple[Path, int, str]:
    """(run dir, exit code, what it printed) of the run `key`, started now if it was not."""
    started = start(key, args, base)
    code = started.proc.wait(timeout)
    return started.out, code, started.log.read_text()


def stop_all() -> None:
    for started in _STARTED.values():
        if started.proc.poll() is None:
            started.proc.terminate()
            try:
                started.proc.wait(60)
            except subprocess.TimeoutExpired:
                started.proc.kill()
