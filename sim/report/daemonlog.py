"""One monerod's log, read line by line: when it first saw each transaction and block, and its forks.

monerod writes tab-separated lines (`--log-level 0,blockchain:INFO,txpool:INFO,net.p2p.msg:INFO,net.p2p.tx:DEBUG`):

  2026-12-01 01:19:40.049 <TAB> [RPC1] <TAB> INFO <TAB> txpool <TAB> src/...:376 <TAB> message

The second field is the thread: `[RPCn]` handled the daemon's own RPC (a wallet's transfer, a
pool's `generateblocks`: this daemon is where the item started, its origin), `[P2Pn]` a peer's
message; a hexadecimal id is start-up (the genesis block, the pool reloaded from disk). Times are
the daemon's clock (simulated under Shadow), read as UTC: only differences mean anything.

First seen, per daemon (the earliest line counts, a later one never replaces it):
  tx     `[PEER] Received NOTIFY_NEW_TRANSACTIONS (N txes)` then, in the same thread, N lines
         `Including transaction <txid>` (from PEER; Dandelion++ stem hops arrive this way too),
         or `Transaction added to pool: txid <txid>` (origin when in an RPC thread; added again
         after a reorganisation or a restart: only the first counts)
  block  `[PEER] Received NOTIFY_NEW_FLUFFY_BLOCK <id> (height H, N txes)` (from PEER; H is the
         sender's chain size, so the block's height is H - 1 until an ADDED line says), or
         `+++++ BLOCK SUCCESSFULLY ADDED` / `----- BLOCK ADDED AS ALTERNATIVE ON HEIGHT H`
         followed by `id: <id>` (and `HEIGHT H, difficulty:` on the main chain): origin in an
         RPC thread; in a P2P thread, from the peer of the thread's last
         `Received NOTIFY_RESPONSE_GET_OBJECTS` (blocks fetched while syncing show no other line)
The genesis block (height 0) is left out.

Dandelion++ (`net.p2p.tx:DEBUG`): each `Starting new Dandelion++ epoch: fluff|stem` (the mode a
daemon draws at start and every 10-10.5 minutes: fluff with probability 20 % in monerod 0.18),
and each `Unable to send transaction(s) via Dandelion++ stem` (no stem peer: fluffed instead).

Forks: every `BLOCK ADDED AS ALTERNATIVE` (an alternative block) and every
`###### REORGANIZE on height: X of Y` (Y - X + 1 blocks replaced) with its
`REORGANIZE SUCCESS! on height: X, new blockchain size: S`. The main chain (height → id) is
followed through ADDED lines and reorganisations, so `DaemonLog.chain` is the daemon's chain at
the end of its log. Garbage lines are skipped and counted; a last line without its newline (the
daemon still writing, or killed) is ignored.
"""
from __future__ import annotations

import calendar
import datetime
import re
import sys
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Iterable

__all__ = ["Seen", "Fork", "DaemonLog", "parse_lines", "read_daemon_log", "log_files", "parse_time",
           "format_time"]

_ID = r"<([0-9a-f]{64})>"
_PEER = r"^\[(\S+) (?:OUT|INC)\] Received "
_INTEREST = re.compile(r"Transaction added|Including transaction|Received NOTIFY_|BLOCK SUCCESSFULLY|"
                       r"AS ALTERNATIVE|\tid:\t<|\tHEIGHT \d|REORGANIZE|Net service bound|Dandelion\+\+ epoch|"
                       r"via Dandelion\+\+ stem")
TX_ADDED = re.compile(rf"^Transaction added to pool: txid {_ID}")
TX_NOTIFY = re.compile(_PEER + r"NOTIFY_NEW_TRANSACTIONS \((\d+) txes\)")
TX_INCLUDED = re.compile(rf"^Including transaction {_ID}")
FLUFFY = re.compile(_PEER + rf"NOTIFY_NEW_FLUFFY_BLOCK {_ID} \(height (\d+), \d+ txes\)")
OBJECTS = re.compile(_PEER + r"NOTIFY_RESPONSE_GET_OBJECTS \(")
MAIN = "+++++ BLOCK SUCCESSFULLY ADDED"
ALTERNATIVE = re.compile(r"^----- BLOCK ADDED AS ALTERNATIVE ON HEIGHT (\d+)$")
BLOCK_ID = re.compile(rf"^id:\t{_ID}$")
HEIGHT = re.compile(r"^HEIGHT (\d+), difficulty:")
REORG = re.compile(r"^###### REORGANIZE on height: (\d+) of (\d+) with cum_difficulty")
REORG_DONE = re.compile(r"^REORGANIZE SUCCESS! on height: (\d+), new blockchain size: (\d+)")
BOUND = re.compile(r"^Net service bound \(IPv4\) to (\S+):\d+$")
EPOCH = re.compile(r"^Starting new Dandelion\+\+ epoch: (fluff|stem)$")
STEM_FAILED = "Unable to send transaction(s) via Dandelion++ stem"


