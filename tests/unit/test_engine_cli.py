"""tree-runner as a real process: run, env vars, validate, schema, render, SIGTERM."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import ipc
from engine.cli import main

REPO = Path(__file__).resolve().parents[2]
VALID = REPO / "tests" / "trees" / "valid"


def env(**extra):
    base = {k: v for k, v in os.environ.items() if not k.startswith("MONEROSIM_")}
    base["PYTHONPATH"] = os.pathsep.join([str(REPO), str(REPO / "tests" / "engine")])
    base.update(extra)
    return base


def tree_runner(*args, timeout=60, **extra_env):
    return subprocess.run([sys.executable, "-m", "engine.cli", *map(str, args)], cwd=REPO, env=env(**extra_env),
                          capture_output=True, text=True, timeout=timeout)


def test_run_virtual_writes_the_journal(tmp_path):
    result = tree_runner(VALID / "all-nodes.yaml", "--agent", "a-1", "--virtual", "--journal", tmp_path, "--seed", 5)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    records = ipc.read_journal(tmp_path / "a-1.jsonl")
    assert records[0]["event"] == "agent_started" and records[0]["seed"] == 5
    assert records[-1]["event"] == "agent_stopped" and records[-1]["reason"] == "finished"


def test_every_option_comes_from_the_environment(tmp_path):
    result = tree_runner(MONEROSIM_TREE=str(VALID / "user-like.yaml"), MONEROSIM_AGENT="u-7",
                         MONEROSIM_JOURNAL=str(tmp_path), MONEROSIM_SEED="9", MONEROSIM_VIRTUAL="1",
                         MONEROSIM_STOP_AFTER="1h", MONEROSIM_PARAMS=json.dumps({"shop": "shop-9"}),
                         MONEROSIM_LOG_LEVEL="error")
    assert result.returncode == 0, result.stderr
    records = ipc.read_journal(tmp_path / "u-7.jsonl")
    payments = [r for r in records if r["event"] == "payment"]
    assert payments and {r["to"] for r in payments} == {"shop-9"}
    assert records[-1]["reason"] == "until"
    assert records[-1]["t"] - records[0]["t"] == pytest.approx(3600)


def test_command_line_param_beats_environment(tmp_path):
    result = tree_runner(VALID / "user-like.yaml", "--agent", "u-1", "--journal", tmp_path, "--virtual",
                         "--stop-after", "30m", "--param", "shop=cli-shop", "--param", "tx_interval=1m",
                         MONEROSIM_PARAMS=json.dumps({"shop": "env-shop"}))
    assert result.returncode == 0, result.stderr
    payments = [r for r in ipc.read_journal(tmp_path / "u-1.jsonl") if r["event"] == "payment"]
    assert len(payments) == 30 and {r["to"] for r in payments} == {"cli-shop"}


def test_scaled_clock_compresses_time(tmp_path):
    tree = tmp_path / "t.yaml"
    tree.write_text("root:\n  Sequence:\n    children:\n      - Wait: {duration: 5m}\n"
                    "      - RecordEvent: {event: done}\n")
    start = time.monotonic()
    result = tree_runner(tree, "--agent", "s1", "--time-scale", "600", "--journal", tmp_path)
    elapsed = time.monotonic() - start
    assert result.returncode == 0, result.stderr
    records = ipc.read_journal(tmp_path / "s1.jsonl")
    assert records[-2]["event"] == "done"
    assert 300 <= records[-2]["t"] - records[0]["t"] < 420   # 0.2 s of real-time jitter allowed
    assert elapsed < 10


@pytest.mark.parametrize("args, message", [
    (["--agent", "Bad_Id"], "--agent: agent id 'Bad_Id'"),
    ([], "--agent ID is required"),
    (["--agent", "a", "--param", "nope=1"], "--param nope: the tree has no parameter 'nope'"),
    (["--agent", "a", "--param", "novalue"], "--param 'novalue': write NAME=VALUE"),
    (["--agent", "a", "--time-scale", "0"], "--time-scale: must be above 0"),
    (["--agent", "a", "--idle", "5 minutes"], "--idle: bad duration '5 minutes' (write 5m)"),
])
def test_bad_options_exit_2_without_traceback(args, message):
    result = tree_runner(VALID / "all-nodes.yaml", *args)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr


def test_rpc_leaf_without_url_is_refused_before_start(tmp_path):
    tree = tmp_path / "t.yaml"
    tree.write_text("root:\n  AskDaemon: {}\n")
    result = tree_runner(tree, "--agent", "a", "--plugin", "plugin_leaves", "--journal", tmp_path)
    assert result.returncode == 2
    assert "AskDaemon calls the daemon RPC: pass --daemon URL (or set MONEROSIM_DAEMON)" in result.stderr
    assert not (tmp_path / "a.jsonl").exists()


def test_tree_failure_exits_1(tmp_path):
    tree = tmp_path / "t.yaml"
    tree.write_text("root:\n  Fail:\n")
    assert tree_runner(tree, "--agent", "a", "--virtual").returncode == 1


def test_validate_many_files(capsys):
    code = main(["validate", str(VALID / "user-like.yaml"), str(VALID / "all-nodes.yaml"),
                 str(REPO / "tests" / "trees" / "malformed" / "scalar-body.yaml")])
    out, err = capsys.readouterr()
    assert code == 2
    assert out.count(": ok (") == 2
    assert "scalar-body.yaml:2:9: root.Wait: Wait takes a mapping" in err


@pytest.mark.parametrize("suffix, check", [
    (".txt", lambda b: b.decode().splitlines()[1] == 'Sequence "lifecycle"' and "|-- " in b.decode()),
    (".utf8", lambda b: "├── Subtree  (use: common.bootstrap)" in b.decode()),
    (".dot", lambda b: b.startswith(b"digraph tree {") and b"Wait\\nduration: exponential(mean: 5m)" in b),
    (".svg", lambda b: b"<svg" in b),
    (".png", lambda b: b.startswith(b"\x89PNG")),
])
def test_render_formats_create_the_folder(tmp_path, suffix, check, capsys):
    if suffix in (".svg", ".png") and not __import__("shutil").which("dot"):
        pytest.skip("graphviz dot not installed")
    out = tmp_path / "deep" / "folder" / f"user{suffix}"
    assert main(["render", str(VALID / "user-like.yaml"), "-o", str(out)]) == 0
    assert capsys.readouterr() == ("", "")
    assert check(out.read_bytes())


def test_render_shows_types_names_and_key_params(tmp_path):
    out = tmp_path / "t.utf8"
    assert main(["render", str(VALID / "user-like.yaml"), "-o", str(out)]) == 0
    text = out.read_text()
    assert "Sequence “lifecycle”" in text and "Wait  (duration: exponential(mean: 5m))" in text
    assert "CheckValue  (key: ready, equals: true)" in text


def test_render_rejects_unknown_suffix(tmp_path, capsys):
    assert main(["render", str(VALID / "user-like.yaml"), "-o", str(tmp_path / "x.jpeg")]) == 2
    assert "cannot tell the format of 'x.jpeg'" in capsys.readouterr().err
    assert not (tmp_path / "x.jpeg").exists()


def test_sigterm_stops_cleanly_within_5_seconds(tmp_path):
    tree = tmp_path / "t.yaml"
    tree.write_text("root:\n  Parallel:\n    children:\n      - Wait: {duration: 1h}\n"
                    "      - ShutdownProbe: {label: wallet-stored}\n")
    proc = subprocess.Popen([sys.executable, "-m", "engine.cli", str(tree), "--agent", "sig-1",
                             "--journal", str(tmp_path), "--plugin", "plugin_leaves", "--idle", "1h"],
                            cwd=REPO, env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    journal = tmp_path / "sig-1.jsonl"
    deadline = time.monotonic() + 30
    while not (journal.exists() and ipc.read_journal(journal)):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "agent did not start"
        time.sleep(0.05)
    time.sleep(0.3)  # let it go to sleep in the tick loop
    sent = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=10)
    took = time.monotonic() - sent
    assert proc.returncode == 0, err
    assert took < 5
    assert (out, "Traceback" in err) == ("", False)
    events = [(r["event"], r.get("reason"), r.get("label")) for r in ipc.read_journal(journal)]
    assert events == [("agent_started", None, None), ("agent_stopped", "SIGTERM", None),
                      ("probe_shutdown", None, "wallet-stored")]


def test_sigint_is_handled_like_sigterm(tmp_path):
    tree = tmp_path / "t.yaml"
    tree.write_text("root:\n  Wait: {duration: 1h}\n")
    proc = subprocess.Popen([sys.executable, "-m", "engine.cli", str(tree), "--agent", "sig-2",
                             "--journal", str(tmp_path)], cwd=REPO, env=env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    journal = tmp_path / "sig-2.jsonl"
    deadline = time.monotonic() + 30
    while not (journal.exists() and ipc.read_journal(journal)):
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=10)
    assert proc.returncode == 0
    assert ipc.read_journal(journal)[-1]["reason"] == "SIGINT"
