"""The time keeper of a local run: one lockstep clock shared by every agent (Shadow's rule).

Simulated time moves only while nobody works: every agent waits in its engine loop, no start-up
is under way (holds) and the launcher itself waits. Then time jumps straight to the earliest
wake. Whoever is due is released alone, the launcher first, then agents by id, and the next one
only when that one waits again (or is gone), so the interleaving of actions at one instant is
the same in every run. CPU time and RPC latency therefore cost no simulated time: a slow or busy
machine makes a run take longer, never changes what happens in it.

An instant is served in rounds: an agent that asks to go on at the instant it was released at
joins the next round, after everyone of the current one. An agent may step `aside` (work that
touches only its own wallet): the next agent of its round is released meanwhile, at most
`parallel` aside at once, and no later round starts before it is back — so the order of
everything agents can see of each other stays fixed.

Agents are clients over a Unix socket (`engine.clock.LockstepClock`, wire format there). The
keeper is a thread of the launcher with one selector; it sleeps in `select` and never polls.
"""
from __future__ import annotations

import os
import selectors
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from engine.clock import SHADOW_EPOCH, short_socket_path, wire_time

__all__ = ["TimeKeeper", "LAUNCHER"]

LAUNCHER = ""           # the launcher's own place in the queue: first at any instant


@dataclass
class _Client:
    sock: socket.socket
    agent: str | None = None
    wake: float | None = None           # waiting for this time; None while working
    round: int = 0                      # its round at `wake` (0, or one past its last release's)
    released: tuple[float, int] = (-1.0, 0)   # (time, round) of its last release
    aside: bool = False                 # working on its own wallet only: others may go too
    seq: str = "0"
    busy_since: float = field(default_factory=time.monotonic)
    buf: bytes = b""


