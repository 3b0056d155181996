"""`monerosim run --engine shadow`: generate the scenario's Shadow config into the run directory,
run `shadow` on it, then the same summary, verdict and exit code as a local run.

The run directory is both the config's output and its data root, so it holds what a local run
holds (journals/, shared/, state/, scenario.yaml, daemons/, wallets/) plus shadow.yaml,
topology.gml, Shadow's own data directory (shadow.data/: each process's stdout and stderr under
hosts/<host>/), shadow.log (Shadow's log) and shadow.stderr. run.json records how each agent's
processes ended, from the final states Shadow logged (`process_ends`).
"""
from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil

from sim.report.progress import Display, Progress
from sim.scenario.load import Scenario
from sim.scenario.topology import build_topology
from sim.report.summary import expectations, format_summary, summarize
from sim.report.verdict import EXIT_FAILED, FAILED, verdict_line

from sim.shadow.ends import ProcessEnd, process_ends
from sim.shadow.generate import GenerateError, Paths, generate
from sim.scenario.footprint import too_big

__all__ = ["run_under_shadow", "find_shadow", "SHADOW_EPOCH"]

SHADOW_EPOCH = 946684800.0     # 2000-01-01 00:00:00 UTC: Shadow's simulated clock starts here
POLL = 2.0                     # real seconds between progress lines and memory samples
def find_shadow(given: str | None) -> str | None:
    """The shadow binary: `given` (a path or a name on PATH), else `shadow` on PATH."""
    found = shutil.which(given or "shadow")
    return os.path.abspath(found) if found else None


def shadow_version(binary: str) -> str:
    try:
        out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return (out.stdout.strip().splitlines() or ["unknown"])[0]


