"""Leaf-level integration kit: one leaf (or a small subtree) ticked by hand against real RPC.

A `LeafAgent` is what engine/cli.py + engine/runner.py give a tree, minus the tree: an
AgentContext with real daemon / wallet-rpc URLs (the leaf builds its own rpc_client clients,
as under tree-runner), the agent's seeded RNG (`make_rng`), an ipc.JournalWriter journal
under tmp_path, a shared dir (registry, signals, orders) and a VirtualClock. `ready()` calls
`setup(ctx=...)` on every behaviour, as `Agent.__init__` does; `tick()` clears
`ctx.next_wake` and ticks once, as `Agent.tick` does; `run()` ticks until the leaf stops
RUNNING, jumping the virtual clock to the wake the leaf asked for, with a bound on ticks and
wall time.

Wallets and wallet-rpcs made here are memoised on the session `chain` (by name), so every
test module shares them and nothing is started twice.
"""
from __future__ import annotations

import time
from pathlib import Path

import pytest
from py_trees.common import Status

import ipc
from behaviours.base import AgentContext
from engine.clock import VirtualClock
from engine.runner import make_rng
from rpc_client import NoWalletOpen, WalletClient

SEED = 1234
START = 1_000_000.0      # virtual clock origin (engine seconds)
RPC_TIMEOUT = 60.0
OPEN_TIMEOUT = 300.0     # create_wallet costs seconds of CPU


class LeafAgent:
    """An agent without a tree: its context, journal file, shared dir and virtual clock."""

    def __init__(self, agent_id: str, root: Path, *, daemon_url: str | None = None,
                 wallet_url: str | None = None, shared: Path | None = None,
                 role: str | None = None, seed: int | str = SEED):
        self.agent_id = agent_id
        self.clock = VirtualClock(START)
        self.shared = Path(shared) if shared is not None else root / "shared"
        self.journal_path = ipc.journal_path(root / "journals", agent_id)
        journal = ipc.JournalWriter(self.journal_path, clock=self.clock.now, agent=agent_id)
        self.ctx = AgentContext(agent_id, role=role, clock=self.clock,
                                rng=make_rng(seed, agent_id), journal=journal,
                                shared_dir=self.shared, daemon_url=daemon_url,
                                wallet_url=wallet_url, rpc_timeout=RPC_TIMEOUT)
        self.ticks = 0

    # ------------------------------------------------------------ ticking
    def ready(self, behaviour):
        """setup(ctx=...) on `behaviour` and its descendants (as the engine does); returns it."""
        for node in behaviour.iterate():
            node.setup(ctx=self.ctx)
        return behaviour

    def tick(self, behaviour) -> Status:
        """One engine tick of `behaviour`."""
        self.ctx.next_wake = None
        behaviour.tick_once()
        self.ticks += 1
        return behaviour.status

    def run(self, behaviour, *, max_ticks: int = 20, timeout: float = 60.0) -> Status:
        """Tick until `behaviour` is not RUNNING (its status), or `max_ticks` ticks (RUNNING).
        Between ticks the virtual clock jumps to the wake the behaviour asked for."""
        deadline = time.monotonic() + timeout
        for _ in range(max_ticks):
            status = self.tick(behaviour)
            if status != Status.RUNNING:
                return status
            assert self.ctx.next_wake is not None, "a RUNNING leaf must ask for a wake time"
            self.clock.sleep_until(self.ctx.next_wake)
            if time.monotonic() > deadline:
                pytest.fail(f"{behaviour.name} still RUNNING after {timeout} s")
        return Status.RUNNING

    # ------------------------------------------------------------ what it left behind
    def events(self, event: str | None = None) -> list[dict]:
        """Journal records (from the JSONL file), only `event` if given."""
        records = ipc.read_journal(self.journal_path)
        return [r for r in records if event is None or r["event"] == event]

    def event(self, event: str) -> dict:
        """The one `event` record (fails if there is not exactly one)."""
        found = self.events(event)
        assert len(found) == 1, f"expected one {event}, journal has {self.events()}"
        return found[0]

    @property
    def registry(self) -> ipc.Registry:
        return ipc.Registry(self.shared)

    def get(self, key: str):
        return self.ctx.get(key)

    def close(self) -> None:
        self.ctx.clear_blackboard()
        self.ctx.close()


@pytest.fixture
def agents(tmp_path):
    """`agents(id, daemon_url=..., wallet_url=..., role=..., shared=...)` → LeafAgent.
    Agents of one test share tmp_path/shared unless given another; all are closed after."""
    made: list[LeafAgent] = []

    def make(agent_id: str, **kw) -> LeafAgent:
        agent = LeafAgent(agent_id, tmp_path, **kw)
        made.append(agent)
        return agent

    yield make
    for agent in made:
        agent.close()


# ---------------------------------------------------------------- real wallets, memoised

def wallet(chain, name: str) -> tuple[WalletClient, str]:
    """A wallet-rpc of its own with wallet `name` open (made once per session)."""
    if name not in chain.wallets:   # as chain.new_wallet, with room for a loaded machine
        client = chain.supervisor.start_wallet_rpc(name, chain.daemon).client()
        client.create_wallet(name, timeout=OPEN_TIMEOUT)
        chain.wallets[name] = client
    client = chain.wallets[name]
    return client, client.get_address()


def wallet_url(chain, name: str) -> str:
    return chain.supervisor.wallets[name].url


SHOP = "lk-shop"          # the shop agent's id is also its wallet's name


def shop_wallet(chain) -> tuple[WalletClient, str, str]:
    """The marketplace's wallet (made once per session): (client, address, wallet-rpc URL)."""
    client, address = wallet(chain, SHOP)
    return client, address, wallet_url(chain, SHOP)


def miner_url(chain) -> str:
    return chain.supervisor.wallets["miner"].url

def bare_wallet_rpc(chain, name: str = "lk-nowallet"):
    """A wallet-rpc that never opened a wallet (every wallet call: -13). Made once."""
    proc = chain.supervisor.wallets.get(name)
    if proc is None or not proc.alive():
        proc = chain.supervisor.start_wallet_rpc(name, chain.daemon)
    with proc.client() as client:
        try:
            client.close_wallet()
        except NoWalletOpen:
            pass
    return proc


# monero-wallet-rpc 0.18.0.0 spins forever in `transfer` (100 % CPU, no answer ever again)
# when a short chain has too few unlocked outputs left for its decoys: from the 80-block
# bootstrap, the miner's 5th transfer at height 86 hangs it; from 200 blocks, 35 transfers
# pass (measured). It matches the fake-out selection loop fixed upstream after 0.18.0 in
# monero-project/monero#8801.
SPENDABLE_HEIGHT = 160


@pytest.fixture(scope="module")
def tall_chain(chain):
    """Grow the session chain to SPENDABLE_HEIGHT before a module's wallets spend."""
    while (missing := SPENDABLE_HEIGHT - chain.rpc.get_block_count()) > 0:
        chain.mine(min(missing, 20))             # short calls: the RPC timeout is 30 s
    chain.miner.refresh()
    return chain


def settle_pool(chain) -> None:
    """Mine one block if the daemon's pool holds transactions (other tests expect it empty)."""
    if chain.rpc.get_transaction_pool_hashes():
        chain.mine(1)


def publish(shared: Path, agent_id: str, role: str, address: str, **fields) -> dict:
    """Write a registry record as another agent's PublishAddress would."""
    return ipc.Registry(shared).publish(agent_id, {"role": role, "address": address, **fields})
