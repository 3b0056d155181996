"""The link emulator, sim/network: the pure delivery model and plan file, then the relay as a real
process (`Relay`) between real sockets on 127.77.0.x (Linux routes all of 127/8 to lo).

Timing assertions are tight only from below (the relay must never deliver early); upper bounds
are generous. Measured on a 2-core machine, 50 round trips through a 0.1 s link, extra over
0.2 s: median 1.3-1.7 ms, max 4.2 ms idle; median 0.5-1.3 ms, max 9 ms with one or both cores
burning. SLACK is five times that worst case.
"""
from __future__ import annotations

import json
import os
import random
import re
import signal
import socket
import socketserver
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from sim import REPO_ROOT
from sim.monero import ProcessError
from sim.network.links import (BACK, FORWARD, MIN_RTO, Delivery, LinkSpec, PlanError, load_plan,
                               write_plan)
from sim.network.pipes import QUEUE_LIMIT
from sim.network.relay import Relay, parent_gone

NEAR, FAR = "127.77.0.2", "127.77.0.3"     # the monerod that connects, the one connected to
SLACK = 0.05                               # upper bounds only (docstring)
BOUND = 10.0                               # a socket operation that hangs this long has failed


# ------------------------------------------------------------------ the pure model
def _model(delay=0.1, jitter=0.0, rate=0.0, loss=0.0, seed="s") -> Delivery:
    return Delivery(delay, jitter, rate, loss, random.Random(seed))


def test_serialisation_queues_chunks_at_the_link_rate():
    model = _model(delay=0.1, rate=8000)           # 1000 bytes a second
    dues = [model.chunk(500, 10.0) for _ in range(3)]
    assert dues == pytest.approx([10.6, 11.1, 11.6])
    assert model.chunk(100, 20.0) == pytest.approx(20.2)     # an idle link starts afresh
    assert _model(delay=0.1, rate=0).chunk(10 ** 9, 5.0) == pytest.approx(5.1)


def test_jitter_stays_within_its_bounds_and_never_reorders():
    model, t, dues = _model(delay=0.05, jitter=0.03, seed="j"), 0.0, []
    for _ in range(2000):
        t += random.Random(len(dues)).uniform(0, 0.02)
        dues.append((t, model.chunk(100, t)))
    assert all(b[1] >= a[1] for a, b in zip(dues, dues[1:]))                 # order kept
    extra = [d - t - 0.05 for t, d in dues]
    assert min(extra) >= 0 and 0.0299 < max(extra) <= 0.03   # U(0, jitter), used to its bound
    assert sum(b[1] == a[1] for a, b in zip(dues, dues[1:])) > 10   # some held back by order


def test_a_lost_segment_costs_one_retransmission():
    lossy, clean = _model(delay=0.1, loss=1.0), _model(delay=0.1, loss=0.0)
    assert lossy.chunk(1, 0.0) == pytest.approx(0.1 + MIN_RTO + 0.2)
    assert clean.chunk(1, 0.0) == pytest.approx(0.1)
    assert (lossy.retransmitted, clean.retransmitted) == (1, 0)


def test_loss_is_per_segment_and_seeded():
    def lost(n, seed):
        model = _model(delay=0.0, loss=0.01, seed=seed)
        return sum(model.chunk(n, float(i)) > i + 1e-9 for i in range(20000))

    # P(chunk penalised) = 1 - 0.99 ** segments: 1 segment ~1 %, 10 segments ~9.6 %
    assert 150 < lost(1448, "a") < 250
    assert 1700 < lost(1448 * 10, "a") < 2150
    assert 1700 < lost(1448 * 9 + 1, "b") < 2150                  # 9 segments and a byte
    assert lost(1448 * 10, "a") == lost(1448 * 10, "a")           # the seed decides


def test_eof_follows_the_data_one_delay_later():
    model = _model(delay=0.1, rate=8000, jitter=0.05)
    due = model.chunk(1000, 0.0)
    assert model.eof(0.0) == pytest.approx(max(due, 1.0 + 0.1))
    assert model.eof(5.0) == pytest.approx(5.1)


def test_each_connection_and_direction_draws_its_own_stream():
    spec = _spec(jitter=1.0, seed="7/x")
    draws = {(d, c): spec.delivery(d, c).chunk(1, 0.0) for d in (FORWARD, BACK) for c in (0, 1)}
    assert len(set(draws.values())) == 4
    assert spec.delivery(FORWARD, 1).chunk(1, 0.0) == draws[FORWARD, 1]