@lru_cache(maxsize=64)
def _day(text: str) -> int:
    """'2026-12-01' -> seconds of its midnight, read as UTC (ValueError when not a date)."""
    day = datetime.date.fromisoformat(text)
    return calendar.timegm((day.year, day.month, day.day, 0, 0, 0))


def parse_time(text: str) -> float | None:
    """'2026-12-01 01:19:40.049' -> seconds (the clock read as UTC), None when it is not one."""
    if len(text) != 23 or text[10] != " " or text[13] != ":" or text[16] != ":" or text[19] != ".":
        return None
    try:
        hours, minutes, ms = int(text[11:13]), int(text[14:16]), int(text[17:19] + text[20:23])
        return _day(text[:10]) + hours * 3600 + minutes * 60 + ms / 1000
    except ValueError:
        return None


def format_time(t: float) -> str:
    """parse_time's inverse: seconds -> '2026-12-01 01:19:40.049'."""
    ms = round(t * 1000)
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ms // 1000)) + f".{ms % 1000:03d}"


@dataclass(frozen=True, slots=True)
class Seen:
    """A daemon's first sighting of a transaction or block."""

    kind: str                 # "tx" | "block"
    hash: str
    daemon: str
    time: float               # the daemon's clock (parse_time)
    from_peer: str | None     # "IP:PORT" of the peer it came from, as logged
    origin: bool              # first seen in an RPC thread: it started here
    height: int | None = None  # blocks


@dataclass(slots=True)
class Fork:
    """An alternative block (kind "alternative") or a reorganisation (kind "reorg")."""

    kind: str
    daemon: str
    time: float
    height: int               # the block's height; a reorg's split height
    hash: str | None = None   # the alternative block's id
    depth: int | None = None  # a reorg's blocks replaced
    top: int | None = None    # a reorg's old top height
    size: int | None = None   # a reorg's new chain size (blocks), when it succeeded
    ok: bool = False


@dataclass
class DaemonLog:
    """Everything read from one daemon's log files."""

    daemon: str
    seen: dict[tuple[str, str], Seen] = field(default_factory=dict)   # (kind, hash) -> first sighting
    forks: list[Fork] = field(default_factory=list)                 # in log order
    chain: dict[int, str] = field(default_factory=dict)             # main chain at the end: height -> id
    tips: list[tuple[float, int]] = field(default_factory=list)     # (time, height) of each main-chain add
    addresses: set[str] = field(default_factory=set)               # its own P2P IPs, when logged
    epochs: list[tuple[float, str]] = field(default_factory=list)   # (time, "fluff" | "stem") of each D++ epoch
    stem_failures: list[float] = field(default_factory=list)        # times it fluffed for want of a stem
    first: float | None = None    # the first timestamp read
    files: int = 0
    lines: int = 0
    skipped: int = 0              # lines that looked relevant but lacked the six fields or a timestamp
    torn: bool = False            # the last line had no newline (ignored)


