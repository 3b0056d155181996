"""Faults against the lockstep clock, on real processes (monerod, monero-wallet-rpc, tree-runner).

On the lockstep clock simulated time moves only while every agent waits. A fault that leaves an
agent neither waiting nor gone would freeze a whole run, so:

  (a) an agent SIGKILLed while it holds time (hung in an RPC to a SIGSTOPped wallet-rpc) leaves
      the barrier at once: time moves again long before its RPC could have timed out, and the
      run finishes (exit 1, the agent named as crashed);
  (b) a hung RPC does not freeze the run: the agent journals `rpc_failed` / `RpcTimeout` after
      its --rpc-timeout and time goes on, while the wallet-rpc is still stopped; after SIGCONT
      the agent reads its balance again;
  (c) SIGTERM to a lockstep `monerosim run` stops everything cleanly: exit 143, every journal
      ends with `agent_stopped`, no process and no clock socket left behind.

Every wait here is bounded by generous real-time limits: a slow or busy machine makes these runs
take longer, never changes what they check. The runs use `--max-speed` (the keeper's limit)
because the faults are injected on real time: without it a run of engine-only trees could be over
before the test acts.
"""
from __future__ import annotations

import json
import os
import platform
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import ipc
from sim.scenario.load import AgentSpec

from tests.integration.faultkit import World, processes_alive, scan_journal
from tests.proc import command_lines

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]

# Ticks every `every` with engine leaves only: the run's witness that simulated time moves.
CLOCK_TREE = """\
version: 1
role: clock
description: Journals a tick every `every`; no RPC.
params:
  every: 5s
root:
  Repeat:
    child:
      Sequence:
        children:
          - Wait: {duration: "${every}"}
          - RecordEvent: {event: tick}
"""

# Opens its wallet, then looks at its balance every `every`: journals balance_ok after each
# good look, rpc_failed (and goes on) after a bad one.
WALLET_TREE = """\
version: 1
role: looker
description: Opens its wallet, then refreshes and reads its balance every `every`.
params:
  every: 10s
root:
  Sequence:
    children:
      - Retry:
          attempts: 3
          delay: 10s
          child: {OpenWallet: {}}
      - RecordEvent: {event: wallet_ready}
      - Repeat:
          child:
            Sequence:
              children:
                - ForceSuccess:
                    child:
                      Sequence:
                        children:
                          - CheckBalance: {min_unlocked: 0}
                          - RecordEvent: {event: balance_ok}
                - Wait: {duration: "${every}"}
"""


def write_trees(folder: Path) -> None:
    (folder / "clock.yaml").write_text(CLOCK_TREE)
    (folder / "looker.yaml").write_text(WALLET_TREE)


def write_scenario(folder: Path, name: str, duration: str, groups: str) -> Path:
    write_trees(folder)
    path = folder / f"{name}.yaml"
    path.write_text(f"version: 1\nname: {name}\nseed: 5\nduration: {duration}\ngroups:\n{groups}")
    return path


def monerosim(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "sim.cli", *args], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def journal(run_dir: Path, agent: str) -> list[dict]:
    try:
        return ipc.read_journal(run_dir / "journals" / f"{agent}.jsonl")
    except FileNotFoundError:
        return []


def run_record(run_dir: Path) -> dict:
    try:
        return json.loads((run_dir / "run.json").read_text())
    except (OSError, ValueError):
        return {}


