"""Agent processes (command line, environment, how an exit is classified) and the progress line,
with short-lived Python processes instead of tree-runner: no Monero needed."""
import io
import os
import sys
import time
from pathlib import Path

import pytest

from sim.report import progress as progress_mod
from sim import REPO_ROOT
from sim.report.outcomes import CRASHED, FAILED, FINISHED, KILLED, OK
from sim.local.agents import (AgentProcess, agent_argv,
                        agent_env)
from sim.report.progress import Display, Progress
from sim.scenario.load import AgentSpec

SPEC = AgentSpec("user-3", "user", 3, Path("/trees/user.yaml"), {"amount": 0.5, "shop": "shop-0"},
                 True, "early", ("my_leaves",))


def test_argv():
    argv = agent_argv(SPEC, daemon_url="http://127.0.0.1:1", wallet_url="http://127.0.0.1:2",
                      shared=Path("/run/shared"), journals=Path("/run/journals"), seed=42,
                      clock=["--lockstep", "/run/clock.sock"], python="/venv/python")
    assert argv == ["/venv/python", "-m", "engine", "run", "/trees/user.yaml", "--agent", "user-3",
                    "--daemon", "http://127.0.0.1:1", "--shared", "/run/shared",
                    "--journal", "/run/journals", "--state", "/run/state", "--seed", "42",
                    "--lockstep", "/run/clock.sock", "--status", "/run/status",
                    "--wallet", "http://127.0.0.1:2",
                    "--plugin", "my_leaves", "--param", "amount=0.5", "--param", 'shop="shop-0"']
    no_wallet = agent_argv(SPEC, daemon_url="d", wallet_url=None, shared=Path("s"), journals=Path("j"),
                           seed=0, clock=["--time-scale", "1"])
    assert "--wallet" not in no_wallet and no_wallet[0] == sys.executable


def test_env():
    env = agent_env({"PATH": "/bin", "MONEROSIM_PARAMS": '{"x": 1}', "MONEROSIM_AGENT": "x",
                     "PYTHONPATH": "/extra"})
    assert not any(k.startswith("MONEROSIM_") for k in env)
    assert env["PATH"] == "/bin"
    assert env["PYTHONPATH"] == f"{REPO_ROOT}{os.pathsep}/extra"
    assert (env["PYTHONUNBUFFERED"], env["PYTHONHASHSEED"], env["MALLOC_ARENA_MAX"]) == ("1", "0", "1")


def started(tmp_path, code: str) -> AgentProcess:
    agent = AgentProcess(SPEC, [sys.executable, "-c", code], tmp_path / "logs" / "agent-user-3.log")
    agent.start(agent_env(), tmp_path)
    return agent