class _Reader:
    """Feeds lines into a DaemonLog; what a thread started on one line it ends on a later one."""

    def __init__(self, daemon: str) -> None:
        self.log = DaemonLog(daemon)
        self.txs_from: dict[str, list] = {}      # thread -> [peer, transactions still to come]
        self.blocks_from: dict[str, str] = {}    # thread -> peer of its last GET_OBJECTS response
        self.block: dict[str, list] = {}         # thread -> [kind, time, height, id] being logged
        self.reorg: dict[str, Fork] = {}         # thread -> its reorganisation not yet done

    def feed(self, line: str) -> None:
        log = self.log
        log.lines += 1
        if not line.endswith("\n"):
            log.torn = True
            return
        if log.first is None:
            log.first = parse_time(line[:23])
        if not _INTEREST.search(line):
            return
        parts = line.rstrip("\r\n").split("\t", 5)
        t = parse_time(parts[0]) if len(parts) == 6 else None
        if t is None:
            log.skipped += 1
            return
        self.message(parts[1].strip().strip("[]"), t, parts[5])

    def message(self, thread: str, t: float, text: str) -> None:
        if self.block.get(thread) and self.block_line(thread, t, text):
            return
        if text.startswith(MAIN):
            self.start_block(thread, ["main", t, None, None])
        elif m := ALTERNATIVE.match(text):
            self.start_block(thread, ["alternative", t, int(m[1]), None])
        elif m := FLUFFY.match(text):
            self.see("block", m[2], t, m[1], False, int(m[3]) - 1, exact=False)
        elif m := TX_NOTIFY.match(text):
            self.txs_from[thread] = [m[1], int(m[2])]
        elif m := TX_INCLUDED.match(text):
            pending = self.txs_from.get(thread)
            if pending:
                pending[1] -= 1
                if pending[1] <= 0:
                    del self.txs_from[thread]
            self.see("tx", m[1], t, pending[0] if pending else None, False)
        elif m := TX_ADDED.match(text):
            self.see("tx", m[1], t, None, thread.startswith("RPC"))
        elif m := OBJECTS.match(text):
            self.blocks_from[thread] = m[1]
        else:
            self.other(thread, t, text)

    def other(self, thread: str, t: float, text: str) -> None:
        if m := REORG.match(text):
            split, top = int(m[1]), int(m[2])
            fork = Fork("reorg", self.log.daemon, t, split, depth=top - split + 1, top=top)
            self.log.forks.append(fork)
            self.reorg[thread] = fork
        elif m := REORG_DONE.match(text):
            fork = self.reorg.pop(thread, None)
            if fork is not None:
                fork.size, fork.ok = int(m[2]), True
            self.cut(int(m[2]))
        elif m := BOUND.match(text):
            self.log.addresses.add(m[1])
        elif m := EPOCH.match(text):
            self.log.epochs.append((t, m[1]))
        elif text.startswith(STEM_FAILED):
            self.log.stem_failures.append(t)

    def cut(self, size: int) -> None:
        """Forget the main chain from height `size` up: a reorganisation onto a chain of `size`
        blocks (below it, each block of the new chain logged its ADDED line)."""
        for h in [h for h in self.log.chain if h >= size]:
            del self.log.chain[h]

    def start_block(self, thread: str, block: list) -> None:
        self.finish_block(thread)
        self.block[thread] = block

    def block_line(self, thread: str, t: float, text: str) -> bool:
        """A line of the block `thread` is logging: True when it was one (id, HEIGHT)."""
        block = self.block[thread]
        if block[3] is None and (m := BLOCK_ID.match(text)):
            block[3] = m[1]
            if block[0] == "alternative":
                self.finish_block(thread)
            return True
        if block[3] is not None and (m := HEIGHT.match(text)):
            block[2] = int(m[1])
            self.finish_block(thread)
            return True
        return False

    def finish_block(self, thread: str) -> None:
        block = self.block.pop(thread, None)
        if block is None or block[3] is None or block[2] == 0:
            return
        kind, t, height, block_id = block
        origin = thread.startswith("RPC")
        peer = self.blocks_from.get(thread) if thread.startswith("P2P") else None
        self.see("block", block_id, t, peer, origin, height)
        if kind == "alternative":
            self.log.forks.append(Fork("alternative", self.log.daemon, t, height, hash=block_id))
        elif height is not None:
            self.log.chain[height] = block_id
            self.log.tips.append((t, height))

    def see(self, kind: str, key: str, t: float, peer: str | None, origin: bool,
            height: int | None = None, exact: bool = True) -> None:
        """Record a first sighting; a later line only corrects the height (`exact`: from an
        ADDED line, not from a fluffy block's notice)."""
        seen = self.log.seen
        old = seen.get((kind, key))
        if old is None:
            key = sys.intern(key)
            seen[(kind, key)] = Seen(kind, key, self.log.daemon, t, peer, origin, height)
        elif height is not None and height != old.height and (exact or old.height is None):
            seen[(kind, key)] = Seen(kind, key, old.daemon, old.time, old.from_peer, old.origin, height)

    def close(self) -> DaemonLog:
        for thread in list(self.block):
            self.finish_block(thread)
        return self.log


def parse_lines(daemon: str, lines: Iterable[str]) -> DaemonLog:
    """The DaemonLog of `lines` (each with its newline: a last one without is ignored)."""
    reader = _Reader(daemon)
    for line in lines:
        reader.feed(line)
    return reader.close()


def log_files(directory: str | Path) -> list[Path]:
    """A daemon's log files, oldest first: rotated `monerod.log-<date>` files, then `monerod.log`."""
    directory = Path(directory)
    files = sorted(p for p in directory.glob("monerod.log-*") if p.is_file())
    current = directory / "monerod.log"
    return files + [current] if current.is_file() else files


def read_daemon_log(daemon: str, files: list[Path]) -> DaemonLog:
    """Stream `files` (log_files) line by line into one DaemonLog; unreadable files are skipped."""
    reader = _Reader(daemon)
    for path in files:
        try:
            with open(path, encoding="utf-8", errors="replace", newline="") as stream:
                reader.log.files += 1
                for line in stream:
                    reader.feed(line)
        except OSError:
            continue
    return reader.close()