def wait_until(what: str, predicate, timeout: float, proc: subprocess.Popen | None = None,
               interval: float = 0.1):
    """Poll `predicate` until truthy; fail naming `what` after `timeout` real seconds or as soon
    as `proc` has exited."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(f"{what}: the run ended first (exit {proc.returncode})\n{out}\n{err}")
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {timeout:.0f} s")
        time.sleep(interval)


def finish(proc: subprocess.Popen, timeout: float) -> tuple[str, str]:
    try:
        return proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def blocked_in(pid: int) -> str:
    """What the (single-threaded) process `pid` is blocked in, on x86-64: "poll" (a socket
    read with a timeout: an RPC), "recvfrom" (a read without one: waiting for the time keeper),
    "other"; "unknown" elsewhere."""
    if platform.machine() != "x86_64":
        return "unknown"
    try:
        number = Path(f"/proc/{pid}/syscall").read_text().split()[0]
    except (OSError, IndexError):
        return "other"
    return {"7": "poll", "45": "recvfrom"}.get(number, "other")


def all_pids(record: dict) -> list[int]:
    return [record["daemon"]["pid"]] + [a["pid"] for a in record["agents"]] + \
        [a["wallet"]["pid"] for a in record["agents"] if a["wallet"]]


# ---------------------------------------------------------------- (a)

def _freeze_then_kill(out: Path, proc: subprocess.Popen, looker: dict) -> tuple[float, float, float]:
    """SIGSTOP the looker's wallet-rpc until simulated time stands still behind the hung looker,
    SIGKILL the looker, wait for the clock to tick again, SIGCONT the wallet-rpc. Real
    (monotonic) times: the clock's last tick was first seen, the kill, time moving again."""
    os.kill(looker["wallet"]["pid"], signal.SIGSTOP)
    try:
        # Frozen: the clock agent (a tick every 5 s, 0.5 s of real time at x10) journals
        # nothing for 4 real seconds. The looker's next look hangs; it began after the clock's
        # last tick was journaled, so its RPC cannot time out before `seen + 30`.
        last = {"t": None, "seen": time.monotonic()}

        def frozen():
            ticks = journal(out, "clock")
            t = ticks[-1]["t"] if ticks else None
            if t != last["t"]:
                last.update(t=t, seen=time.monotonic())
            return time.monotonic() - last["seen"] >= 4.0
        wait_until("simulated time standing still behind the hung looker", frozen, 120, proc)
        frozen_t, seen = last["t"], last["seen"]
        assert journal(out, "looker")[-1]["event"] != "agent_stopped"
        # it holds time in an RPC (a socket read with the RPC timeout), not in a wait
        assert blocked_in(looker["pid"]) in ("poll", "unknown"), blocked_in(looker["pid"])
        os.kill(looker["pid"], signal.SIGKILL)
        killed = time.monotonic()
        wait_until("the clock ticking again after the kill",
                   lambda: journal(out, "clock")[-1]["t"] > frozen_t, 120, proc)
        return seen, killed, time.monotonic()
    finally:
        os.kill(looker["wallet"]["pid"], signal.SIGCONT)


def test_an_agent_killed_while_it_holds_time_leaves_the_barrier_at_once(tmp_path):
    """The looker hangs in `refresh` (its wallet-rpc SIGSTOPped; the launcher's RPC timeout is
    30 s), so simulated time stands still for everyone. SIGKILL it: time moves again at once,
    long before its RPC would have timed out, and the run goes to its end."""
    scenario = write_scenario(tmp_path, "lockstep-kill", "4m", (
        "  - {name: clock, tree: clock.yaml, wallet: false}\n"
        "  - {name: looker, tree: looker.yaml}\n"))
    out = tmp_path / "run"
    proc = monerosim("run", str(scenario), "--out", str(out), "--quiet", "--max-speed", "10")
    try:
        wait_until("the looker reading its balance",
                   lambda: [r for r in journal(out, "looker") if r["event"] == "balance_ok"], 180, proc)
        record = run_record(out)
        looker = next(a for a in record["agents"] if a["id"] == "looker")
        assert record["status"] == "running" and record["clock"]["kind"] == "lockstep"
        seen, killed, resumed = _freeze_then_kill(out, proc, looker)
        stdout, stderr = finish(proc, 300)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    print(f"frozen {killed - seen:.1f} s (real) before the kill; time moved again "
          f"{resumed - killed:.2f} s after it")
    # At once: well before the hung RPC's own timeout could have let time go on.
    assert resumed - seen < 20, (resumed - seen, resumed - killed)

    assert proc.returncode == 3, stdout + stderr
    assert "agent looker crashed: killed by SIGKILL" in stderr, stderr
    record = run_record(out)
    assert (record["status"], record["crashed"]) == ("failed", ["looker"]), record
    assert record["simulated"] == pytest.approx(240.0)             # the run went to its end
    clock = journal(out, "clock")
    assert clock[-1]["event"] == "agent_stopped" and clock[-1]["reason"] == "SIGTERM"
    ticks = [r["t"] - clock[0]["t"] for r in clock if r["event"] == "tick"]
    # a tick every 5 simulated seconds, before and after the kill, to the end of the run
    assert ticks == pytest.approx([5.0 * i for i in range(1, len(ticks) + 1)]) and ticks[-1] >= 235
    looker_journal = journal(out, "looker")
    assert looker_journal[-1]["event"] != "agent_stopped"          # it died where it hung
    assert not command_lines(str(out))
    assert processes_alive(all_pids(record)) == []


