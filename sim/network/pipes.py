"""The relaying itself: asyncio protocols that pass each link's bytes on at its model's times.

`Link(spec, loop).listen()` binds a link's listener; each connection accepted there is relayed to
`connect` from a socket bound to `source`, so the far monerod sees it come from the near one's
address. Every chunk read is handed on at the time the link's model gives
(`sim.network.links.Delivery`; `loop.call_at`, no polling), in order:

- Half-close is passed on: an EOF reaches the far side after the data before it, one `delay`
  after it was seen. When both directions have ended, both sockets are closed.
- A reset or error on either socket resets both at once (SO_LINGER 0), dropping what was
  queued. A connection the far side refuses is reset at once.
- Memory is bounded: a side is not read while more than 4 MiB of its direction waits for its
  time, or while the other side's socket buffer is full (asyncio's high-water mark). Like a TCP
  window, that caps one connection's direction at 4 MiB per `delay` (335 Mbit/s at 0.1 s).
- What A sends before the connection on to B is made waits in its queue, on the model's clock.
"""
from __future__ import annotations

import asyncio
import dataclasses
import os
import socket
import struct
import sys
from collections import deque

from lang.errors import InputError
from sim.network.links import BACK, FORWARD, LinkSpec

__all__ = ["Link", "ListenError", "QUEUE_LIMIT"]

QUEUE_LIMIT = 4 << 20       # bytes waiting in one direction before its source is not read


class ListenError(InputError):
    """A link's listen address cannot be bound (in use, not local)."""