def wait_end(agent: AgentProcess, grace: float = 10.0, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not agent.reap(grace):
        assert time.monotonic() < deadline, "the process did not end"
        time.sleep(0.05)


def wait_ready(agent: AgentProcess) -> None:
    """Until the child printed 'ready' (its signal handler is in place)."""
    deadline = time.monotonic() + 20
    while "ready" not in agent.log_path.read_text():
        assert time.monotonic() < deadline and agent.popen.poll() is None
        time.sleep(0.05)


@pytest.mark.parametrize("code, outcome, detail", [
    ("pass", FINISHED, "its tree finished"),
    ("import sys; sys.exit(3)", CRASHED, "crashed: exit code 3"),
    ("import os, signal; os.kill(os.getpid(), signal.SIGKILL)", CRASHED, "crashed: killed by SIGKILL"),
])
def test_exit_before_stop(tmp_path, code, outcome, detail):
    agent = started(tmp_path, code)
    wait_end(agent)
    assert (agent.outcome, agent.detail, agent.alive()) == (outcome, detail, False)
    assert agent.record()["outcome"] == outcome and agent.record()["pid"] == agent.popen.pid


def test_clean_stop(tmp_path):
    agent = started(tmp_path, "import signal, sys, time\n"
                              "signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))\n"
                              "print('ready', flush=True)\ntime.sleep(60)")
    wait_ready(agent)
    agent.terminate()
    wait_end(agent)
    assert (agent.outcome, agent.exit_code, agent.detail) == (OK, 0, "")


def test_non_zero_after_stop(tmp_path):
    agent = started(tmp_path, "import time; print('ready', flush=True); time.sleep(60)")
    wait_ready(agent)
    agent.terminate()
    wait_end(agent)
    assert (agent.outcome, agent.detail) == (FAILED, "killed by SIGTERM after SIGTERM")


def test_a_tree_that_failed_before_its_stop_crashed(tmp_path):
    """The tree ended in FAILURE (journaled) but the process exited only after its SIGTERM."""
    journal = tmp_path / "user-3.jsonl"
    agent = AgentProcess(SPEC, [sys.executable, "-c",
                                "import json, signal, sys, time\n"
                                "signal.signal(signal.SIGTERM, lambda *a: sys.exit(1))\n"
                                f"open({str(journal)!r}, 'a').write(json.dumps({{'event': 'agent_started'}}) + '\\n'"
                                " + json.dumps({'event': 'agent_stopped', 'reason': 'finished',"
                                " 'status': 'FAILURE'}) + '\\n')\n"
                                "print('ready', flush=True)\ntime.sleep(60)"],
                         tmp_path / "logs" / "agent-user-3.log", journal=journal)
    agent.start(agent_env(), tmp_path)
    wait_ready(agent)
    agent.terminate()
    wait_end(agent)
    assert (agent.outcome, agent.detail) == (CRASHED, "crashed: exit code 1")


def test_ignoring_sigterm_gets_killed_after_the_grace(tmp_path):
    agent = started(tmp_path, "import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
                              "print('ready', flush=True)\ntime.sleep(60)")
    wait_ready(agent)
    agent.terminate()
    assert agent.reap(0.5) is False and agent.alive()      # within the grace: left alone
    time.sleep(0.6)
    assert agent.reap(0.5) is True
    assert (agent.outcome, agent.exit_code) == (KILLED, -9)
    assert agent.detail == "did not stop within 0.5 s of SIGTERM; killed"


def test_output_goes_to_the_log(tmp_path):
    agent = started(tmp_path, "import sys; print('out'); print('err', file=sys.stderr)")
    wait_end(agent)
    assert sorted(agent.log_path.read_text().split()) == ["err", "out"]
    assert agent.tail(1) in ("out", "err")


# --------------------------------------------------------------------------- progress

class Tty(io.StringIO):
    def isatty(self):
        return True


def test_display_on_a_tty():
    out = Tty()
    display = Display(stream=out)
    display.progress("a")
    display.progress("b")
    display.say("phase")
    display.progress("c")
    display.end()
    assert out.getvalue() == "\r\x1b[Ka\r\x1b[Kb\nphase\n\r\x1b[Kc\n"


def test_display_plain_lines_are_spaced(monkeypatch):
    out = io.StringIO()
    display = Display(stream=out)
    now = [1000.0]
    monkeypatch.setattr(progress_mod.time, "monotonic", lambda: now[0])
    display.progress("first")
    now[0] += 5
    display.progress("too soon")
    now[0] += progress_mod.PLAIN_EVERY
    display.progress("later")
    assert out.getvalue() == "first\nlater\n"


def test_display_quiet():
    out = Tty()
    display = Display(quiet=True, stream=out)
    display.progress("x")
    display.say("phase")
    display.say("crash", always=True)
    assert out.getvalue() == "crash\n"


def test_progress_tails_the_journals(tmp_path):
    journals = tmp_path / "journals"
    journals.mkdir()
    progress = Progress(tmp_path)
    (journals / "pool-0.jsonl").write_text('{"event":"block_mined","agent":"pool-0","height":4}\n'
                                           '{"event":"block_mi')
    progress.poll()
    assert progress.tally.pool_blocks == {"pool-0": 1}
    with open(journals / "pool-0.jsonl", "a") as f:
        f.write('ned","agent":"pool-0","height":5}\n')
    (journals / "user-0.jsonl").write_text(
        '{"event":"payment_sent","agent":"user-0","payment_id":"p","shop":"s","txid":"t"}\n'
        '{"event":"leaf_failed","agent":"user-0","node":"x"}\n')
    progress.poll()
    assert progress.tally.pool_blocks == {"pool-0": 2}
    line = progress.line(90, 600, 2, 3)
    assert line == ("1m30s/10m | steady | height 5 | blocks pool-0:2 | payments 1 sent, 0 seen, 0 confirmed "
                    "| errors 1 | agents 2/3 up")


@pytest.mark.parametrize("journal_text, outcome", [
    (None, OK),                                                   # no journal yet: still starting
    ('{"event":"agent_started","agent":"user-3"}\n', FAILED),     # it was running: a bad stop
])
def test_sigterm_while_starting_is_not_a_failure(tmp_path, journal_text, outcome):
    journal = tmp_path / "journals" / "user-3.jsonl"
    if journal_text is not None:
        journal.parent.mkdir()
        journal.write_text(journal_text)
    agent = AgentProcess(SPEC, [sys.executable, "-c", "import time; print('ready', flush=True); "
                                                      "time.sleep(60)"],
                         tmp_path / "agent.log", journal=journal)
    agent.start(agent_env(), tmp_path)
    wait_ready(agent)
    agent.terminate()
    wait_end(agent)
    assert (agent.outcome, agent.exit_code) == (outcome, -15)


def test_a_daemon_aborting_after_it_stopped_is_a_note_any_other_bad_end_a_failure():
    from sim.local.walletstops import judge_daemon_stop
    stopped = "I Node stopped.\nI Deinitializing core RPC server...\nI Deinitializing p2p...\n*** stack smashing detected ***: terminated"
    assert judge_daemon_stop("shop-1", 0, "") == (None, None)
    failure, note = judge_daemon_stop("shop-1", -6, stopped)
    assert failure is None and "monerod shop-1 killed by SIGABRT in its teardown after it had stopped" in note
    segv = "I Node stopped.\nI Deinitializing core RPC server...\nI Deinitializing p2p...\nI Deinitializing core..."
    failure, note = judge_daemon_stop("pool", -11, segv)          # seen once in 14 daemons
    assert failure is None and "monerod pool killed by SIGSEGV in its teardown" in note
    failure, note = judge_daemon_stop("shop-1", -6, "I Synced 163/163")          # not stopped yet
    assert note is None and failure == "monerod shop-1 stopped badly (killed by SIGABRT)"
    failure, _ = judge_daemon_stop("pool", -9, stopped)
    assert failure == "monerod pool stopped badly (killed by SIGKILL)"