# ------------------------------------------------------------------ the plan file
def _spec(**kw) -> LinkSpec:
    base = dict(name="a>b", listen=(NEAR, 0), connect=(FAR, 1), source=NEAR, delay=0.1)
    return LinkSpec(**{**base, **kw})


def test_a_plan_reads_back_as_written(tmp_path):
    links = [_spec(rate_forward=8e6, loss=0.5, seed="1/a>b"),
             {"name": "b>a", "listen": [FAR, 4000], "connect": [NEAR, 18080], "source": FAR,
              "delay": 0.2}]
    path = write_plan(tmp_path / "plan.json", links, stats=tmp_path / "s", ready=tmp_path / "r")
    plan = load_plan(path)
    assert plan.links[0] == links[0]
    assert plan.links[1] == LinkSpec("b>a", (FAR, 4000), (NEAR, 18080), FAR, 0.2, seed="b>a")
    assert (plan.stats, plan.ready) == (tmp_path / "s", tmp_path / "r")


@pytest.mark.parametrize("change, message", [
    ({"delay": -1}, "links[0]: delay: must be a number >= 0"),
    ({"loss": 1.5}, "links[0]: loss: must be a probability"),
    ({"listen": ["localhost", 1]}, "links[0]: listen: must be an IPv4 address"),
    ({"connect": [FAR, 0]}, "links[0]: connect: port must be an integer 1..65535"),
    ({"rate_fwd": 1}, "links[0]: unknown keys ['rate_fwd']"),
])
def test_a_wrong_link_is_named(tmp_path, change, message):
    link = dict(_spec().to_dict(), **change)
    path = tmp_path / "plan.json"
    path.write_text(json.dumps({"links": [link], "stats": "s", "ready": "r"}))
    with pytest.raises(PlanError, match=r"plan\.json: " + re.escape(message)):
        load_plan(path)


