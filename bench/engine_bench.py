"""Engine benchmarks: tick overhead vs bare py_trees, ticks per simulated day vs 1 s polling,
and tree-runner start-up time and peak RSS vs bare imports."""
from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import py_trees
from py_trees.common import ParallelPolicy

from . import Row, bench

REPO = Path(__file__).resolve().parents[1]
USER_LIKE = REPO / "tests" / "trees" / "valid" / "user-like.yaml"

# The same shape twice: a Repeat over a Sequence of selectors, decorators and a parallel.
SHAPE_YAML = """\
root:
  Repeat:
    child:
      Sequence:
        children:
          - Selector: {children: [{Fail: }, {Succeed: }]}
          - Selector: {children: [{Fail: }, {Fail: }, {Succeed: }]}
          - Inverter: {child: {Fail: }}
          - ForceSuccess: {child: {Fail: }}
          - Parallel: {children: [{Succeed: }, {Succeed: }, {Succeed: }]}
          - Sequence: {children: [{Succeed: }, {Succeed: }, {Succeed: }, {Succeed: }]}
"""


def _bare_tree() -> py_trees.behaviour.Behaviour:
    b, c, d = py_trees.behaviours, py_trees.composites, py_trees.decorators
    ok = lambda: b.Success("s")  # noqa: E731
    no = lambda: b.Failure("f")  # noqa: E731
    seq = c.Sequence("seq", memory=True, children=[
        c.Selector("sel1", memory=True, children=[no(), ok()]),
        c.Selector("sel2", memory=True, children=[no(), no(), ok()]),
        d.Inverter("inv", no()),
        d.FailureIsSuccess("force", no()),
        c.Parallel("par", policy=ParallelPolicy.SuccessOnAll(synchronise=True), children=[ok(), ok(), ok()]),
        c.Sequence("seq2", memory=True, children=[ok(), ok(), ok(), ok()]),
    ])
    return d.Repeat("repeat", seq, num_success=-1)


def _engine_agent(text: str, until_hours: float | None = None, status=None):
    from behaviours.base import AgentContext
    from engine import Factory
    from engine.clock import VirtualClock
    from engine.runner import make_rng
    factory = Factory.for_plugins()
    tree = factory.load_text(text, "tree.yaml")
    clock = VirtualClock()
    ctx = AgentContext("bench-1", clock=clock, rng=make_rng(1, "bench-1"))
    return factory.agent(tree, ctx, clock, seed=1, status=status)


def _per_tick(tick, n: int, rounds: int = 7) -> float:
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(n):
            tick()
        samples.append((time.perf_counter() - start) / n)
    return min(samples)


@bench("engine.tick_overhead")
def tick_overhead() -> list[Row]:
    """Seconds per tick of the same-shaped tree: engine Agent.tick vs bare root.tick_once."""
    bare = _bare_tree()
    agent = _engine_agent(SHAPE_YAML)
    n = 3000
    for _ in range(200):  # warm up both
        bare.tick_once()
        agent.tick()
    ours = _per_tick(agent.tick, n)
    base = _per_tick(bare.tick_once, n)
    ratio = ours / base
    agent.ctx.clear_blackboard()
    return [Row("time per tick (22 nodes)", ours, base, "s", "≤ 1.25×", ratio <= 1.25)]


@bench("engine.ticks_per_day")
def ticks_per_day() -> list[Row]:
    """Ticks for the user-like tree over a simulated day vs a 1-second polling loop."""
    from behaviours.base import AgentContext
    from engine import Factory
    from engine.clock import SHADOW_EPOCH, VirtualClock
    from engine.runner import make_rng
    factory = Factory.for_plugins()
    clock = VirtualClock()
    ctx = AgentContext("user-1", clock=clock, rng=make_rng(1, "user-1"))
    agent = factory.agent(factory.load(USER_LIKE), ctx, clock, seed=1)
    agent.run(until=SHADOW_EPOCH + 86400)
    ctx.clear_blackboard()
    payments = sum(1 for r in ctx.journal.records if r["event"] == "payment")
    polling = 86400
    return [Row("ticks per simulated day", agent.ticks, polling, "ticks", "≥ 100× fewer",
                polling / agent.ticks >= 100,
                note=f"{polling / agent.ticks:.0f}× fewer ticks than 1 s polling; {payments} payments")]


def _run_measured(cmd: list[str], env: dict) -> tuple[float, float]:
    """(wall seconds, peak RSS in MB) of one child process."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _pid, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    err = proc.stderr.read().decode() if proc.stderr else ""
    if proc.stderr:
        proc.stderr.close()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd} exited {proc.returncode}: {err}")
    return elapsed, usage.ru_maxrss / 1024


@bench("engine.startup")
def startup() -> list[Row]:
    """tree-runner start to first tick (a tree that finishes on its first tick) and peak RSS,
    vs `python -c "import py_trees, yaml, jsonschema, requests"`."""
    import compileall
    # An installed package has bytecode; a checkout under PYTHONDONTWRITEBYTECODE would not.
    for package in ("lang", "engine", "behaviours", "ipc", "rpc_client", "bench"):
        compileall.compile_dir(REPO / package, quiet=1)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = str(REPO)
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "first-tick.yaml"
        # a real-sized tree whose first tick ends it: everything is loaded and validated
        tree.write_text(USER_LIKE.read_text().replace("root:\n  Sequence:\n    name: lifecycle",
                                                      "root:\n  Selector:\n    name: lifecycle"))
        common = Path(tmp) / "common"
        common.mkdir()
        (common / "bootstrap.yaml").write_text((USER_LIKE.parent / "common" / "bootstrap.yaml").read_text())
        ours_cmd = [sys.executable, "-m", "engine.cli", str(tree), "--agent", "b-1", "--virtual"]
        base_cmd = [sys.executable, "-c", "import py_trees, yaml, jsonschema, requests"]
        ours, base, ours_rss, base_rss = [], [], [], []
        for _ in range(7):
            t, rss = _run_measured(ours_cmd, env)
            ours.append(t)
            ours_rss.append(rss)
            t, rss = _run_measured(base_cmd, env)
            base.append(t)
            base_rss.append(rss)
    t_ours, t_base = statistics.median(ours), statistics.median(base)
    return [
        Row("start to first tick", t_ours, t_base, "s", "≤ 1.3×", t_ours / t_base <= 1.3),
        Row("peak RSS", max(ours_rss), max(base_rss), "MB", "≤ 45 MB", max(ours_rss) <= 45),
    ]
