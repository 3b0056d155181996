"""The figures of each run, and the runs grouped into points.

A point is what a sweep varied: the swept values of SWEEP/sweep.json, or for run directories
given one by one, the scenario's name with run.json's `--param` overrides (the seed aside). Each
run's figures come from `sim.report.metrics.build_metrics`, the numbers of its report.json:

  payments.*        sent, matched, confirmed, missing, failed; confirmed share
  latency.*         sent → seen / mined / confirmed: median, p90, mean (simulated seconds)
  blocks.*          mined by pools, late signals, mean interval; per pool: blocks, share
  errors.total, steady.per_minute, run.height
  <section>.*       every number of a research section present in the run (selfish, spies,
                    flood, propagation), by its path in report.json; lists are left out

`samples` keeps each run's per-payment latencies for the CDF plots.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lang.errors import UsageError
from sim.scenario.overrides import shown

__all__ = ["RunFigures", "PointRuns", "collect", "LATENCIES", "SECTIONS", "COUNTED"]

LATENCIES = {"sent_to_seen": ("seen", "sent → seen by the shop"),
             "sent_to_mined": ("mined", "sent → mined"),
             "sent_to_confirmed": ("confirmed", "sent → confirmed")}
SECTIONS = ("selfish", "spies", "flood", "propagation")
COUNTED = ("ok", "degraded")          # verdicts whose runs enter the intervals
_MAX_DEPTH = 4


@dataclass
class RunFigures:
    dir: Path
    seed: Any
    verdict: str
    figures: dict[str, float | None] = field(default_factory=dict)
    samples: dict[str, list[float]] = field(default_factory=dict)

    @property
    def counted(self) -> bool:
        return self.verdict in COUNTED


@dataclass
class PointRuns:
    label: str
    values: dict[str, Any]
    runs: list[RunFigures] = field(default_factory=list)


def collect(paths: list[str | Path]) -> list[PointRuns]:
    """The points of every sweep directory and run directory in `paths`, in the order given
    (a sweep's points in grid order). UsageError for a path that is neither."""
    points: dict[str, PointRuns] = {}
    for raw in paths:
        path = Path(raw)
        if (path / "sweep.json").is_file():
            _add_sweep(points, path)
        elif (path / "journals").is_dir():
            _add(points, *_run_point(path), path, None)
        else:
            raise UsageError(f"{path}: neither a sweep directory (sweep.json) nor a run directory "
                             "(journals/)")
    return list(points.values())


def _add_sweep(points: dict[str, PointRuns], sweep: Path) -> None:
    """A sweep directory as `sim.sweep` writes it: sweep.json's points, each with its run
    directory runs/<name>/ and its record points/<name>.json (the verdict once `final`)."""
    manifest = json.loads((sweep / "sweep.json").read_text(encoding="utf-8"))
    for point in manifest["points"]:
        values = point["values"]
        record = _read(sweep / "points" / f"{point['name']}.json")
        run_dir = sweep / "runs" / point["name"]
        verdict = record.get("verdict") if record.get("final") else None
        _add(points, _label(values), values, run_dir, verdict or "not run")


def _read(path: Path) -> dict:
    try:
        found = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


def _run_point(run_dir: Path) -> tuple[str, dict]:
    """A lone run's point: its scenario's name and its overrides, without the seed."""
    run = _read(run_dir / "run.json")
    values = {k: v for k, v in (run.get("overrides") or {}).items() if k != "seed"}
    name = run.get("scenario") or run_dir.name
    return f"{name}: {_label(values)}" if values else str(name), values


def _label(values: dict) -> str:
    return ", ".join(f"{k}={shown(v)}" for k, v in values.items()) or "(no param)"


def _add(points: dict[str, PointRuns], label: str, values: dict, run_dir: Path,
         verdict: str | None) -> None:
    point = points.setdefault(label, PointRuns(label, values))
    point.runs.append(run_figures(run_dir, verdict))


def run_figures(run_dir: Path, verdict: str | None = None) -> RunFigures:
    """The figures of one run directory (`verdict`: the sweep's, else the run's own)."""
    from sim.report.load import read_run
    from sim.report.metrics import build_metrics
    if not (run_dir / "journals").is_dir():
        return RunFigures(run_dir, None, verdict or "not run")
    report = build_metrics(read_run(run_dir))
    own = str((report.get("verdict") or {}).get("verdict", "failed")).lower()
    found = RunFigures(run_dir, report["run"].get("seed"), verdict or own)
    found.figures = _figures(report)
    found.samples = {kind: [i[end] - i["sent"] for i in report["transactions"]["items"]
                            if i.get(end) is not None and i.get("sent") is not None]
                     for kind, (end, _) in LATENCIES.items()}
    return found


def _figures(report: dict) -> dict[str, float | None]:
    pay, blocks = report["payments"], report["blocks"]
    out: dict[str, float | None] = {
        f"payments.{k}": pay.get(k) for k in ("sent", "matched", "confirmed", "missing", "failed")}
    out["payments.confirmed_share"] = pay["confirmed"] / pay["sent"] if pay.get("sent") else None
    for kind in LATENCIES:
        stats = report["transactions"]["latency"].get(kind) or {}
        for q in ("median", "p90", "mean"):
            out[f"latency.{kind}.{q}"] = stats.get(q)
    out.update({"blocks.total": blocks.get("total"), "blocks.late": blocks.get("late"),
                "blocks.interval": blocks.get("interval")})
    for pool, row in sorted((blocks.get("pools") or {}).items()):
        out[f"blocks.{pool}.blocks"] = row.get("blocks")
        out[f"blocks.{pool}.share"] = row.get("actual_share")
    out["errors.total"] = report["errors"].get("total")
    out["steady.per_minute"] = (report.get("steady") or {}).get("per_minute")
    out["run.height"] = report["run"].get("height")
    for section in SECTIONS:
        if isinstance(report.get(section), dict):
            _numbers(report[section], section, out, 1)
    return out


def _numbers(node: dict, prefix: str, out: dict, depth: int) -> None:
    """Every number under `node` (bools and lists left out) as out[prefix.path]."""
    for key, value in node.items():
        name = f"{prefix}.{key}"
        if isinstance(value, bool) or value is None:
            continue
        if isinstance(value, (int, float)):
            out[name] = value
        elif isinstance(value, dict) and depth < _MAX_DEPTH:
            _numbers(value, name, out, depth + 1)