# ---------------------------------------------------------------- (b)

def _spec(folder: Path, agent_id: str, tree: str, *, wallet: bool) -> AgentSpec:
    return AgentSpec(id=agent_id, group=agent_id, index=0, tree=folder / tree, params={},
                     wallet=wallet, stop="late")


def _stop_a_while(world: World, pid: int, seconds: float) -> tuple[float, list, list[dict], list[dict]]:
    """SIGSTOP the wallet-rpc `pid` for `seconds` real seconds, then SIGCONT it. The simulated
    time at the stop, samples (monotonic, simulated) of the keeper's time meanwhile, and the
    looker's journal and the clock's ticks before the SIGCONT."""
    os.kill(pid, signal.SIGSTOP)
    stopped_at, stopped_t = time.monotonic(), world.now()
    try:
        # Watch the keeper's time while the wallet-rpc is stopped: how long (real seconds) it
        # stands still in one go.
        samples = [(stopped_at, stopped_t)]
        while time.monotonic() - stopped_at < seconds:
            time.sleep(0.05)
            samples.append((time.monotonic(), world.now()))
        assert not world.crashed(), world.crashed()
        return stopped_t, samples, world.journal("looker"), world.events_of("clock", "tick")
    finally:
        os.kill(pid, signal.SIGCONT)


def _longest_standstill(samples: list[tuple[float, float]]) -> float:
    """The longest stretch of real seconds over which the sampled simulated time stood still."""
    still, since = 0.0, samples[0]
    for sample in samples[1:]:
        if sample[1] != since[1]:
            since = sample
        still = max(still, sample[0] - since[0])
    return still


def test_a_hung_rpc_times_out_and_time_goes_on(tmp_path):
    """The looker's wallet-rpc is SIGSTOPped for 12 real seconds; the looker runs with
    `--rpc-timeout 2s`. Each look then hangs 2 real seconds (time stands still meanwhile), fails
    with RpcTimeout, and the agent and the clock go on in simulated time while the wallet-rpc is
    still stopped. After SIGCONT its looks succeed again."""
    write_trees(tmp_path)
    specs = [_spec(tmp_path, "clock", "clock.yaml", wallet=False),
             _spec(tmp_path, "looker", "looker.yaml", wallet=True)]
    # max_speed: the stop lasts real seconds; unlimited, time would race thousands of simulated
    # seconds between two hung looks (the trees wait, nothing else works).
    world = World(tmp_path / "run", specs, seed=5, max_speed=10,
                  extra_args={"looker": ["--rpc-timeout", "2s"]})
    try:
        world.start_daemon()
        world.start_wallets()
        world.start_agents()
        world.wait_for("the looker reading its balance",
                       lambda: world.events_of("looker", "balance_ok"), 180)
        wallet = world.supervisor.wallets["looker"]
        stopped_t, samples, during, clock_during = _stop_a_while(world, wallet.pid, 12)
        resumed_t = world.now()
        world.wait_for("the looker reading its balance after SIGCONT", lambda: [
            r for r in world.events_of("looker", "balance_ok") if r["t"] > resumed_t], 120)
        codes = world.stop_agents()
    finally:
        world.close()

    timeouts = [r for r in during if r["event"] == "rpc_failed" and r["t"] >= stopped_t]
    assert timeouts and {r["error"] for r in timeouts} == {"RpcTimeout"}, during[-10:]
    assert all(r["type"] == "CheckBalance" and r["method"] in ("refresh", "get_balance")
               for r in timeouts), timeouts
    # it kept looking: several timeouts, at different simulated times
    assert len({r["t"] for r in timeouts}) >= 2, timeouts
    # time went on after the first timeout, with the wallet-rpc still stopped
    assert [r for r in clock_during if r["t"] > timeouts[0]["t"]], (timeouts[0], clock_during[-3:])
    assert samples[-1][1] > stopped_t + 10
    # never frozen much longer than one RPC timeout (2 s) at a time
    still = _longest_standstill(samples)
    print(f"{len(timeouts)} RpcTimeout while stopped; time moved {samples[-1][1] - stopped_t:.0f} s "
          f"simulated in 12 s real; longest standstill {still:.1f} s real")
    assert still < 2 * 2 + 4, still
    assert codes == {"clock": 0, "looker": 0}
    for agent in ("clock", "looker"):
        records = world.journal(agent)
        assert records[-1]["event"] == "agent_stopped" and records[-1]["reason"] == "SIGTERM", agent
        assert not [r for r in records if r["event"] == "leaf_failed"], agent


