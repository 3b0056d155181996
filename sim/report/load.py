"""Reading a run directory: journals, registry, and the optional run.json / summary.json / scenario.yaml.

Three kinds of directory are accepted: a local run (`monerosim run`), a run under Shadow
(`monerosim run --engine shadow`: its run.json says `engine: shadow`), and the data root of a
config that `monerosim generate` wrote and `shadow` ran by hand, which holds `journals/` and
`shared/` but none of the launcher's files. Nothing here
interprets events; `sim.report.summary.Tally` and `sim.report.metrics` do.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ipc
from lang.errors import InputError

__all__ = ["Journal", "RunFiles", "NotARunDirectory", "read_journals", "read_json", "read_yaml",
           "read_run", "number"]


class NotARunDirectory(InputError):
    """The directory is missing or has no journals/."""


def number(value: Any) -> float | None:
    """`value` as a float when it is a real number (not a bool), else None."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value == value:
        return float(value)
    return None


@dataclass
class Journal:
    """One agent's journal: its complete records, corrupt lines counted, a torn tail noted."""

    agent: str
    records: list[dict]
    corrupt: int = 0       # complete lines that were not a JSON object
    torn: bool = False     # the file ends in a partial line (ignored)


@dataclass
class RunFiles:
    """Everything read from a run directory."""

    dir: Path
    journals: list[Journal]
    registry: list[dict] = field(default_factory=list)
    run: dict | None = None          # run.json (written by `monerosim run`)
    summary: dict | None = None      # summary.json (written by `monerosim run`)
    scenario: dict | None = None     # scenario.yaml copied into the run

    @property
    def kind(self) -> str:
        """local, shadow (`monerosim run --engine shadow`) or journals (nothing but the agents' files)."""
        if self.run is None:
            return "journals"
        return "shadow" if self.run.get("engine") == "shadow" else "local"


def read_journals(run_dir: str | Path) -> list[Journal]:
    """Every `journals/*.jsonl` of `run_dir`, sorted by agent id ([] when there are none)."""
    found = []
    for path in sorted(Path(run_dir, "journals").glob("*.jsonl")):
        reader = ipc.JournalReader(path)
        records = reader.read_new()
        try:
            torn = path.stat().st_size > reader.offset
        except OSError:
            torn = False
        found.append(Journal(path.stem, records, reader.skipped, torn))
    return found


def read_json(path: str | Path) -> dict | None:
    """The JSON object in `path`, or None when it is absent, unreadable or not an object."""
    try:
        value = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def read_yaml(path: str | Path) -> dict | None:
    """The YAML mapping in `path`, or None when it is absent, unreadable or not a mapping."""
    import yaml
    try:
        value = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError, yaml.YAMLError):
        return None
    return value if isinstance(value, dict) else None


def read_run(run_dir: str | Path) -> RunFiles:
    """Read `run_dir`; raise NotARunDirectory when it is missing or has no journals/."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise NotARunDirectory(f"{run_dir}: no such directory")
    if not (run_dir / "journals").is_dir():
        raise NotARunDirectory(f"{run_dir}: not a run directory (no journals/)")
    return RunFiles(dir=run_dir, journals=read_journals(run_dir),
                    registry=ipc.Registry(run_dir / "shared").all(),
                    run=read_json(run_dir / "run.json"),
                    summary=read_json(run_dir / "summary.json"),
                    scenario=read_yaml(run_dir / "scenario.yaml"))
