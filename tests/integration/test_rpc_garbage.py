"""Issue 6, RPC garbage at the agent level: a real tree-runner whose daemon and wallet are a
local server answering non-JSON, wrong JSON-RPC shapes, HTTP 500, or nothing at all.

Each call fails within the RPC timeout with a clear error (`rpc_failed` naming the error class in
the journal), the agent keeps ticking (later events exist), and SIGTERM stops it with exit 0.
"""
from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

import ipc

REPO = Path(__file__).resolve().parents[2]
RPC_TIMEOUT = 1.0          # seconds (--rpc-timeout)
HANG = 30.0                # a hanging answer waits this long (far past the timeout)

# mode -> answers the server cycles through: (HTTP status, body) or "hang"
MODES = {
    "non-json": [(200, b"<html><body>502 Bad Gateway</body></html>"), (200, b"\x00\xff\xfe garbage"),
                 (200, b'{"result": {"balance": 1'), (200, b"")],
    "wrong-shape": [(200, b"[1, 2, 3]"), (200, b'"just a string"'), (200, b"null"), (200, b'{"jsonrpc": "2.0"}'),
                    (200, b'{"error": "boom"}'), (200, b'{"error": {"code": "x", "message": "m"}}')],
    "http-500": [(500, b"Internal Server Error"), (503, b"")],
    "hang": ["hang"],
}
# mode -> the error classes its rpc_failed entries must name
ERRORS = {"non-json": {"BadResponse"}, "wrong-shape": {"BadResponse"}, "http-500": {"HttpError"},
          "hang": {"RpcTimeout"}}

TREE = """\
version: 1
role: victim
description: Waits for a daemon (bounded), then checks its balance forever, ticking on failure.
root:
  Sequence:
    children:
      - ForceSuccess:
          child:
            Timeout:
              after: 3s
              child: {WaitForDaemon: {poll: 200ms}}
      - RecordEvent: {event: daemon_phase_done}
      - Repeat:
          child:
            Sequence:
              children:
                - ForceSuccess: {child: {CheckBalance: {min_unlocked: 1}}}
                - RecordEvent: {event: tick}
                - Wait: {duration: 200ms}
"""


class Garbage:
    """A threaded HTTP server on 127.0.0.1:0 answering every POST from `answers` in turn."""

    def __init__(self, answers):
        self.answers = itertools.cycle(answers)
        self.lock = threading.Lock()
        self.release = threading.Event()
        self.requests = 0
        garbage = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length", 0) or 0))
                with garbage.lock:
                    garbage.requests += 1
                    answer = next(garbage.answers)
                if answer == "hang":
                    garbage.release.wait(HANG)
                    return
                status, body = answer
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


def _journal(path: Path) -> list[dict]:
    try:
        return ipc.read_journal(path)
    except FileNotFoundError:
        return []


@pytest.mark.parametrize("mode", sorted(MODES))
def test_agent_survives_rpc_garbage(tmp_path, mode):
    (tmp_path / "victim.yaml").write_text(TREE)
    journal = tmp_path / "journals" / "victim.jsonl"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONEROSIM_")}
    env["PYTHONPATH"] = str(REPO)
    with Garbage(MODES[mode]) as server:
        argv = [sys.executable, "-m", "engine", "run", str(tmp_path / "victim.yaml"), "--agent", "victim",
                "--daemon", server.url, "--wallet", server.url, "--journal", str(tmp_path / "journals"),
                "--rpc-timeout", f"{RPC_TIMEOUT:g}s", "--idle", "1s"]
        proc = subprocess.Popen(argv, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, stdin=subprocess.DEVNULL)
        try:
            # enough failures and ticks after them: the agent lives through the garbage
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and proc.poll() is None:
                records = _journal(journal)
                failures = [r for r in records if r["event"] == "rpc_failed"]
                ticks = [r for r in records if r["event"] == "tick"]
                if len(ticks) >= 4 and len(failures) >= 4 and ticks[-1]["t"] > failures[-1]["t"] - 1e-9 \
                        and {f["error"] for f in failures} >= ERRORS[mode]:
                    break
                time.sleep(0.2)
            assert proc.poll() is None, f"the agent died:\n{proc.communicate()[0]}"
            stop = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            out, _ = proc.communicate(timeout=15)
            stopped_in = time.monotonic() - stop
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        requests = server.requests

    records = _journal(journal)
    events = [r["event"] for r in records]
    assert proc.returncode == 0, out
    assert "Traceback" not in out, out
    assert stopped_in < 2 * RPC_TIMEOUT + 5, stopped_in
    assert events[0] == "agent_started" and events[-1] == "agent_stopped", events
    assert "daemon_phase_done" in events, events
    failures = [r for r in records if r["event"] == "rpc_failed"]
    ticks = [r for r in records if r["event"] == "tick"]
    assert len(failures) >= 4 and len(ticks) >= 4, events
    assert {f["error"] for f in failures} == ERRORS[mode], failures
    for f in failures:              # a clear error: which call, which class, what happened
        assert f["method"] in ("get_info", "refresh", "get_balance") and f["message"], f
        assert f["type"] in ("WaitForDaemon", "CheckBalance"), f
    assert not [r for r in records if r["event"] == "leaf_failed"], records
    # bounded time: no gap between ticks much longer than one RPC timeout per call of a look
    gaps = [b["t"] - a["t"] for a, b in zip(ticks, ticks[1:])]
    assert max(gaps) < 2 * RPC_TIMEOUT + 3, gaps
    # the agent kept asking (ticks after failures), it did not give up after the first error
    assert ticks[-1]["t"] >= min(f["t"] for f in failures)
    assert requests >= len(failures)
    if mode == "hang":
        # WaitForDaemon treats no answer as "not up yet": bounded by the tree's Timeout (3 s)
        started = records[0]["t"]
        done = next(r for r in records if r["event"] == "daemon_phase_done")
        assert done["t"] - started < 3 + 2 * RPC_TIMEOUT + 2, records[:5]
        assert any(r["event"] == "daemon_waiting" and r["error"] == "RpcTimeout" for r in records), records[:5]


def test_wrong_result_content_is_a_clear_leaf_failure(tmp_path):
    """JSON-RPC that is well formed but whose `result` lacks the fields a leaf needs: the leaf
    fails with a named error (KeyError), journaled; the agent goes on."""
    (tmp_path / "victim.yaml").write_text(TREE)
    journal = tmp_path / "journals" / "victim.jsonl"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONEROSIM_")}
    env["PYTHONPATH"] = str(REPO)
    answers = [(200, json.dumps({"jsonrpc": "2.0", "id": 1, "result": {"unexpected": True}}).encode())]
    with Garbage(answers) as server:
        argv = [sys.executable, "-m", "engine", "run", str(tmp_path / "victim.yaml"), "--agent", "victim",
                "--daemon", server.url, "--wallet", server.url, "--journal", str(tmp_path / "journals"),
                "--rpc-timeout", "1s", "--stop-after", "3s"]
        done = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "Traceback" not in done.stdout + done.stderr, done.stderr
    records = _journal(journal)
    failed = [r for r in records if r["event"] in ("leaf_failed", "rpc_failed")]
    assert failed and all(r["type"] == "CheckBalance" and r["error"] for r in failed), records
    assert len([r for r in records if r["event"] == "tick"]) >= 3
    assert records[-1]["event"] == "agent_stopped"
