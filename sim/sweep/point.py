"""One point of a sweep on a worker: `monerosim run` in its own process, then its record.

The task is a plain function of plain data, so any Dask worker that has this package runs it
(on a cluster, the sweep directory must be on a file system every worker sees). The run is a
child process that gets SIGTERM when the worker dies (the launcher then stops what it started),
its output in SWEEP/logs/<point>.<attempt>.log. A run directory left by an earlier attempt
(failed, or cut off by an interrupted sweep) is moved to SWEEP/attempts/<point>.<attempt>/,
never deleted. The record, SWEEP/points/<point>.json, is written when the run has ended; it is
final when the run succeeded or was the last attempt, and a point with a final record is never
run again. A point cut off by an interrupted sweep has no new record and is run again.
"""
from __future__ import annotations

import ctypes
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

__all__ = ["run_point", "read_record", "finished", "next_job", "write_record", "succeeded", "RECORDS", "ATTEMPTS", "MAX_ATTEMPTS"]

RECORDS, ATTEMPTS, LOGS, RUNS = "points", "attempts", "logs", "runs"
MAX_ATTEMPTS = 2                 # a failed run is retried once
SUCCEEDED = ("ok", "degraded")   # the verdicts of a run that exited 0


def succeeded(record: dict) -> bool:
    return record.get("exit_code") == 0 and record.get("verdict") in SUCCEEDED


def run_point(job: dict) -> dict:
    """Run `job` (sweep, name, attempt, argv: `monerosim run` options without --out) and return
    its record: exit code, verdict and reasons (from summary.json), wall seconds, host, the
    earlier attempts, and whether it is final (the run succeeded, or it was the last attempt);
    also written to SWEEP/points/<name>.json."""
    sweep, name, attempt = Path(job["sweep"]), job["name"], job["attempt"]
    run_dir = sweep / RUNS / name
    _set_aside(sweep, name, run_dir)
    log = sweep / LOGS / f"{name}.{attempt}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    argv = [sys.executable, "-m", "sim.cli", "run", *job["argv"], "--out", str(run_dir), "--quiet",
            "--no-live"]
    start = time.monotonic()
    with open(log, "wb") as out:
        code = subprocess.call(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                               preexec_fn=_die_with_worker, cwd=job.get("cwd"))
    record = {"name": name, "attempt": attempt, "exit_code": code, **_verdict(run_dir, code),
              "wall_seconds": round(time.monotonic() - start, 1), "host": socket.gethostname(),
              "run_dir": str(run_dir), "log": str(log), "earlier": job.get("earlier", [])}
    record["final"] = succeeded(record) or attempt >= MAX_ATTEMPTS
    write_record(sweep, record)
    return record


def read_record(sweep: Path, name: str) -> dict | None:
    """The point's last record, or None when it has none (never run, or cut off)."""
    try:
        return json.loads((sweep / RECORDS / f"{name}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def finished(sweep: Path, name: str) -> bool:
    record = read_record(sweep, name)
    return record is not None and bool(record.get("final"))


def next_job(sweep: Path, name: str, argv: list[str]) -> dict:
    """The job that runs `name` next: attempt 1, or the one after its last failed attempt."""
    last = read_record(sweep, name)
    earlier = [] if last is None else [*last.get("earlier", []), {k: v for k, v in last.items()
                                                                   if k != "earlier"}]
    return {"sweep": str(sweep), "name": name, "attempt": len(earlier) + 1, "argv": argv,
            "earlier": earlier}


def _verdict(run_dir: Path, code: int) -> dict:
    """verdict (ok / degraded / failed, or `crashed` when the run wrote no summary) and reasons."""
    try:
        summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
        verdict = summary.get("verdict") or {}
        found = {"verdict": str(verdict.get("verdict", "failed")).lower(),
                 "reasons": [r.get("text", r) if isinstance(r, dict) else r
                             for r in verdict.get("reasons", [])]}
    except (OSError, ValueError, AttributeError):
        found = {"verdict": "crashed", "reasons": []}
    if code != 0 and found["verdict"] in SUCCEEDED:
        found["verdict"] = "failed"
    if code < 0:
        found["reasons"].insert(0, f"the run was killed by {signal.Signals(-code).name}")
    elif code != 0 and not found["reasons"]:
        found["reasons"].append(f"monerosim run exited {code}")
    return found


def _set_aside(sweep: Path, name: str, run_dir: Path) -> None:
    """Move an earlier attempt's run directory out of the way, keeping it."""
    if not run_dir.exists():
        run_dir.parent.mkdir(parents=True, exist_ok=True)
        return
    n = 1
    while (sweep / ATTEMPTS / f"{name}.{n}").exists():
        n += 1
    (sweep / ATTEMPTS).mkdir(parents=True, exist_ok=True)
    os.replace(run_dir, sweep / ATTEMPTS / f"{name}.{n}")


def write_record(sweep: Path, record: dict) -> None:
    """SWEEP/points/<name>.json, replaced whole."""
    path = sweep / RECORDS / f"{record['name']}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(json.dumps(record, indent=2) + "\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _die_with_worker() -> None:
    """In the run's process: SIGTERM when the worker that started it dies."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass
