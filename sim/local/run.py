"""`monerosim run`: launch a scenario (`sim.local.launcher`), then its summary, verdict and exit code."""
from __future__ import annotations

import json
import signal
import sys
import time
from pathlib import Path

from sim.local.launcher import Launcher
from sim.local.live import LiveView
from sim.report.progress import Display
from sim.scenario.footprint import too_big
from sim.scenario.load import Scenario
from sim.report.summary import format_summary, summarize
from sim.report.verdict import verdict_line

__all__ = ["default_run_dir", "run_scenario"]


def default_run_dir(scenario: Scenario) -> Path:
    return Path("runs") / f"{scenario.name}-{time.strftime('%Y%m%d-%H%M%S')}"


def run_scenario(scenario: Scenario, run_dir: Path, *, clock: str = "lockstep",
                 time_scale: float | None = None, max_speed: float | None = None,
                 duration: float | None = None, quiet: bool = False,
                 status_journal: bool = True, live: int | None = 0, live_hold: float = 0.0,
                 memory_check: bool = True) -> int:
    """Run, then print the summary (stdout), write summary.json, name crashed agents and end
    with the verdict (stderr). Returns the exit code the verdict gives, or 2 before anything
    starts when the run needs more memory than is available (`memory_check`). `live`: the live
    view's port (0: a free one, None: no live view), kept `live_hold` real seconds after the verdict."""
    problem = too_big(scenario) if memory_check else None
    if problem:
        print(f"monerosim: {problem}", file=sys.stderr)
        return 2
    launcher = Launcher(scenario, run_dir, clock=clock, time_scale=time_scale, max_speed=max_speed,
                        duration=duration, display=Display(quiet=quiet),
                        status_journal=status_journal)
    view = _live_view(launcher, live) if status_journal and live is not None else None
    try:
        code = _run_and_judge(launcher)
        if view is not None and live_hold > 0:
            time.sleep(live_hold)
    finally:
        if view is not None:
            view.stop()
    return code


def _live_view(launcher: Launcher, port: int) -> LiveView:
    def state() -> dict:
        clock = launcher.clock
        return {"status": launcher.status, "verdict": launcher.verdict,
                "simulated": clock.elapsed() if clock is not None else None}
    view = LiveView(launcher.run_dir, state, port)
    launcher.display.say(f"live view: {view.start()}")     # --quiet: not even this
    return view


def _run_and_judge(launcher: Launcher) -> int:
    launcher.run()
    summary = summarize(launcher.run_dir)
    (launcher.run_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    print(format_summary(summary), flush=True)
    code = launcher.judged(summary["verdict"]["verdict"])
    for agent in launcher.crashed():
        print(f"monerosim: agent {agent.id} {agent.detail} (log {agent.log_path})", file=sys.stderr)
    for failure in launcher.failures:
        print(f"monerosim: {failure}", file=sys.stderr)
    if launcher.signal:
        print(f"monerosim: interrupted by {signal.Signals(launcher.signal).name}; everything stopped",
              file=sys.stderr)
    launcher.display.say(verdict_line(summary["verdict"]), always=True)
    return code