class _Pipe:
    """One direction of a relayed connection: reads from end `end`, writes to the other."""

    def __init__(self, conn: "_Conn", end: int, model, counts: dict):
        self.conn, self.end, self.model, self.counts = conn, end, model, counts
        self.queue: deque[tuple[float, bytes | None]] = deque()   # (due, data); None is EOF
        self.queued = 0
        self.timer: asyncio.TimerHandle | None = None
        self.holds: set[str] = set()        # why the source is not read: "queue", "writing"

    def take(self, data: bytes) -> None:
        before = self.model.retransmitted
        due = self.model.chunk(len(data), self.conn.loop.time())
        self.counts["bytes"] += len(data)
        self.counts["chunks"] += 1
        self.counts["retransmitted"] += self.model.retransmitted - before
        self.queue.append((due, data))
        self.queued += len(data)
        self.hold("queue", self.queued > QUEUE_LIMIT)
        self.arm()

    def take_eof(self) -> None:
        self.queue.append((self.model.eof(self.conn.loop.time()), None))
        self.arm()

    def hold(self, reason: str, on: bool) -> None:
        """Stop or go on reading the source for `reason`; it is read while no reason holds."""
        (self.holds.add if on else self.holds.discard)(reason)
        source = self.conn.sides[self.end]
        if source is not None and not source.is_closing():
            source.pause_reading() if self.holds else source.resume_reading()

    def arm(self) -> None:
        """Wake at the first chunk's time (once the far side is connected)."""
        if self.timer is None and self.queue and self.conn.sides[1 - self.end] is not None:
            self.timer = self.conn.loop.call_at(self.queue[0][0], self.deliver)

    def deliver(self) -> None:
        self.timer = None
        now, dest = self.conn.loop.time(), self.conn.sides[1 - self.end]
        while self.queue and self.queue[0][0] <= now:
            _, data = self.queue.popleft()
            if data is None:
                self.conn.ended(self.end, dest)
                return
            dest.write(data)
            self.queued -= len(data)
            self.counts["delivered"] += len(data)
        self.hold("queue", self.queued > QUEUE_LIMIT)
        self.arm()

    def cancel(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        self.queue.clear()


class _Side(asyncio.Protocol):
    """One socket of a relayed connection: end 0 was accepted, end 1 connects on."""

    def __init__(self, conn: "_Conn", end: int):
        self.conn, self.end = conn, end

    def connection_made(self, transport) -> None:
        self.conn.made(self.end, transport)

    def data_received(self, data: bytes) -> None:
        self.conn.pipes[self.end].take(data)

    def eof_received(self) -> bool:
        self.conn.pipes[self.end].take_eof()
        return True                     # keep the socket open for the other direction

    def pause_writing(self) -> None:
        self.conn.pipes[1 - self.end].hold("writing", True)

    def resume_writing(self) -> None:
        self.conn.pipes[1 - self.end].hold("writing", False)

    def connection_lost(self, exc) -> None:
        self.conn.lost()


class _Conn:
    """One relayed connection: its two sockets and two pipes."""

    def __init__(self, link: "Link", number: int):
        self.link, self.loop = link, link.loop
        self.sides: list[asyncio.Transport | None] = [None, None]
        self.pipes = [_Pipe(self, 0, link.spec.delivery(FORWARD, number), link.stats[FORWARD]),
                      _Pipe(self, 1, link.spec.delivery(BACK, number), link.stats[BACK])]
        self.eofs = 0                   # directions whose EOF has been passed on
        self.closed = False
        self.connecting: asyncio.Task | None = None

    def made(self, end: int, transport) -> None:
        if self.closed or (end == 0 and self.link.cut):     # a cut link refuses (a reset)
            if end == 0 and self.link.cut:
                self.link.stats["refused_cut"] += 1
            self.closed = True
            _reset(transport)
            return
        self.sides[end] = transport
        if end == 0:
            self.link.conns.add(self)
            self.link.stats["connections"] += 1
            self.connecting = self.loop.create_task(self.connect())
        else:
            self.pipes[0].arm()                     # what A sent meanwhile may be due

    async def connect(self) -> None:
        spec = self.link.spec
        try:
            await self.loop.create_connection(lambda: _Side(self, 1), *spec.connect,
                                              local_addr=(spec.source, 0))
        except OSError as exc:
            self.connecting = None
            if not self.closed:
                self.link.stats["refused"] += 1
                print(f"relay: {spec.name}: connecting to {_address(spec.connect)} from "
                      f"{spec.source}: {exc.strerror or exc}", file=sys.stderr, flush=True)
                self.close(reset=True)

    def ended(self, end: int, dest) -> None:
        """Pipe `end` passed its EOF on; close both sockets once both directions have."""
        if dest.can_write_eof():
            dest.write_eof()
        self.eofs += 1
        if self.eofs == 2:
            self.close(reset=False)

    def lost(self) -> None:
        """A socket went away that we did not close: a reset or error ends both."""
        if not self.closed:
            self.close(reset=True)

    def close(self, reset: bool) -> None:
        self.closed = True
        self.link.conns.discard(self)
        if self.connecting is not None:
            self.connecting.cancel()
        for pipe in self.pipes:
            pipe.cancel()
        for transport in self.sides:
            if transport is not None:
                _reset(transport) if reset else transport.close()


class Link:
    """One link of the plan, running: its listener, open connections and counts."""

    def __init__(self, spec: LinkSpec, loop: asyncio.AbstractEventLoop):
        self.spec, self.loop = spec, loop
        self.server: asyncio.Server | None = None
        self.conns: set[_Conn] = set()
        self.accepted = 0
        self.cut = False                # a partition: connections reset, new ones refused
        direction = {"bytes": 0, "chunks": 0, "delivered": 0, "retransmitted": 0}
        self.stats = {"listen": _address(spec.listen), "connect": _address(spec.connect),
                      "source": spec.source, "connections": 0, "refused": 0, "refused_cut": 0,
                      FORWARD: dict(direction), BACK: dict(direction)}

    def _accept(self) -> _Side:
        self.accepted += 1
        return _Side(_Conn(self, self.accepted - 1), 0)

    async def listen(self) -> tuple[str, int]:
        try:
            self.server = await self.loop.create_server(self._accept, *self.spec.listen)
        except OSError as exc:
            why = os.strerror(exc.errno) if exc.errno else str(exc)
            raise ListenError(f"link {self.spec.name}: cannot listen on "
                              f"{_address(self.spec.listen)}: {why}") from None
        return self.server.sockets[0].getsockname()[:2]

    def set_state(self, cut: bool, delay: float, loss: float) -> None:
        """A network event: `cut` resets every open connection and refuses new ones until a
        later state lifts it; `delay` and `loss` hold for every chunk read from now on."""
        self.spec = dataclasses.replace(self.spec, delay=delay, loss=loss)
        for conn in self.conns:
            for pipe in conn.pipes:
                pipe.model.delay, pipe.model.loss = delay, loss
        if cut and not self.cut:
            for conn in list(self.conns):
                conn.close(reset=True)
        self.cut = cut

    def close(self) -> None:
        if self.server is not None:
            self.server.close()
        for conn in list(self.conns):
            conn.close(reset=True)


def _reset(transport: asyncio.Transport) -> None:
    """Close with a TCP reset (SO_LINGER 0), dropping what is unsent; asyncio's abort() alone
    would send a FIN."""
    sock = transport.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
    transport.abort()


def _address(pair) -> str:
    return f"{pair[0]}:{pair[1]}"
