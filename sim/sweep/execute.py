"""Running a sweep's points on Dask (dask.distributed), resuming, retrying once.

Without `--scheduler`, a LocalCluster of `--workers` single-threaded worker processes (default:
the cores this process may use; a local run keeps about one core busy). With
`--scheduler tcp://HOST:8786`, the points go to that cluster's workers (started by hand, or by
dask-jobqueue on Slurm/PBS: docs/sweeps.md). Each point is one task (`sim.sweep.point.run_point`);
a point whose run failed is submitted once more; a point that already has a record is skipped.
"""
from __future__ import annotations

import csv
import json
import logging
import os
import shutil
from pathlib import Path

from lang.errors import MonerosimError
from sim.scenario.overrides import shown
from sim.sweep.grid import MANIFEST, Grid, check_manifest
from sim.sweep.point import (MAX_ATTEMPTS, finished, next_job, read_record, run_point, succeeded,
                             write_record)

__all__ = ["Options", "run_sweep", "VERDICTS"]

VERDICTS = "verdicts.csv"


class Options:
    """How to run: engine (local | shadow), `run_args` (more `monerosim run` options for every
    point), the scheduler address or the local workers' count (None: `local_workers`)."""

    def __init__(self, engine: str = "local", run_args: list[str] | None = None,
                 scheduler: str | None = None, workers: int | None = None, quiet: bool = False):
        self.engine, self.run_args = engine, list(run_args or [])
        self.scheduler, self.quiet, self.workers = scheduler, quiet, workers


