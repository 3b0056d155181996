"""The agent context: everything a leaf may touch, filled in by the engine or by a test.

A leaf reaches the clock, its RNG, the journal, the shared files and the RPC clients only
through its AgentContext, so leaves are testable with a context made by hand.
"""
from __future__ import annotations

import logging
import random
import time
from pathlib import Path
from typing import Any, Callable

import py_trees

from lang import events
from lang.errors import MonerosimError
from lang.values import BlackboardRef

__all__ = ["AgentContext", "MemoryJournal", "MissingEndpoint"]


class MissingEndpoint(MonerosimError, RuntimeError):
    """A leaf needs a daemon or wallet RPC URL that the agent was not given."""


class MemoryJournal:
    """A journal kept in memory (tests, runs without --journal): same `append` as ipc's."""

    def __init__(self, clock: Callable[[], float] = time.time, agent: str | None = None):
        self.records: list[dict] = []
        self._clock = clock
        self.agent = agent

    def append(self, event: str, /, **fields: Any) -> dict:
        record = {"t": round(self._clock(), 6), "event": event}
        if self.agent is not None:
            record["agent"] = self.agent
        record.update(fields)
        self.records.append(record)
        return record

    def close(self) -> None:
        pass


class AgentContext:
    """Everything a leaf may touch, filled in by the engine (or by hand in a test).

    Attributes:
        agent_id: this agent's id (also its host name and journal name)
        role: the tree's `role:` (informational)
        clock: the engine clock; `now()` reads it
        rng: this agent's `random.Random`, seeded from (seed, agent id)
        journal: where `record()` appends events (an ipc.JournalWriter or a MemoryJournal)
        shared_dir: the run's shared directory (registry, signals) or None
        private_daemon_url: the agent's own offline monerod (a private chain), or None
        logger: a `logging.Logger` named after the agent
        namespace: the agent's blackboard namespace ("/<agent id>")
        params: the tree parameters after overrides (read-only use)
    """

    def __init__(self, agent_id: str, *, role: str | None = None, clock: Any = None,
                 rng: random.Random | None = None, journal: Any = None,
                 shared_dir: str | Path | None = None, daemon_url: str | None = None,
                 wallet_url: str | None = None, daemon: Any = None, wallet: Any = None,
                 wallet_auth: tuple[str, str] | None = None,
                 rpc_timeout: float = 30.0, logger: logging.Logger | None = None,
                 params: dict | None = None, private_daemon_url: str | None = None):
        self.agent_id = agent_id
        self.role = role
        self.clock = clock
        self._now = _now_function(clock)
        self.rng = rng if rng is not None else random.Random(agent_id)
        self.journal = journal if journal is not None else MemoryJournal(self._now, agent_id)
        self.shared_dir = Path(shared_dir) if shared_dir is not None else None
        self.daemon_url = daemon_url
        self.wallet_url = wallet_url
        self.wallet_auth = wallet_auth      # (user, password) for wallet-rpc's --rpc-login
        self._daemon = daemon
        self._wallet = wallet
        self.private_daemon_url = private_daemon_url
        self._private = None
        self._registry = None
        self.rpc_timeout = rpc_timeout
        self.logger = logger or logging.getLogger(f"monerosim.agent.{agent_id}")
        self.namespace = "/" + agent_id
        self.params = dict(params or {})
        self._bb = None
        self.next_wake: float | None = None  # earliest wake requested during the current tick

    # time and scheduling
    def now(self) -> float:
        """Engine-clock time in seconds (simulated under Shadow; jumps on the virtual clock)."""
        return self._now()

    def step_aside(self) -> None:
        """What follows touches only the agent's own wallet, nothing another agent can see: on a
        clock that serialises agents (lockstep), let others due at this instant work meanwhile.
        Time still stands still, and the agent queues again before its next tick. A leaf that
        steps aside ends its tick (returns RUNNING) once that work is done."""
        aside = getattr(self.clock, "step_aside", None)
        if aside is not None:
            aside()

    def wake_at(self, when: float) -> None:
        """Ask for the next tick no later than `when` (engine-clock seconds)."""
        if self.next_wake is None or when < self.next_wake:
            self.next_wake = when

    # journal
    def record(self, event: str, /, **fields: Any) -> dict:
        """Append the declared `event` (lang.events) with `fields` to this agent's journal and
        return the record; raises UndeclaredEvent, writing nothing, for an undeclared event, a
        missing field or a foreign one."""
        return self._append(event, fields, own=False)

    def record_own(self, event: str, /, **fields: Any) -> dict:
        """Append an event of the tree's or a plugin's own and return the record; raises
        UndeclaredEvent when it reuses a declared name with a field that event does not have."""
        return self._append(event, fields, own=True)

    def _append(self, event: str, fields: dict, own: bool) -> dict:
        wrong = events.problem(event, fields, own=own)
        if wrong is not None:
            raise events.UndeclaredEvent(wrong)
        return self.journal.append(event, **fields)

    # shared files and RPC clients, built on first use
    @property
    def registry(self):
        """The ipc.Registry under `shared_dir` (MissingEndpoint if the agent has none)."""
        if self._registry is None:
            if self.shared_dir is None:
                raise MissingEndpoint("this tree needs a shared directory: pass --shared DIR "
                                      "or set MONEROSIM_SHARED")
            import ipc
            self._registry = ipc.Registry(self.shared_dir)
        return self._registry

    @property
    def daemon(self):
        """The rpc_client.DaemonClient for --daemon. It holds no connection between calls:
        monerod 0.18 closes idle loopback RPC connections after 7 s once it holds more than
        120 sockets, and the wallet-rpcs' own connections need that room."""
        if self._daemon is None:
            if not self.daemon_url:
                raise MissingEndpoint("this tree needs a daemon: pass --daemon URL or set MONEROSIM_DAEMON")
            from rpc_client import DaemonClient
            self._daemon = DaemonClient(self.daemon_url, timeout=self.rpc_timeout,
                                        keep_alive=False)
        return self._daemon

    @property
    def private_daemon(self):
        """The rpc_client.DaemonClient for --private-daemon: the agent's own offline monerod."""
        if self._private is None:
            if not self.private_daemon_url:
                raise MissingEndpoint("this tree needs a private daemon: pass --private-daemon URL or "
                                      "set MONEROSIM_PRIVATE_DAEMON")
            from rpc_client import DaemonClient
            self._private = DaemonClient(self.private_daemon_url, timeout=self.rpc_timeout,
                                         keep_alive=False)
        return self._private

    @property
    def wallet(self):
        """The rpc_client.WalletClient for --wallet."""
        if self._wallet is None:
            if not self.wallet_url:
                raise MissingEndpoint("this tree needs a wallet: pass --wallet URL or set MONEROSIM_WALLET")
            from rpc_client import WalletClient
            self._wallet = WalletClient(
                self.wallet_url, timeout=self.rpc_timeout, auth=self.wallet_auth, reopen=True,
                on_reopen=lambda name: self.record(events.WALLET_REOPENED, wallet=name))
        return self._wallet

    # blackboard
    def blackboard(self, name: str = "engine") -> py_trees.blackboard.Client:
        """A new blackboard client in this agent's namespace."""
        return py_trees.blackboard.Client(name=name, namespace=self.namespace)

    def get(self, path: str) -> Any:
        """Read `key` or `key.field` from this agent's blackboard (KeyError if absent)."""
        key, *fields = path.split(".")
        value = py_trees.blackboard.Blackboard.storage[f"{self.namespace}/{key}"]
        return BlackboardRef(key, tuple(fields)).lookup(value)

    def set(self, key: str, value: Any) -> None:
        """Write `key` on this agent's blackboard, bypassing client registration (engine/tests)."""
        py_trees.blackboard.Blackboard.set(f"{self.namespace}/{key}", value)

    def clear_blackboard(self) -> None:
        """Forget every key in this agent's namespace."""
        storage = py_trees.blackboard.Blackboard.storage
        for name in [k for k in storage if k.startswith(self.namespace + "/")]:
            del storage[name]

    def close(self) -> None:
        """Close RPC sessions and the journal; idempotent."""
        for client in (self._daemon, self._wallet, self._private):
            close = getattr(client, "close", None)
            if close is not None:
                try:
                    close()
                except Exception:  # noqa: BLE001 - closing must not stop the shutdown
                    self.logger.debug("closing %r failed", client, exc_info=True)
        close = getattr(self.journal, "close", None)
        if close is not None:
            close()


def _now_function(clock: Any) -> Callable[[], float]:
    if clock is None:
        return time.time
    if hasattr(clock, "now"):
        return clock.now
    if callable(clock):
        return clock
    raise TypeError(f"clock must have now() or be callable, got {clock!r}")
