"""The relay's plan file and its delivery model; pure (no sockets, no clock).

Each direction of each relayed connection is one `Delivery`, fed the chunks the relay reads
(n bytes at loop time t) and answering when each is handed on:

- serialisation: the chunk finishes sending at s = max(t, previous s) + 8n/rate (rate 0: no
  wait);
- loss: TCP never loses bytes, it delays them. Each of the chunk's ceil(n/1448) segments is lost
  with probability `loss`; if any is, the chunk waits one retransmission, penalty = 0.2 s
  (Linux's minimum RTO) + 2*delay (one round trip); otherwise penalty = 0;
- delivery at d = max(s + delay + U(0, jitter) + penalty, previous d): TCP delivers in order.

An EOF (half-close) travels like an empty chunk without jitter or loss: d = max(max(t, previous
s) + delay, previous d). The random draws (loss, then jitter, per chunk) come from a
`random.Random` seeded with `"<seed>/<connection number>/<direction>"`, connections numbered
from 0 per link in the order they were accepted.

Plan file (JSON; the launcher writes it with `write_plan`, the relay reads it with `load_plan`):

    {"links": [{"name": "user-0>pool-1", "listen": ["127.77.0.2", 41234],
                "connect": ["127.77.0.3", 18080], "source": "127.77.0.2",
                "delay": 0.1, "jitter": 0.0, "rate_forward": 100000000,
                "rate_back": 100000000, "loss": 0.0, "seed": "7/user-0>pool-1"}],
     "stats": "/run/network-stats.json", "ready": "/run/relay.ready"}

`forward` is listen side -> connect side, `back` the other way; rates are bits/s (0: unlimited),
delay and jitter seconds; jitter, rates, loss and seed may be left out (0, 0, 0, the name).
"""
from __future__ import annotations

import ipaddress
import json
import math
import os
import random
from dataclasses import asdict, dataclass
from pathlib import Path

from lang.errors import InputError

__all__ = ["Delivery", "LinkSpec", "Plan", "PlanError", "load_plan", "write_plan",
           "FORWARD", "BACK", "SEGMENT", "MIN_RTO"]

FORWARD, BACK = "forward", "back"
SEGMENT = 1448          # bytes of payload in one TCP segment (MSS of a 1500-byte MTU, timestamps)
MIN_RTO = 0.2           # Linux's minimum retransmission timeout, seconds


class PlanError(InputError):
    """The plan file cannot be read or a link in it is wrong."""


@dataclass(frozen=True)
class LinkSpec:
    """One emulated link: a listener, where it connects on to, and the link's character."""

    name: str
    listen: tuple[str, int]
    connect: tuple[str, int]
    source: str
    delay: float
    jitter: float = 0.0
    rate_forward: float = 0.0
    rate_back: float = 0.0
    loss: float = 0.0
    seed: str = ""

    def __post_init__(self) -> None:
        _check_address("listen", self.listen, 0)
        _check_address("connect", self.connect, 1)
        _check_ip("source", self.source)
        for key in ("delay", "jitter", "rate_forward", "rate_back", "loss"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, (int, float)) \
                    or not 0 <= value < math.inf:
                raise PlanError(f"{key}: must be a number >= 0, got {value!r}")
        if self.loss > 1:
            raise PlanError(f"loss: must be a probability (0..1), got {self.loss!r}")
        if not isinstance(self.name, str) or not self.name or not isinstance(self.seed, str):
            raise PlanError("name and seed must be strings, the name not empty")

    @classmethod
    def from_dict(cls, data: dict) -> "LinkSpec":
        if not isinstance(data, dict):
            raise PlanError(f"a link must be a mapping, got {type(data).__name__}")
        known = set(cls.__dataclass_fields__)
        if set(data) - known:
            raise PlanError(f"unknown keys {sorted(set(data) - known)}")
        missing = {"name", "listen", "connect", "source", "delay"} - set(data)
        if missing:
            raise PlanError(f"missing keys {sorted(missing)}")
        data = dict(data, listen=_pair(data["listen"]), connect=_pair(data["connect"]))
        data.setdefault("seed", data["name"])
        return cls(**data)

    def to_dict(self) -> dict:
        return dict(asdict(self), listen=list(self.listen), connect=list(self.connect))

    def delivery(self, direction: str, connection: int) -> "Delivery":
        """The model of one direction of this link's `connection`-th connection."""
        rate = self.rate_forward if direction == FORWARD else self.rate_back
        rng = random.Random(f"{self.seed}/{connection}/{direction}")
        return Delivery(self.delay, self.jitter, rate, self.loss, rng)


