"""The live view of a local run: a page on loopback, served by the launcher while the run goes.

http://127.0.0.1:PORT/ shows, per role, how many agents are in each leaf now and each leaf's
successes and failures so far (`sim.report.livefleet`), the run's state and simulated time,
and the fleet plot so far; the page asks again every 2 s (the plot every 10 s). /fleet.json is
the same as data. The address is printed when the run starts; the terminal's progress line
stays. Only loopback: nothing is reachable from another machine.
"""
from __future__ import annotations

import json
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable

from lang.errors import UsageError
from sim.report.livefleet import LiveFleet

__all__ = ["LiveView", "LiveViewError"]


class LiveViewError(UsageError):
    """The live view cannot listen where it was asked to."""

PAGE = Path(__file__).with_name("live.html")


class LiveView:
    """Serve the live page of the run in `run_dir`; `state()` gives {status, simulated, ...}."""

    def __init__(self, run_dir: str | Path, state: Callable[[], dict], port: int = 0):
        self.run_dir = Path(run_dir)
        self.state = state
        self.fleet = LiveFleet(self.run_dir)
        self._lock = threading.Lock()
        try:
            self._server = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        except OSError as exc:
            raise LiveViewError(f"live view: cannot listen on 127.0.0.1:{port}: "
                                f"{exc.strerror or exc} (use --live-port or --no-live)") from None
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/"

    def start(self) -> str:
        """Start serving in a thread; returns the page's address."""
        self._thread = threading.Thread(target=self._server.serve_forever, name="live-view",
                                        kwargs={"poll_interval": 0.5}, daemon=True)
        self._thread.start()
        return self.url

    def stop(self) -> None:
        """Stop serving and close the socket; idempotent."""
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._server.server_close()

    def data(self) -> dict:
        """What /fleet.json answers: the fleet now and the run's state."""
        with self._lock:
            self.fleet.update()
            snapshot = self.fleet.snapshot()
        return {**snapshot, "run": self.state()}

    def plot(self) -> bytes:
        """The fleet plot of the journals so far, as PNG."""
        from sim.report.statuses import fleet, read_statuses
        from sim.report.treeplots import fleet_plot
        statuses = read_statuses(self.run_dir)
        if not statuses:
            return b""
        start = min(s.frames[0][0] for s in statuses.values() if s.frames) if any(
            s.frames for s in statuses.values()) else 0.0
        for status in statuses.values():
            status.frames = [[f[0] - start, *f[1:]] for f in status.frames]
            status.end = None if status.end is None else status.end - start
        end = max(s.end or 0.0 for s in statuses.values())
        with tempfile.TemporaryDirectory(prefix="monerosim-live-") as tmp:
            done = fleet_plot(fleet(statuses, end), Path(tmp))
            return (Path(tmp) / done["png"]).read_bytes() if done else b""

    def _handler(self):
        view = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - the http.server name
                path = self.path.split("?")[0]
                if path == "/":
                    self._send(200, "text/html; charset=utf-8", PAGE.read_bytes())
                elif path == "/fleet.json":
                    self._send(200, "application/json", json.dumps(view.data()).encode())
                elif path == "/fleet.png":
                    body = view.plot()
                    self._send(200 if body else 404, "image/png", body)
                else:
                    self._send(404, "text/plain", b"not found\n")

            def _send(self, code: int, kind: str, body: bytes) -> None:
                self.send_response(code)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:    # the terminal keeps its progress line
                pass

        return Handler