class TimeKeeper:
    """Lockstep simulated time for one run. `start()` it, hand `path` to the agents (tree-runner
    `--lockstep PATH`), and drive the launcher's own schedule with `launcher_wait(t)` /
    `launcher_turn`. `hold(key)` keeps time still while something starts; an agent's hold
    named `agent:<id>` ends when that agent connects."""

    def __init__(self, path: str | os.PathLike, *, origin: float = SHADOW_EPOCH,
                 max_speed: float | None = None, parallel: int | None = None):
        self.path = Path(path)
        self.parallel = max(1, parallel or os.cpu_count() or 1)   # agents aside at once
        self.origin = float(origin)
        self.now = self.origin
        self.max_speed = max_speed
        self._real_anchor: tuple[float, float] | None = None   # (monotonic, simulated) for max_speed
        self._lock = threading.Lock()
        self._clients: dict[int, _Client] = {}
        self._holds: set[str] = set()
        self._launcher_wake: float | None = None       # None: the launcher is working
        self.launcher_turn = threading.Event()
        self._free = False                               # stopping: every wait answered at once
        self._closed = False
        self._sel = selectors.DefaultSelector()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_w, False)
        self._thread: threading.Thread | None = None
        self._listener: socket.socket | None = None
        self.jumps = 0
        self.releases = 0
        # Real seconds by what was going on: one agent working alone, several at once (some
        # aside), or none (processes starting, the launcher's turn, the speed limit).
        self.shape = {"alone": 0.0, "together": 0.0, "none": 0.0}
        self._shape_since = time.monotonic()
        self._shape_now = "none"

    # ------------------------------------------------------------ life
    def start(self) -> "TimeKeeper":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.exists():
            self.path.unlink()
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        with short_socket_path(self.path) as address:
            listener.bind(address)
        listener.listen(1024)
        listener.setblocking(False)
        self._listener = listener
        self._sel.register(listener, selectors.EVENT_READ, "listen")
        self._sel.register(self._wake_r, selectors.EVENT_READ, "wake")
        self._thread = threading.Thread(target=self._serve, name="timekeeper", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving; clients see the socket close."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._poke()
        if self._thread is not None:
            self._thread.join(5)
        for client in list(self._clients.values()):
            client.sock.close()
        if self._listener is not None:
            self._listener.close()
        self._sel.close()
        for fd in (self._wake_r, self._wake_w):
            try:
                os.close(fd)
            except OSError:
                pass
        try:
            self.path.unlink()
        except OSError:
            pass

    def __enter__(self) -> "TimeKeeper":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------ the launcher's side
    @property
    def elapsed(self) -> float:
        """Simulated seconds since the origin."""
        return self.now - self.origin

    def launcher_wait(self, when: float) -> None:
        """The launcher waits until simulated `when` (absolute); `launcher_turn` is set then."""
        with self._lock:
            self.launcher_turn.clear()
            self._launcher_wake = float(when)
        self._poke()

    def hold(self, key: str) -> None:
        """Keep time still until `unhold(key)` (a process starting, a restart under way)."""
        with self._lock:
            self._holds.add(key)

    def unhold(self, key: str) -> None:
        with self._lock:
            self._holds.discard(key)
        self._poke()

    def free(self) -> None:
        """The run is stopping: answer every wait at once; time no longer moves."""
        with self._lock:
            self._free = True
        self._poke()

    def busy(self) -> list[tuple[str, float]]:
        """Agents holding time now, with the real seconds each has been working."""
        mono = time.monotonic()
        with self._lock:
            return sorted((c.agent, mono - c.busy_since) for c in self._clients.values()
                          if c.agent is not None and c.wake is None and not c.aside)

    def real_seconds(self) -> dict[str, float]:
        """Real seconds so far with one agent working alone, several together, or none."""
        with self._lock:
            return {k: round(v, 1) for k, v in self.shape.items()}

    def holds(self) -> set[str]:
        with self._lock:
            return set(self._holds)

    def connected(self) -> set[str]:
        with self._lock:
            return {c.agent for c in self._clients.values() if c.agent is not None}

    # ------------------------------------------------------------ the keeper thread
    def _poke(self) -> None:
        try:
            os.write(self._wake_w, b"x")
        except (BlockingIOError, OSError):
            pass

    def _serve(self) -> None:
        timeout: float | None = None
        while True:
            for key, _ in self._sel.select(timeout):
                if key.data == "listen":
                    self._accept()
                elif key.data == "wake":
                    try:
                        os.read(self._wake_r, 4096)
                    except OSError:
                        pass
                else:
                    self._read(key.data)
            with self._lock:
                if self._closed:
                    return
                self._account()
                timeout = self._schedule()
                self._shape_now = self._shape_of_now()

    def _accept(self) -> None:
        try:
            sock, _ = self._listener.accept()
        except OSError:
            return
        sock.setblocking(True)
        client = _Client(sock)
        with self._lock:
            self._clients[sock.fileno()] = client
        self._sel.register(sock, selectors.EVENT_READ, client)

    def _read(self, client: _Client) -> None:
        try:
            data = client.sock.recv(4096)
        except OSError:
            data = b""
        if not data:
            with self._lock:
                self._drop(client)
            return
        client.buf += data
        while b"\n" in client.buf:
            line, client.buf = client.buf.split(b"\n", 1)
            self._message(client, line.decode("ascii", "replace").split())

    def _message(self, client: _Client, words: list[str]) -> None:
        """`hello ID` (joins, waits for its turn at the current time) · `wait SEQ T`."""
        with self._lock:
            if len(words) == 2 and words[0] == "hello":
                client.agent = words[1]
                client.wake, client.seq, client.round = self.now, "0", 0
                self._holds.discard(f"agent:{client.agent}")
            elif words == ["aside"] and client.agent is not None and client.wake is None:
                client.aside = True
            elif len(words) == 3 and words[0] == "wait" and client.agent is not None:
                try:
                    client.wake = max(float(words[2]), self.now)
                except ValueError:
                    client.wake = self.now
                at, round_ = client.released
                client.round = round_ + 1 if client.wake == at else 0
                client.seq = words[1]
                client.aside = False
            else:
                self._drop(client)

    def _drop(self, client: _Client) -> None:
        """A client that left (died, stopped) no longer holds anyone up."""
        fd = next((k for k, c in self._clients.items() if c is client), None)
        if fd is None:
            return
        del self._clients[fd]
        try:
            self._sel.unregister(client.sock)
        except (KeyError, ValueError):
            pass
        client.sock.close()

    def _account(self) -> None:
        """Charge the real time since the last look to what was going on during it."""
        mono = time.monotonic()
        self.shape[self._shape_now] += mono - self._shape_since
        self._shape_since = mono

    def _shape_of_now(self) -> str:
        working = sum(1 for c in self._clients.values() if c.agent is not None and c.wake is None)
        return "none" if working == 0 else "alone" if working == 1 else "together"

    def _schedule(self) -> float | None:
        """Release whoever is due, if nobody works; return how long select may sleep."""
        if self._free:
            for client in list(self._clients.values()):
                if client.wake is not None and client.agent is not None:
                    self._release(client, self.now)
            if self._launcher_wake is not None:
                self._launcher_wake = None
                self.launcher_turn.set()
            return None
        if self._holds or self._launcher_wake is None:
            return None
        agents = [c for c in self._clients.values() if c.agent is not None]
        working = [c for c in agents if c.wake is None]
        if any(not c.aside for c in working) or len(working) >= self.parallel:
            return None
        queue = [(c.wake, c.round, c.agent, c) for c in agents if c.wake is not None]
        queue.append((self._launcher_wake, -1, LAUNCHER, None))
        when, round_, _, client = min(queue, key=lambda item: item[:3])
        if working and (when > self.now or round_ > min(c.released[1] for c in working)):
            return None     # private work holds time still, and the next round waits for it
        if when > self.now:
            delay = self._speed_limit(when)
            if delay > 0:
                return delay
            self.now = when
            self.jumps += 1
        if client is None:
            self._launcher_wake = None
            self.launcher_turn.set()
        else:
            self._release(client, self.now)
        return None

    def _speed_limit(self, when: float) -> float:
        """Real seconds to wait before simulated time may reach `when` under max_speed."""
        if not self.max_speed:
            return 0.0
        mono = time.monotonic()
        if self._real_anchor is None:
            self._real_anchor = (mono, self.now)
        anchor_real, anchor_sim = self._real_anchor
        due = anchor_real + (when - anchor_sim) / self.max_speed
        if due <= mono:
            if mono - due > 1.0:      # behind (work held time still): never catch up in a burst
                self._real_anchor = (mono, when)
            return 0.0
        return due - mono

    def _release(self, client: _Client, at: float) -> None:
        client.released = (at, client.round if client.wake == at else 0)
        client.wake = None
        client.busy_since = time.monotonic()
        self.releases += 1
        try:
            client.sock.sendall(f"go {client.seq} {wire_time(at)}\n".encode())
        except OSError:
            self._drop(client)