def local_workers(grid: Grid, engine: str) -> tuple[int, str]:
    """The local cluster's size: a worker per core this process may use, fewer when the
    biggest point's run would not fit that many times in the available memory; and why."""
    import psutil
    cores = len(os.sched_getaffinity(0))
    need = max(run_memory(s, engine) for s in grid.loaded)
    available = psutil.virtual_memory().available
    workers = max(1, min(cores, available // need))
    return workers, (f"{workers} local worker{'s' * (workers != 1)} ({cores} cores; a run needs ~{need / 2**30:.1f} GiB, "
                     f"{available / 2**30:.1f} GiB available)")


def run_memory(scenario, engine: str) -> int:
    """Bytes one run of `scenario` holds at its peak (`sim.scenario.footprint`)."""
    from sim.scenario.footprint import memory_needed
    return memory_needed(scenario, engine)[0]


def run_sweep(grid: Grid, out: Path, options: Options) -> list[dict]:
    """Run every point of `grid` not yet finished in `out`; return every point's final record,
    in grid order (the verdicts are also written to out/verdicts.csv)."""
    manifest = grid.manifest(options.engine)
    resumed = check_manifest(out, manifest)
    out.mkdir(parents=True, exist_ok=True)
    if not resumed:
        (out / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    todo = [p for p in grid.points if not finished(out, p.name)]
    _say(options, f"sweep {out}: {len(grid.points)} points, {len(grid.points) - len(todo)} finished "
                  f"before{', resuming' if resumed else ''}; {len(todo)} to run")
    if todo:
        if options.scheduler is None and options.workers is None:
            options.workers, why = local_workers(grid, options.engine)
            _say(options, why)
        _run_points(grid, out, options, todo)
    records = [(read_record(out, p.name) if finished(out, p.name) else None) or _lost(p.name)
               for p in grid.points]
    _write_verdicts(out, grid, records)
    return records


def _run_points(grid: Grid, out: Path, options: Options, todo: list) -> None:
    from dask.distributed import as_completed
    with _client(options) as client:
        if options.engine == "shadow":
            _check_shadow(client, options.run_args)
        jobs = {}
        for point in todo:
            job = next_job(out, point.name, [str(grid.scenario), *point.overrides(grid.fixed),
                                             "--engine", options.engine, *options.run_args])
            jobs[client.submit(run_point, job, key=f"{point.name}#{job['attempt']}", pure=False)] = job
        done, total = 0, len(todo)
        running = as_completed(list(jobs))
        for future in running:
            job = jobs.pop(future)
            record = _result(future, job)
            if not succeeded(record) and job["attempt"] < MAX_ATTEMPTS:
                _say(options, f"  {job['name']}: {_outcome(record)}; retrying")
                retry = {**job, "attempt": job["attempt"] + 1,
                         "earlier": job["earlier"] + [{k: v for k, v in record.items() if k != "earlier"}]}
                nxt = client.submit(run_point, retry, key=f"{job['name']}#{retry['attempt']}", pure=False)
                jobs[nxt] = retry
                running.add(nxt)
                continue
            done += 1
            _say(options, f"[{done}/{total}] {job['name']}: {_outcome(record)}")


def _result(future, job: dict) -> dict:
    """The task's record; a task that raised (a worker lost twice, a full disk) is a failed
    attempt with the error as its reason."""
    try:
        return future.result()
    except Exception as exc:              # noqa: BLE001 - any task error is this point's failure
        record = {"name": job["name"], "attempt": job["attempt"], "exit_code": None, "verdict": "error",
                  "reasons": [f"{type(exc).__name__}: {exc}"], "earlier": job["earlier"],
                  "final": job["attempt"] >= MAX_ATTEMPTS}
        write_record(Path(job["sweep"]), record)
        return record


def _outcome(record: dict) -> str:
    reasons = "; ".join(str(r) for r in record.get("reasons", [])[:2])
    wall = record.get("wall_seconds")
    return (f"{record['verdict']} (exit {record.get('exit_code')}"
            f"{f', {wall:.0f} s' if wall is not None else ''}){f': {reasons}' if reasons else ''}")


def _lost(name: str) -> dict:
    """A point the sweep could not finish (a task error on its last attempt is recorded here)."""
    return {"name": name, "attempt": None, "exit_code": None, "verdict": "error",
            "reasons": ["no final record: the point did not finish (see logs/)"], "earlier": []}


def _write_verdicts(out: Path, grid: Grid, records: list[dict]) -> None:
    keys = list(grid.swept)
    with open(out / VERDICTS, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["point", "seed", *keys, "verdict", "exit_code", "attempts", "reasons", "run_dir"])
        for point, record in zip(grid.points, records):
            writer.writerow([point.name, point.seed, *(shown(point.values[k]) for k in keys),
                             record["verdict"], record.get("exit_code"), record.get("attempt"),
                             "; ".join(map(str, record.get("reasons", []))),
                             f"runs/{point.name}"])


class _client:
    """A Client on `options.scheduler`, or on a LocalCluster of `options.workers` processes."""

    def __init__(self, options: Options):
        self.options, self.cluster, self.client = options, None, None

    def __enter__(self):
        from dask.distributed import Client, LocalCluster
        try:
            if self.options.scheduler:
                self.client = Client(self.options.scheduler, timeout="30s")
            else:
                self.cluster = LocalCluster(n_workers=self.options.workers, threads_per_worker=1,
                                            processes=True, dashboard_address=None,
                                            silence_logs=logging.ERROR)
                self.client = Client(self.cluster)
        except (OSError, TimeoutError) as exc:
            raise MonerosimError(f"sweep: no Dask scheduler at {self.options.scheduler}: {exc}") from None
        return self.client

    def __exit__(self, *exc) -> None:
        if self.client is not None:
            self.client.close()
        if self.cluster is not None:
            self.cluster.close()


def _check_shadow(client, run_args: list[str]) -> None:
    """Every worker must find Shadow (`--shadow PATH` or shadow on its PATH)."""
    binary = run_args[run_args.index("--shadow") + 1] if "--shadow" in run_args else "shadow"
    found = client.run(shutil.which, binary)
    missing = sorted(worker for worker, path in found.items() if path is None)
    if missing:
        raise MonerosimError(f"sweep --engine shadow: {binary!r} is not installed (or not on the PATH) "
                             f"on worker(s) {', '.join(missing)}; install Shadow 3.x there (docs/shadow.md) "
                             "or give --shadow /absolute/path/to/shadow")


def _say(options: Options, line: str) -> None:
    if not options.quiet:
        print(line, flush=True)