@dataclass(frozen=True)
class Plan:
    links: tuple[LinkSpec, ...]
    stats: Path
    ready: Path
    control: Path | None = None     # link states to apply on SIGUSR1 (sim.network.relay)


class Delivery:
    """When each chunk of one direction of one connection is handed on (module docstring)."""

    def __init__(self, delay: float, jitter: float, rate: float, loss: float,
                 rng: random.Random):
        self.delay, self.jitter, self.rate, self.loss, self.rng = delay, jitter, rate, loss, rng
        self.sent = self.due = -math.inf        # s and d of the previous chunk
        self.retransmitted = 0                  # chunks that paid the penalty

    def penalty(self, n: int) -> float:
        """0, or one retransmission when any of the chunk's segments is lost."""
        if self.loss <= 0:
            return 0.0
        segments = max(1, math.ceil(n / SEGMENT))
        # one draw: P(no segment lost) = (1 - loss) ** segments
        if self.rng.random() < (1.0 - self.loss) ** segments:
            return 0.0
        self.retransmitted += 1
        return MIN_RTO + 2 * self.delay

    def chunk(self, n: int, t: float) -> float:
        """The delivery time of n bytes read at time t."""
        self.sent = max(t, self.sent) + (8 * n / self.rate if self.rate else 0.0)
        penalty = self.penalty(n)
        jitter = self.rng.uniform(0, self.jitter) if self.jitter else 0.0
        self.due = max(self.sent + self.delay + jitter + penalty, self.due)
        return self.due

    def eof(self, t: float) -> float:
        """The delivery time of a half-close seen at time t."""
        self.sent = max(t, self.sent)
        self.due = max(self.sent + self.delay, self.due)
        return self.due


def _pair(value) -> tuple:
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise PlanError(f"an address must be [host, port], got {value!r}")
    return tuple(value)


def _check_ip(key: str, host) -> None:
    try:
        ipaddress.IPv4Address(host)
    except (ValueError, TypeError):
        raise PlanError(f"{key}: must be an IPv4 address, got {host!r}") from None


def _check_address(key: str, address: tuple, lowest_port: int) -> None:
    host, port = address
    _check_ip(key, host)
    if isinstance(port, bool) or not isinstance(port, int) or not lowest_port <= port <= 65535:
        raise PlanError(f"{key}: port must be an integer {lowest_port}..65535, got {port!r}")


def load_plan(path: str | os.PathLike) -> Plan:
    """The plan in `path`; PlanError naming the file (and link) when it is wrong."""
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise PlanError(f"{path}: cannot read the plan: {exc}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("links"), list) \
            or not all(isinstance(doc.get(k), str) for k in ("stats", "ready")):
        raise PlanError(f"{path}: must be {{\"links\": [...], \"stats\": path, \"ready\": path}}")
    links = []
    for index, data in enumerate(doc["links"]):
        try:
            links.append(LinkSpec.from_dict(data))
        except PlanError as exc:
            raise PlanError(f"{path}: links[{index}]: {exc}") from None
    names = [link.name for link in links]
    if len(set(names)) != len(names):
        raise PlanError(f"{path}: link names must differ")
    control = doc.get("control")
    if control is not None and not isinstance(control, str):
        raise PlanError(f"{path}: control must be a path")
    return Plan(tuple(links), Path(doc["stats"]), Path(doc["ready"]), Path(control) if control else None)


def write_plan(path: str | os.PathLike, links, *, stats: str | os.PathLike,
               ready: str | os.PathLike, control: str | os.PathLike | None = None) -> Path:
    """Write a plan atomically (links: LinkSpecs or their dicts); returns its path."""
    specs = [link if isinstance(link, LinkSpec) else LinkSpec.from_dict(link) for link in links]
    doc = {"links": [spec.to_dict() for spec in specs], "stats": str(stats), "ready": str(ready)}
    if control is not None:
        doc["control"] = str(control)
    return write_atomically(path, json.dumps(doc, indent=1) + "\n")


def write_atomically(path: str | os.PathLike, text: str) -> Path:
    """Write `text` to a temporary file beside `path`, then rename it into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return path