# ------------------------------------------------------------------ sockets
class _Echo(socketserver.ThreadingTCPServer):
    """Echoes; at the client's EOF it sends b"<eof>" and closes. Records peers and EOFs."""

    daemon_threads = allow_reuse_address = True

    def __init__(self, host: str = FAR, port: int = 0):
        self.peers: list[str] = []
        self.eofs = 0
        self.received = 0
        super().__init__((host, port), _EchoHandler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def address(self) -> tuple[str, int]:
        return self.server_address[:2]


class _EchoHandler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        self.server.peers.append(self.client_address[0])
        try:
            while data := self.request.recv(1 << 16):
                self.server.received += len(data)
                self.request.sendall(data)
            self.server.eofs += 1
            self.request.sendall(b"<eof>")
        except ConnectionResetError:
            pass                                # the relay reset it (stopped, or a test's reset)


@pytest.fixture
def echo():
    made = []

    def make(*args) -> _Echo:
        made.append(_Echo(*args))
        return made[-1]
    yield make
    for server in made:
        server.shutdown()
        server.server_close()


@pytest.fixture
def relay(tmp_path):
    """relay(*links) -> (Relay, {name: listen address}), links as LinkSpec keyword dicts."""
    started = []

    def start(*links) -> tuple[Relay, dict]:
        specs = [_spec(**link) for link in links]
        plan = write_plan(tmp_path / "plan.json", specs, stats=tmp_path / "stats.json",
                          ready=tmp_path / "relay.ready")
        started.append(Relay())
        started[-1].start(plan, tmp_path / "relay.log")
        ready = started[-1].wait_ready(BOUND)
        return started[-1], {name: tuple(addr) for name, addr in ready["listen"].items()}
    yield start
    for proc in started:
        proc.stop()


def _connect(address) -> socket.socket:
    sock = socket.create_connection(address, timeout=BOUND)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def _receive(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        more = sock.recv(n - len(data))
        if not more:
            break
        data += more
    return data


def _round_trips(sock: socket.socket, count: int, size: int = 100) -> list[float]:
    times = []
    for i in range(count):
        message = bytes([i % 256]) * size
        start = time.monotonic()
        sock.sendall(message)
        assert _receive(sock, size) == message
        times.append(time.monotonic() - start)
    return times


def test_a_round_trip_takes_two_delays_and_comes_from_the_source_address(relay, echo):
    server = echo()
    _, listen = relay(dict(connect=server.address, delay=0.1))
    with _connect(listen["a>b"]) as sock:
        times = _round_trips(sock, 8)
    assert min(times) >= 0.2
    assert sorted(times)[len(times) // 2] < 0.2 + SLACK          # median: one slow tick is load
    assert server.peers == [NEAR]


def test_the_rate_of_each_direction_is_its_own(relay, echo):
    server, size = echo(), 1_000_000
    _, listen = relay(dict(name="fwd", connect=server.address, delay=0.0, rate_forward=8e6),
                      dict(name="back", connect=server.address, delay=0.0, rate_back=8e6),
                      dict(name="free", connect=server.address, delay=0.0))
    took = {}
    for name in ("fwd", "back", "free"):
        with _connect(listen[name]) as sock:
            start = time.monotonic()
            sock.sendall(b"m" * size)
            assert _receive(sock, size) == b"m" * size
            took[name] = time.monotonic() - start
    assert 1.0 <= took["fwd"] < 1.0 + 1.0
    assert 1.0 <= took["back"] < 1.0 + 1.0
    assert took["free"] < 0.5


def test_loss_one_delays_every_chunk_by_a_retransmission_and_loss_zero_none(relay, echo):
    server = echo()
    relay_proc, listen = relay(dict(name="lossy", connect=server.address, delay=0.05, loss=1.0),
                               dict(name="clean", connect=server.address, delay=0.05))
    penalty = MIN_RTO + 2 * 0.05
    with _connect(listen["lossy"]) as lossy, _connect(listen["clean"]) as clean:
        lossy_times, clean_times = _round_trips(lossy, 3), _round_trips(clean, 5)
    assert min(lossy_times) >= 2 * (0.05 + penalty)
    assert min(clean_times) >= 0.1
    assert sorted(clean_times)[2] < 0.1 + SLACK
    assert relay_proc.stop() == 0
    stats = json.loads((relay_proc.ready_path.parent / "stats.json").read_text())["links"]
    for direction in (FORWARD, BACK):
        assert stats["lossy"][direction]["retransmitted"] == stats["lossy"][direction]["chunks"] >= 3
        assert stats["clean"][direction]["retransmitted"] == 0


def test_a_half_close_passes_after_the_data_and_the_other_direction_stays_open(relay, echo):
    server = echo()
    _, listen = relay(dict(connect=server.address, delay=0.1))
    with _connect(listen["a>b"]) as sock:
        sock.sendall(b"hello")
        sock.shutdown(socket.SHUT_WR)
        # the server got the data, then the EOF, and could still answer after it
        assert _receive(sock, 10) == b"hello<eof>"
        assert sock.recv(10) == b""                    # its close came through too
    with _connect(listen["a>b"]) as sock:
        assert _round_trips(sock, 1)[0] >= 0.2
        start = time.monotonic()
        sock.shutdown(socket.SHUT_WR)                  # an EOF alone takes its delay too
        assert _receive(sock, 10) == b"<eof>"
        assert time.monotonic() - start >= 0.2
    assert server.eofs == 2


def test_a_refused_connection_is_reset_at_once_and_the_link_lives_on(relay, echo):
    with socket.socket() as probe:
        probe.bind((FAR, 0))
        closed = probe.getsockname()[:2]                 # nothing listens there
    relay_proc, listen = relay(dict(connect=closed, delay=0.5))
    with _connect(listen["a>b"]) as sock:
        start = time.monotonic()
        with pytest.raises(ConnectionResetError):
            sock.sendall(b"x")
            sock.recv(10)
        assert time.monotonic() - start < 0.3                  # not one delay later
    server = echo(*closed)
    with _connect(listen["a>b"]) as sock:
        assert _round_trips(sock, 1)[0] >= 1.0
    assert server.peers == [NEAR]
    assert relay_proc.stop() == 0
    stats = json.loads((relay_proc.ready_path.parent / "stats.json").read_text())["links"]["a>b"]
    assert (stats["connections"], stats["refused"]) == (2, 1)


def test_a_reset_on_one_side_resets_the_other(relay):
    with socket.socket() as listener:
        listener.bind((FAR, 0))
        listener.listen()
        _, listen = relay(dict(connect=listener.getsockname()[:2], delay=0.05))
        with _connect(listen["a>b"]) as sock:
            far, _ = listener.accept()
            far.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\1\0\0\0\0\0\0\0")
            far.close()                                  # linger 0: a reset
            sock.settimeout(2.0)
            with pytest.raises(ConnectionResetError):
                sock.recv(10)


def test_sigterm_writes_the_byte_counts(relay, echo):
    server = echo()
    relay_proc, listen = relay(dict(connect=server.address, delay=0.01))
    with _connect(listen["a>b"]) as sock:
        for size in (1, 1000, 100_000):
            sock.sendall(b"z" * size)
            assert _receive(sock, size) == b"z" * size
        assert relay_proc.stop() == 0
    doc = json.loads((relay_proc.ready_path.parent / "stats.json").read_text())
    link = doc["links"]["a>b"]
    assert (link["connections"], link["open"]) == (1, 1)
    for direction, total in ((FORWARD, 101_001), (BACK, 101_001)):
        assert link[direction]["bytes"] == link[direction]["delivered"] == total
        assert link[direction]["chunks"] >= 3


def test_a_bind_conflict_is_one_line_and_exit_2(tmp_path):
    with socket.socket() as taken:
        taken.bind((NEAR, 0))
        taken.listen()
        port = taken.getsockname()[1]
        spec = _spec(name="user-0>pool-1", listen=(NEAR, port))
        plan = write_plan(tmp_path / "plan.json", [_spec(name="fine"), spec],
                          stats=tmp_path / "stats.json", ready=tmp_path / "relay.ready")
        done = subprocess.run([sys.executable, "-m", "sim.network.relay", str(plan)],
                              cwd=REPO_ROOT, capture_output=True, text=True, timeout=BOUND)
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        f"relay: link user-0>pool-1: cannot listen on {NEAR}:{port}: Address already in use"]
    assert not (tmp_path / "relay.ready").exists()


def test_wait_ready_reports_an_early_exit_with_the_log(tmp_path):
    with socket.socket() as taken:
        taken.bind((NEAR, 0))
        taken.listen()
        plan = write_plan(tmp_path / "plan.json", [_spec(listen=taken.getsockname()[:2])],
                          stats=tmp_path / "stats.json", ready=tmp_path / "relay.ready")
        proc = Relay()
        proc.start(plan, tmp_path / "relay.log")
        with pytest.raises(ProcessError, match="exited with 2.*\n.*cannot listen"):
            proc.wait_ready(BOUND)
    assert not proc.alive() and proc.stop() == 2


def test_the_relay_exits_soon_after_its_parent_dies(tmp_path):
    plan = write_plan(tmp_path / "plan.json", [_spec()], stats=tmp_path / "stats.json",
                      ready=tmp_path / "relay.ready")
    parent = subprocess.Popen(
        [sys.executable, "-c", "import os, subprocess, sys, time\n"
         "child = subprocess.Popen([sys.executable, '-m', 'sim.network.relay', sys.argv[1], "
         "'--parent-pid', str(os.getpid())], start_new_session=True)\n"
         "print(child.pid, flush=True)\ntime.sleep(60)\n", str(plan)],
        cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True)
    try:
        child = int(parent.stdout.readline())
        _wait_for(lambda: (tmp_path / "relay.ready").exists(), BOUND)
        assert not parent_gone(child)
        parent.kill()                     # not reaped yet: a zombie parent counts as gone
        _wait_for(lambda: parent_gone(child), 4.0)
        assert json.loads((tmp_path / "stats.json").read_text())["links"]["a>b"]
    finally:
        parent.kill()
        parent.wait()
        if not parent_gone(child):
            os.kill(child, signal.SIGKILL)


def test_a_stalled_direction_holds_at_most_the_queue_limit(relay, echo):
    assert QUEUE_LIMIT == 4 << 20
    server = echo()
    relay_proc, listen = relay(dict(connect=server.address, delay=3.0))
    before = _rss(relay_proc.pid)
    with _connect(listen["a>b"]) as sock:
        sock.setblocking(False)
        sent, deadline = 0, time.monotonic() + 1.5
        while time.monotonic() < deadline and sent < 64 << 20:
            try:
                sent += sock.send(b"q" * (1 << 20))
            except BlockingIOError:
                time.sleep(0.01)
        grown = _rss(relay_proc.pid) - before
    # unbounded it read all 64 MiB (measured: +53 MiB); bounded, 4 MiB and the kernel's buffers
    assert sent > 4 << 20
    assert grown < 12 << 20
    assert server.received == 0            # nothing delivered before its 3 s


def _rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def _wait_for(condition, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)