class ShadowRun:
    """One run of `shadow` on a generated config, watched until it ends."""

    def __init__(self, scenario: Scenario, run_dir: Path, binary: str, display: Display):
        self.scenario, self.run_dir, self.binary, self.display = scenario, run_dir, binary, display
        self.signal: int | None = None
        self.peak_rss = 0
        self.exit_code: int | None = None
        self.started_at = self.stopped_at = 0.0
        self.verdict: str | None = None
        self.status = "running"
        self.version = shadow_version(binary)
        hosts = build_topology(scenario, scenario.agents()).hosts
        self.daemons = [{"name": h.name, "ip": h.ip, "region": h.region, "node": h.node,
                         "data_dir": f"daemons/{h.name}", "peers": list(h.peer_hosts),
                         **({"spy": True} if h.spy else {})} for h in hosts if h.daemon]

    def run(self) -> None:
        config = self.run_dir / "shadow.yaml"
        self.started_at = time.time()
        self._write_run_json("running")
        payers = tuple(r for r, n in expectations(self.run_dir).payments.items() if n > 0)
        progress = Progress(self.run_dir, payer_roles=payers,
                            wallets=sum(1 for a in self.scenario.agents() if a.wallet))
        with open(self.run_dir / "shadow.log", "wb") as log, open(self.run_dir / "shadow.stderr", "wb") as err:
            proc = subprocess.Popen([self.binary, str(config)], stdout=log, stderr=err, cwd=self.run_dir,
                                    start_new_session=True)
            previous = {s: signal.signal(s, self._on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
            try:
                self._watch(proc, progress)
            finally:
                for s, handler in previous.items():
                    signal.signal(s, handler)
                if proc.poll() is None:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
                self.display.end()
        self.exit_code = proc.returncode
        self.stopped_at = time.time()
        self._write_run_json("interrupted" if self.signal else "finished")

    def _watch(self, proc: subprocess.Popen, progress: Progress) -> None:
        total = self.scenario.duration + self.scenario.drain
        agents = len(self.scenario.agents())
        stopping_since = None
        while True:
            try:
                proc.wait(timeout=POLL)
                return
            except subprocess.TimeoutExpired:
                pass
            self._sample_memory(proc.pid)
            if self.signal is not None:
                if stopping_since is None:
                    stopping_since = time.monotonic()
                    self.display.say(f"stopping shadow ({signal.Signals(self.signal).name})", always=True)
                    os.killpg(proc.pid, signal.SIGTERM)
                elif time.monotonic() - stopping_since > 10:
                    os.killpg(proc.pid, signal.SIGKILL)
                continue
            progress.poll()
            tallies = progress.tally.agents.values()
            now = max((t.last_t for t in tallies), default=SHADOW_EPOCH)
            up = sum(1 for t in tallies if t.started and not t.stopped)
            self.display.progress(progress.line(max(0.0, now - SHADOW_EPOCH), total, up, agents))

    def _sample_memory(self, pid: int) -> None:
        """Peak of the summed resident memory of shadow and every process it runs."""
        try:
            root = psutil.Process(pid)
            family = [root] + root.children(recursive=True)
        except psutil.Error:
            return
        total = 0
        for p in family:
            try:
                total += p.memory_info().rss
            except psutil.Error:
                continue
        self.peak_rss = max(self.peak_rss, total)

    def _on_signal(self, signum: int, _frame) -> None:
        if self.signal is None:
            self.signal = signum

    # ------------------------------------------------------------ run.json
    def agent_records(self, ends: list[ProcessEnd]) -> tuple[list[dict], list[str]]:
        """(one entry per agent, with how its tree-runner ended; what went wrong with the other
        processes: a monerod or wallet-rpc that died, or a host that is no agent's)."""
        runners = {e.host: e for e in ends if e.is_python}
        agents = self.scenario.agents()
        ids = {a.id for a in agents}
        failures = [f"{e.program} on host {e.host} {e.describe()}" for e in ends
                    if not e.is_python or e.host not in ids]
        done = self.stopped_at and not self.signal
        records = []
        for agent in agents:
            end = runners.get(agent.id)
            records.append({
                "id": agent.id, "group": agent.group, "tree": str(agent.tree), "params": agent.params,
                "stop": agent.stop, "host": agent.id,
                "outcome": end.outcome if end else ("ok" if done else None),
                "detail": end.describe() if end else None, "exit_code": end.exit_code if end else None,
                "log": str(self.run_dir / end.stderr) if end else None})
        return records, failures

    def record(self) -> dict:
        ends = process_ends(self.run_dir / "shadow.log") if self.stopped_at else []
        agents, failures = self.agent_records(ends)
        if self.exit_code not in (None, 0) and not ends and not self.signal:
            failures.append(f"shadow exited with status {self.exit_code} (see {self.run_dir / 'shadow.stderr'})")
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        scenario = self.scenario
        return {"scenario": scenario.name, "scenario_file": str(scenario.path.resolve()),
                "description": scenario.description, "seed": scenario.seed, "engine": "shadow",
                "overrides": scenario.overrides,
                "duration": scenario.duration, "drain": scenario.drain, "clock": {"kind": "shadow"},
                "time_scale": None, "clock_origin": SHADOW_EPOCH, "simulated": scenario.duration + scenario.drain,
                "started_at": self.started_at, "stopped_at": self.stopped_at or None,
                "status": self.status, "verdict": self.verdict,
                "exit_code": self.code() if self.stopped_at else None,
                "interrupted_by": signal.Signals(self.signal).name if self.signal else None,
                "shadow": {"binary": self.binary, "version": self.version,
                           "config": str(self.run_dir / "shadow.yaml"), "exit_code": self.exit_code,
                           "wall_seconds": self.stopped_at - self.started_at if self.stopped_at else None,
                           "cpu_seconds": children.ru_utime + children.ru_stime,
                           "peak_rss_bytes": self.peak_rss or None,
                           "unexpected_ends": [e.record() for e in ends]},
                "final_height": None, "agents": agents,
                "network": {"kind": "shadow", "daemons": self.daemons},
                "crashed": [a["id"] for a in agents if a["outcome"] not in (None, "ok")],
                "failures": failures}

    def _write_run_json(self, status: str) -> None:
        self.status = status
        path = self.run_dir / "run.json"
        tmp = path.with_name(f".run.json.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(self.record(), indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, path)

    def code(self) -> int:
        if self.signal is not None:
            return 128 + self.signal
        return EXIT_FAILED if self.verdict == FAILED else 0

    def judged(self, verdict: str) -> int:
        """Record the verdict in run.json; the exit code follows it."""
        self.verdict = verdict
        self._write_run_json(self.status)
        return self.code()


def run_under_shadow(scenario: Scenario, run_dir: Path, *, shadow: str | None = None,
                     quiet: bool = False, memory_check: bool = True) -> int:
    """Generate, run Shadow, then print the summary (stdout), write summary.json and end with
    the verdict (stderr). Returns the exit code: 0 ok/degraded, 2 no shadow, a run too big for
    the memory available, or a config that cannot be generated; 3 failed, 128+N stopped by
    signal N."""
    display = Display(quiet=quiet)
    binary = find_shadow(shadow)
    if binary is None:
        print(f"monerosim: {shadow or 'shadow'}: not found{'' if shadow else ' on PATH'}; install Shadow "
              "3.x (docs/shadow.md) or give --shadow PATH", file=sys.stderr)
        return 2
    problem = too_big(scenario, "shadow") if memory_check else None
    if problem:
        print(f"monerosim: {problem}", file=sys.stderr)
        return 2
    run_dir = run_dir.resolve()
    try:
        generated = generate(scenario, Paths(run_dir, run_dir))
    except GenerateError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    display.say(f"run directory {run_dir}: {generated.hosts} hosts, {generated.processes} processes under "
                f"{binary}")
    run = ShadowRun(scenario, run_dir, binary, display)
    run.run()
    summary = summarize(run_dir)
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    print(format_summary(summary), flush=True)
    code = run.judged(summary["verdict"]["verdict"])
    record = run.record()
    for agent in record["agents"]:
        if agent["outcome"] not in (None, "ok"):
            print(f"monerosim: agent {agent['id']} {agent['detail']} (log {agent['log']})", file=sys.stderr)
    for failure in record["failures"]:
        print(f"monerosim: {failure}", file=sys.stderr)
    if run.signal:
        print(f"monerosim: interrupted by {signal.Signals(run.signal).name}; shadow stopped", file=sys.stderr)
    wall, rss = record["shadow"]["wall_seconds"], record["shadow"]["peak_rss_bytes"]
    display.say(f"shadow: {wall:.0f} s wall, peak memory {(rss or 0) / 2**30:.1f} GiB; log {run_dir / 'shadow.log'}")
    display.say(verdict_line(summary["verdict"]), always=True)
    return code
