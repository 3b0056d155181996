"""A whole local run (`scenarios/hundred.yaml`): wall time, CPU and peak RSS per process kind.

The run is a real `monerosim run` subprocess; a sampler reads /proc every second and keeps,
per process, its last CPU time (utime + stime) and its peak RSS, grouped by kind: monerod,
monero-wallet-rpc, tree-runner (agents), launcher. The goal: agents ≤ 10 % of all CPU.
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Sequence

from . import Row, bench

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = os.environ.get("MONEROSIM_BENCH_SCENARIO", str(ROOT / "scenarios" / "hundred.yaml"))
TICK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def _kind(pid: int, root: int) -> str | None:
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return None
    if pid == root:
        return "launcher"
    name = os.path.basename(cmd[0].decode(errors="replace")) if cmd and cmd[0] else ""
    if name == "monerod":
        return "monerod"
    if name == "monero-wallet-rpc":
        return "wallet-rpc"
    if b"engine" in cmd and b"run" in cmd:
        return "tree-runner"
    return None


def _descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                ppid = int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


class Sampler(threading.Thread):
    """Per-process CPU seconds and peak RSS of `root` and its descendants, by kind."""

    def __init__(self, root: int, every: float = 1.0):
        super().__init__(daemon=True)
        self.root, self.every = root, every
        self.cpu: dict[int, float] = {}
        self.rss: dict[int, int] = {}
        self.kind: dict[int, str] = {}
        self.peak_total_rss: dict[str, int] = {}
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            totals: dict[str, int] = {}
            for pid in _descendants(self.root):
                kind = self.kind.get(pid) or _kind(pid, self.root)
                if kind is None:
                    continue
                try:
                    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                self.kind[pid] = kind
                self.cpu[pid] = (int(fields[11]) + int(fields[12])) / TICK
                rss = int(fields[21]) * PAGE
                self.rss[pid] = max(self.rss.get(pid, 0), rss)
                totals[kind] = totals.get(kind, 0) + rss
            for kind, total in totals.items():
                self.peak_total_rss[kind] = max(self.peak_total_rss.get(kind, 0), total)
            self.done.wait(self.every)

    def by_kind(self) -> dict[str, dict]:
        out: dict[str, dict] = {}
        for pid, kind in self.kind.items():
            k = out.setdefault(kind, {"processes": 0, "cpu": 0.0, "peak_rss": 0})
            k["processes"] += 1
            k["cpu"] += self.cpu.get(pid, 0.0)
            k["peak_rss"] = max(k["peak_rss"], self.rss.get(pid, 0))
        for kind, k in out.items():
            k["peak_total_rss"] = self.peak_total_rss.get(kind, 0)
        return out


def measure_run(scenario: str = SCENARIO,
                extra: Sequence[str] = ()) -> tuple[float, int, dict[str, dict], Path]:
    """Run `scenario` (`extra`: more `monerosim run` options, e.g. `--clock scaled`); returns
    (wall seconds, exit code, figures by kind, run dir)."""
    out = Path(tempfile.mkdtemp(prefix="bench-run-")) / "run"
    start = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "sim.cli", "run", scenario, "--out", str(out),
                             "--quiet", *extra], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    sampler = Sampler(proc.pid)
    sampler.start()
    proc.communicate()
    sampler.done.set()
    sampler.join()
    return time.monotonic() - start, proc.returncode, sampler.by_kind(), out


@bench("hundred-run")
def hundred_run() -> list[Row]:
    wall, code, kinds, out = measure_run()
    total_cpu = sum(k["cpu"] for k in kinds.values()) or 1.0
    rows = [Row("run wall time (exit %d, %s)" % (code, out), wall, wall, "s")]
    for kind in ("monerod", "wallet-rpc", "tree-runner", "launcher"):
        k = kinds.get(kind, {"processes": 0, "cpu": 0.0, "peak_rss": 0, "peak_total_rss": 0})
        share = k["cpu"] / total_cpu
        goal, ok = ("≤ 10% of CPU", share <= 0.10) if kind == "tree-runner" else ("", None)
        rows.append(Row(f"{kind} ×{k['processes']}: CPU s vs all CPU s", k["cpu"], total_cpu, "s",
                        goal, ok, note=f"{share:.1%}"))
        rows.append(Row(f"{kind}: peak RSS per process vs all of this kind", k["peak_rss"] / 2**20,
                        k["peak_total_rss"] / 2**20, "MB"))
    return rows
