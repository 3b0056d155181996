"""A sweep's grid: seeds × the values of each swept `--param`, one run directory per point.

    monerosim sweep scenarios/small.yaml --seeds 1-10 --param user.count=[10,20] \
        --param duration=30m -o sweeps/users

A `--param` whose value is a list is swept (each item a value; a list-valued param is swept as a
list of lists: `pool.hashrate=[[60,40],[50,50]]`); any other value is set in every point. Every
point is checked as `monerosim run --seed --param` would check it before anything starts.

SWEEP/sweep.json records the grid; a second `monerosim sweep` with the same arguments and -o
resumes it, and one with other arguments is refused, so a sweep directory holds one grid.
"""
from __future__ import annotations

import hashlib
import itertools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lang.errors import UsageError
from sim.scenario.load import encode_param, load_scenario
from sim.scenario.overrides import Override, parse_override, seed_override

__all__ = ["Point", "Grid", "parse_seeds", "build_grid", "MANIFEST", "SCHEMA"]

MANIFEST = "sweep.json"
SCHEMA = 1
_SAFE = re.compile(r"[^A-Za-z0-9._=+-]+")


@dataclass(frozen=True)
class Point:
    """One run of the sweep: its seed and the swept values (key -> value, in the order given)."""

    name: str
    seed: int
    values: dict[str, Any]

    def overrides(self, fixed: list[Override]) -> list[str]:
        """`monerosim run` options for this point: --seed, the fixed params, then the swept ones."""
        out = ["--seed", str(self.seed)]
        for override in fixed:
            out += override.as_argv()
        for key, value in self.values.items():
            out += ["--param", f"{key}={encode_param(value)}"]
        return out


@dataclass
class Grid:
    scenario: Path                   # absolute
    seeds: list[int]
    swept: dict[str, list]           # key -> values
    fixed: list[Override] = field(default_factory=list)
    points: list[Point] = field(default_factory=list)
    loaded: list = field(default_factory=list)      # the Scenario of each combination of values

    def manifest(self, engine: str) -> dict:
        text = self.scenario.read_text(encoding="utf-8")
        return {"schema": SCHEMA, "scenario": str(self.scenario),
                "scenario_sha256": hashlib.sha256(text.encode()).hexdigest(), "engine": engine,
                "seeds": self.seeds, "swept": self.swept,
                "fixed": {o.key: o.value for o in self.fixed},
                "points": [{"name": p.name, "seed": p.seed, "values": p.values} for p in self.points]}


def parse_seeds(text: str) -> list[int]:
    """`1-10`, `1,2,5`, `1-3,7`: the seeds in order, each once; UsageError when bad."""
    seeds: list[int] = []
    for part in text.split(","):
        low, dash, high = part.strip().partition("-")
        if not low.isdigit() or (dash and not high.isdigit()):
            raise UsageError(f"--seeds {text}: expected whole numbers and ranges, e.g. 1-10 or 1,2,5")
        first, last = int(low), int(high) if dash else int(low)
        if last < first:
            raise UsageError(f"--seeds {text}: {part.strip()} runs backwards")
        seeds += [s for s in range(first, last + 1) if s not in seeds]
    if len(seeds) > 10_000:
        raise UsageError(f"--seeds {text}: {len(seeds)} seeds; at most 10000")
    return seeds


def build_grid(scenario: str | Path, seeds: list[int], params: list[str]) -> Grid:
    """The grid of `seeds` × the swept params, every point loaded and checked (trees included):
    LoadError or UsageError for the first bad one, before anything runs."""
    swept: dict[str, list] = {}
    fixed: list[Override] = []
    for text in params:
        override = parse_override(text)
        if isinstance(override.value, list):
            if not override.value:
                raise UsageError(f"{override.option}: an empty list sweeps nothing")
            swept[override.key] = override.value
        else:
            fixed.append(override)
    grid = Grid(Path(scenario).resolve(), seeds, swept, fixed)
    names: set[str] = set()
    for combo in itertools.product(*swept.values()):
        values = dict(zip(swept, combo))
        for seed in seeds:
            grid.points.append(Point(_name(values, seed, names), seed, values))
    for combo in itertools.product(*swept.values()):      # one load per combination of values
        values = dict(zip(swept, combo))
        given = [seed_override(str(seeds[0]))] + fixed + [
            parse_override(f"{k}={encode_param(v)}") for k, v in values.items()]
        grid.loaded.append(load_scenario(grid.scenario, check_trees=True, overrides=given))
    return grid


def _name(values: dict[str, Any], seed: int, taken: set[str]) -> str:
    """A readable directory name, `user.count=10,seed=3`, unique among `taken`."""
    parts = [f"{k}={_SAFE.sub('_', encode_param(v)).strip('_') or '_'}" for k, v in values.items()]
    name = ",".join(parts + [f"seed={seed}"])[:200]
    unique, n = name, 2
    while unique in taken:
        unique, n = f"{name}~{n}", n + 1
    taken.add(unique)
    return unique


def check_manifest(out: Path, manifest: dict) -> bool:
    """True when `out` already holds this sweep (resume); False when it holds none; UsageError
    when it holds another one."""
    path = out / MANIFEST
    if not path.exists():
        if out.exists() and any(out.iterdir()):
            raise UsageError(f"{out}: not empty and not a sweep directory (no {MANIFEST})")
        return False
    try:
        found = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(f"{path}: unreadable ({exc}); give another -o") from None
    differs = [k for k in ("scenario", "scenario_sha256", "engine", "seeds", "swept", "fixed", "points")
               if found.get(k) != json.loads(json.dumps(manifest[k]))]
    if differs:
        what = "the scenario file changed" if differs[0] == "scenario_sha256" else \
            f"its {', '.join(differs)} differ"
        raise UsageError(f"{out} holds another sweep ({what}): resume it with its own arguments "
                         f"(see {path}) or give another -o")
    return True
