"""What a local networked run costs (`daemons: {placement: per-host}`, docs/network.md), and the
largest one this machine holds.

  network.memory  scenarios/line.yaml (5 hosts, a monerod each, peered through the link relay)
                  next to the same scenario with one shared daemon: monerod peak RSS per daemon,
                  the monerods' CPU seconds together, wall time against the simulated span.
  network.scale   small.yaml-like scenarios (controller, 2 pools, 2 shops, N users, a monerod
                  per host, a 50 ms switch, 4 min + 30 s drain, a block every 6 s) for N = 10,
                  25, 40 (MONEROSIM_BENCH_NETWORK_USERS="10,25,40"), going up until a run fails
                  or the next one's memory would not fit.

Each run is a real `monerosim run` subprocess in its own session, sampled by bench.run_bench's
/proc sampler (the link relay counted as its own kind), bounded by TIMEOUT and by MEMORY_FLOOR
(the machine's available memory): past either its processes are killed, none left behind.
A networked run is paced at most one simulated second per real second (run.json
`clock.max_speed`), so its wall time is at least its simulated span.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from . import Row, bench
from .run_bench import ROOT, Sampler, _descendants

LINE = ROOT / "scenarios" / "line.yaml"
TREES = ROOT / "trees"
USERS_ENV = "MONEROSIM_BENCH_NETWORK_USERS"
TIMEOUT = 1800.0              # real seconds a run may take
MEMORY_FLOOR = 1 << 30        # kill a run when the machine has less available than this
FIT_SHARE = 0.85              # the next run must need at most this share of the available memory
TX_MEAN = 30.0                # users' mean time between payments (s)
FIRST_WAIT = 90.0             # no user's first wait may be longer (see `_seed`)
KINDS = ("monerod", "wallet-rpc", "tree-runner", "relay", "launcher")
MB = 2 ** 20
PACED = "networked runs are paced at most 1 simulated second per real second"


class _Kinds(dict):
    """Sampler.kind that also knows the link relay (run_bench's `_kind` does not) and keeps the
    command line of every process it has seen (to kill only those, and only if still them)."""

    def __init__(self):
        super().__init__()
        self.cmdline: dict[int, bytes] = {}

    def get(self, pid, default=None):
        kind = super().get(pid)
        if kind is None and b"sim.network.relay" in _cmdline(pid):
            kind = "relay"
        return default if kind is None else kind

    def __setitem__(self, pid, kind):
        if pid not in self:
            self.cmdline[pid] = _cmdline(pid)
        super().__setitem__(pid, kind)


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _available() -> int:
    """Bytes of memory the machine has available (MemAvailable)."""
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) * 1024
    return 0


@dataclass
class Run:
    """One finished (or killed) run: wall seconds, exit code, figures by kind, per-process peaks."""

    wall: float
    code: int
    kinds: dict[str, dict]
    peaks: dict[str, list[int]]
    out: Path
    killed: str = ""                   # "", "timeout" or "memory"
    available_before: int = 0          # the machine's MemAvailable at the start
    lowest_available: int = 0          # ... and its lowest during the run
    left: int = 0                      # processes still alive after it ended (then killed)
    run_json: dict = field(default_factory=dict)
    summary: dict = field(default_factory=dict)

    @property
    def simulated(self) -> float:
        return float(self.run_json.get("simulated") or 0.0)

    @property
    def verdict(self) -> str:
        return self.summary.get("verdict", {}).get("verdict") or self.run_json.get("verdict") or "none"

    @property
    def sent(self) -> int:
        return int(self.summary.get("payments", {}).get("sent", 0))

    @property
    def hosts(self) -> int:
        return len(self.peaks.get("monerod", []))

    def cpu(self, kind: str) -> float:
        return self.kinds.get(kind, {}).get("cpu", 0.0)

    def per_daemon(self) -> float:
        """MB: the sum of the monerods' peaks / their count."""
        peaks = self.peaks.get("monerod") or [0]
        return sum(peaks) / len(peaks) / MB

    def taken(self) -> float:
        """MB the run took from the machine at its peak (MemAvailable before - lowest)."""
        return (self.available_before - self.lowest_available) / MB

    def total_peak(self) -> float:
        """MB: each kind's peak of summed RSS, added up (an upper bound of the joint peak)."""
        return sum(k["peak_total_rss"] for k in self.kinds.values()) / MB

    def clock_note(self) -> str:
        """Where the lockstep clock's real seconds went (start-up and stop left out)."""
        real = self.run_json.get("clock", {}).get("real_seconds", {})
        held = real.get("alone", 0.0) + real.get("together", 0.0)
        pace = (held + real.get("none", 0.0)) / self.simulated if self.simulated else 0.0
        return (f"{PACED}; the clock took {pace:.2f} real s per simulated s: agents working "
                f"(time stands still) {held:.0f} s, none working {real.get('none', 0.0):.0f} s")

    def outcome(self) -> str:
        why = f", killed ({self.killed})" if self.killed else ""
        return f"exit {self.code}, {self.verdict}{why}"


def _json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _kill(pids: dict[int, bytes], sig: int) -> int:
    """Send `sig` to each of `pids` still running the same command line; how many were."""
    hit = 0
    for pid, cmd in pids.items():
        if cmd and _cmdline(pid) == cmd:
            try:
                os.kill(pid, sig)
                hit += 1
            except ProcessLookupError:
                pass
    return hit


def _stop(proc: subprocess.Popen, kinds: _Kinds) -> None:
    """End a run: SIGTERM to the launcher's group, SIGKILL to whatever of it is left after 30 s."""
    tree = {pid: _cmdline(pid) for pid in _descendants(proc.pid)} | kinds.cmdline
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        pass
    _kill(tree, signal.SIGKILL)
    proc.wait()


def _watch(proc: subprocess.Popen, kinds: _Kinds, timeout: float) -> tuple[str, int]:
    """Wait for the run; stop it past `timeout` or when memory runs short. (why, lowest free)."""
    lowest, waited = _available(), 0.0
    while True:
        try:
            proc.wait(2.0)
            return "", lowest
        except subprocess.TimeoutExpired:
            waited += 2.0
        lowest = min(lowest, _available())
        why = "timeout" if waited >= timeout else "memory" if lowest < MEMORY_FLOOR else ""
        if why:
            _stop(proc, kinds)
            return why, lowest


def measure(scenario: Path, timeout: float = TIMEOUT) -> Run:
    """Run `scenario` with `monerosim run` and the /proc sampler; kill what outlives it."""
    out = Path(tempfile.mkdtemp(prefix="bench-net-")) / "run"
    start, before = time.monotonic(), _available()
    with open(out.parent / "monerosim.out", "wb") as log:        # its own memory guard: _fits, MEMORY_FLOOR
        proc = subprocess.Popen([sys.executable, "-m", "sim.cli", "run", str(scenario), "--out",
                                 str(out), "--quiet", "--no-memory-check"], cwd=ROOT, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
    sampler = Sampler(proc.pid)
    sampler.kind = kinds = _Kinds()
    sampler.start()
    killed, lowest = _watch(proc, kinds, timeout)
    sampler.done.set()
    sampler.join()
    left = _kill(kinds.cmdline, signal.SIGKILL)
    peaks: dict[str, list[int]] = {}
    for pid, kind in kinds.items():
        peaks.setdefault(kind, []).append(sampler.rss.get(pid, 0))
    return Run(time.monotonic() - start, proc.returncode, sampler.by_kind(), peaks, out, killed,
               before, lowest, left, _json(out / "run.json"), _json(out / "summary.json"))


def _absolute(doc: dict, base: Path) -> dict:
    """`doc` with each group's tree made absolute (relative to `base`)."""
    for group in doc["groups"]:
        group["tree"] = str((base / group["tree"]).resolve())
    return doc


def _write(doc: dict, directory: Path, name: str) -> Path:
    path = directory / f"{name}.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def shared_copy(scenario: Path, directory: Path) -> Path:
    """`scenario` without `daemons:` and `network:` (one shared daemon), trees absolute."""
    doc = yaml.safe_load(scenario.read_text(encoding="utf-8"))
    doc.pop("daemons", None)
    doc.pop("network", None)
    doc["name"] = f"{doc['name']}-shared"
    return _write(_absolute(doc, scenario.parent), directory, doc["name"])


@bench("network.memory")
def network_memory() -> list[Row]:
    with tempfile.TemporaryDirectory() as tmp:
        net = measure(LINE)
        one = measure(shared_copy(LINE, Path(tmp)))
    n = net.hosts
    both = f"per-host ({net.outcome()}) vs shared ({one.outcome()})"
    return [
        Row(f"monerod peak RSS per daemon, {n} per-host vs 1 shared", net.per_daemon(),
            one.per_daemon(), "MB", note=f"runs: {net.out}, {one.out}"),
        Row(f"all processes' peak RSS (kinds summed), {both}", net.total_peak(), one.total_peak(), "MB"),
        Row(f"monerod CPU s, {n} daemons together vs the shared one", net.cpu("monerod"),
            one.cpu("monerod"), "s"),
        Row(f"all CPU s, {n} per-host vs shared", sum(k["cpu"] for k in net.kinds.values()),
            sum(k["cpu"] for k in one.kinds.values()), "s"),
        Row(f"per-host: wall vs simulated ({net.outcome()})", net.wall, net.simulated, "s",
            note=net.clock_note()),
        Row(f"shared: wall vs simulated ({one.outcome()})", one.wall, one.simulated, "s",
            note="one daemon: no pacing, the lockstep clock runs as fast as the agents allow"),
    ]


def _seed(users: int, first: int = 42) -> int:
    """The first seed from `first` whose users all draw a first wait of at most FIRST_WAIT.

    A user's first wait is its agent RNG's first draw (seeded from seed and agent id, so the same
    on any machine). Users are funded ~100 s into the 4 minutes (10 blocks of 6 s lock the
    funds); one whose first wait is longer than the ~140 s left never pays and fails the run
    whatever the machine: with seed 42, user-7 draws 159 s."""
    from engine.runner import make_rng
    from lang.values import Exponential
    wait = Exponential(mean=TX_MEAN)
    seed = first
    while any(wait.draw(make_rng(seed, f"user-{i}")) > FIRST_WAIT for i in range(users)):
        seed += 1
    return seed


def scale_scenario(users: int, directory: Path, seed: int) -> Path:
    """small.yaml's agents with N users, a monerod per host on a 50 ms switch, 4 min + 30 s, a
    block every 6 s, users paying every 30 s on average (`seed` from `_seed`).
    Shops as in line.yaml (1 confirmation, checked every 10 s) so payments of the last minute
    can confirm within the 30 s drain."""
    doc = {
        "version": 1, "name": f"network-{users}", "seed": seed,
        "description": f"1 controller, 2 pools, 2 shops, {users} users, a monerod per host.",
        "duration": "4m", "drain": "30s",
        "network": {"type": "switch", "latency": "50ms"},
        "daemons": {"placement": "per-host"},
        "groups": [
            {"name": "controller", "tree": "controller.yaml", "wallet": False,
             "params": {"pools": 2, "bootstrap_blocks": 150, "block_interval": "6s",
                        "block_timeout": "30s"}},
            {"name": "pool", "tree": "pool.yaml", "count": 2,
             "params": {"hashrate": [60, 40], "fund_amount": 2, "fund_outputs": 4, "fund_every": "30s"}},
            {"name": "shop", "tree": "marketplace.yaml", "count": 2,
             "params": {"confirmations": 1, "check_every": "10s"}},
            {"name": "user", "tree": "user.yaml", "count": users, "stop": "early",
             "params": {"tx_interval": {"exponential": {"mean": f"{TX_MEAN:g}s"}},
                        "amount": {"uniform": {"low": 0.01, "high": 0.2}}}},
        ],
    }
    return _write(_absolute(doc, TREES), directory, doc["name"])


def _users() -> list[int]:
    return sorted(int(n) for n in os.environ.get(USERS_ENV, "10,25,40").split(",") if n.strip())


def _scale_rows(users: int, run: Run) -> list[Row]:
    label = f"N={users} ({run.hosts} hosts, seed {run.run_json.get('seed')}, {run.outcome()})"
    total_cpu = sum(k["cpu"] for k in run.kinds.values()) or 1.0
    rows = [Row(f"{label}: payments sent vs users", run.sent, users, "", "verdict ok",
                run.verdict == "ok" and run.code == 0 and not run.killed, note=str(run.out)),
            Row(f"{label}: peak RSS of all processes (kinds summed) vs memory the run took from the machine",
                run.total_peak(), run.taken(), "MB", note="taken: MemAvailable before the run - its lowest"),
            Row(f"{label}: monerod peak RSS per daemon vs all monerods together", run.per_daemon(),
                run.kinds.get("monerod", {}).get("peak_total_rss", 0) / MB, "MB")]
    for kind in KINDS:
        k = run.kinds.get(kind, {"processes": 0, "cpu": 0.0})
        rows.append(Row(f"{label}: {kind} ×{k['processes']} CPU s vs all CPU s", k["cpu"], total_cpu, "s",
                        note=f"{k['cpu'] / total_cpu:.1%}"))
    rows.append(Row(f"{label}: wall vs simulated", run.wall, run.simulated, "s", "≤ 1.3×",
                    run.simulated > 0 and run.wall <= 1.3 * run.simulated,
                    note=run.clock_note() + (f"; {run.left} processes outlived the run and were killed" if run.left else "")))
    return rows


def _fits(run: Run, users: int, next_users: int) -> tuple[bool, float]:
    """Would the run with `next_users` fit? (yes/no, its predicted MB: what this run took from
    the machine, per host.)"""
    hosts, next_hosts = run.hosts or users + 5, next_users + 5
    need = run.taken() * next_hosts / hosts
    return need <= FIT_SHARE * _available() / MB, need


@bench("network.scale")
def network_scale() -> list[Row]:
    rows: list[Row] = []
    passed, why = None, "every size was run"
    counts = _users()
    seed = _seed(counts[-1])          # one seed for all: the same users draw the same waits
    with tempfile.TemporaryDirectory() as tmp:
        for i, users in enumerate(counts):
            run = measure(scale_scenario(users, Path(tmp), seed))
            rows += _scale_rows(users, run)
            if run.verdict == "ok" and run.code == 0 and not run.killed:
                passed = users
            if run.code != 0 or run.killed:
                why = f"N={users} failed ({run.outcome()}): stopped there"
                break
            if i + 1 < len(counts):
                fits, need = _fits(run, users, counts[i + 1])
                if not fits:
                    why = f"N={counts[i + 1]} would need ~{need:,.0f} MB: not run"
                    break
    note = f"largest N that passed with verdict ok: {passed}; {why}"
    rows.append(Row("largest N that passed (verdict ok) vs largest asked", passed or 0, counts[-1], "",
                    note=note))
    return rows