# ---------------------------------------------------------------- (c)

def test_sigterm_stops_a_lockstep_run_cleanly(tmp_path):
    """SIGTERM mid-run, with agents waiting on the keeper, working on their wallets, and one
    agent not started yet (its start is later in simulated time)."""
    scenario = write_scenario(tmp_path, "lockstep-sigterm", "30m", (
        "  - {name: clock, tree: clock.yaml, wallet: false}\n"
        "  - {name: looker, tree: looker.yaml, count: 2, params: {every: 5s}}\n"
        "  - {name: late, tree: looker.yaml, start: 25m}\n"))
    out = tmp_path / "run"
    proc = monerosim("run", str(scenario), "--out", str(out), "--quiet", "--max-speed", "10")
    try:
        wait_until("both lookers reading their balances", lambda: all(
            [r for r in journal(out, f"looker-{i}") if r["event"] == "balance_ok"] for i in (0, 1)), 180, proc)
        origin = journal(out, "clock")[0]["t"]
        wait_until("a minute of simulated time",
                   lambda: journal(out, "clock")[-1]["t"] - origin >= 60, 180, proc)
        term_at = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        stdout, stderr = finish(proc, 120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    took = time.monotonic() - term_at
    print(f"stopped in {took:.1f} s")
    assert proc.returncode == 128 + signal.SIGTERM, stdout + stderr
    assert "interrupted by SIGTERM" in stderr
    record = run_record(out)
    assert (record["status"], record["interrupted_by"], record["exit_code"]) == ("interrupted", "SIGTERM", 143)
    assert record["clock"]["kind"] == "lockstep"
    assert [(a["id"], a["outcome"]) for a in record["agents"]] == \
        [("clock", "ok"), ("looker-0", "ok"), ("looker-1", "ok")], record["agents"]
    end = origin + record["simulated"]
    for agent in ("clock", "looker-0", "looker-1"):
        scanned = scan_journal(out / "journals" / f"{agent}.jsonl")
        assert (scanned["corrupt"], scanned["torn"]) == (0, False), agent
        records = scanned["records"]
        assert records[0]["event"] == "agent_started" and records[-1]["event"] == "agent_stopped", agent
        assert records[-1]["reason"] == "SIGTERM", agent
        assert all(r["t"] <= end for r in records), agent        # time did not run on after the stop
    assert not (out / "journals" / "late.jsonl").exists()          # never started
    assert not (out / "clock.sock").exists()
    assert not command_lines(str(out))
    assert processes_alive(all_pids(record)) == []
    for agent in record["agents"]:
        if agent["wallet"] is not None:
            assert agent["wallet"]["saved"] is True, agent
