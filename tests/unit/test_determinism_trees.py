"""Every shipped role tree makes the same decisions from the same seed (virtual clock).

The trees run against an in-memory stand-in for monerod and monero-wallet-rpc (a pure engine
test: the real processes are covered by the integration tests) and a shared directory with a
registry of peers. The journal — waits, picks, payment IDs, amounts, signals — must be equal
for equal seeds and differ for another seed.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import py_trees
import pytest

import ipc
from behaviours.base import AgentContext, MemoryJournal
from engine.clock import VirtualClock
from engine import Factory
from engine.runner import make_rng

REPO = Path(__file__).resolve().parents[2]
ADDRESS = "4" + "A" * 94


class FakeChain:
    """The chain both fakes share: a height that generateblocks raises."""

    def __init__(self, height: int = 1):
        self.height = height


class FakeDaemon:
    def __init__(self, chain: FakeChain):
        self.chain = chain

    def get_info(self):
        return {"height": self.chain.height, "status": "OK"}

    def get_block_count(self):
        return self.chain.height

    def generateblocks(self, n, address):
        self.chain.height += n
        return {"height": self.chain.height - 1,
                "blocks": [hashlib.sha256(str(h).encode()).hexdigest()
                           for h in range(self.chain.height - n, self.chain.height)]}

    def close(self):
        pass


class FakeWallet:
    """Answers like a funded wallet; transfers get txids derived from what was sent."""

    def __init__(self, agent: str):
        self.agent = agent
        self.sent = 0

    def open_wallet(self, *a, **k):
        from rpc_client import WalletOpenFailed
        raise WalletOpenFailed(-1, "Failed to open wallet", method="open_wallet")

    def create_wallet(self, *a, **k):
        pass

    def auto_refresh(self, *a, **k):
        pass

    def store(self):
        pass

    def get_address(self):
        return ADDRESS

    def refresh(self):
        return {"blocks_fetched": 0, "received_money": False}

    def get_balance(self):
        return {"balance": 10**14, "unlocked_balance": 10**14}

    def make_integrated_address(self, payment_id, address):
        return {"integrated_address": f"int-{payment_id}", "payment_id": payment_id}

    def transfer(self, destinations, **k):
        self.sent += 1
        txid = hashlib.sha256(repr((self.agent, self.sent, destinations)).encode()).hexdigest()
        return {"tx_hash": txid, "fee": 1000, "amount": sum(a for _, a in destinations),
                "tx_metadata": f"meta-{txid}"}

    def relay_tx(self, metadata):
        return metadata.removeprefix("meta-")

    def get_transfers(self, **k):
        incoming = [{"txid": "cd" * 32, "payment_id": "ab" * 8, "amount": 5 * 10**10,
                     "height": 150, "confirmations": 4}] if self.agent == "shop-0" else []
        return {"in": incoming, "out": [], "pending": [], "failed": [], "pool": []}

    def close(self):
        pass


@pytest.fixture(autouse=True)
def clean_blackboard():
    yield
    py_trees.blackboard.Blackboard.storage.clear()
    py_trees.blackboard.Blackboard.metadata.clear()
    py_trees.blackboard.Blackboard.clients.clear()


def shared_world(root: Path) -> Path:
    """A registry with two pools, two shops and two users, and a signal for pool-0."""
    shared = root / "shared"
    registry = ipc.Registry(shared)
    for agent, role, extra in (("pool-0", "pool", {"hashrate": 60}), ("pool-1", "pool", {"hashrate": 40}),
                               ("shop-0", "marketplace", {}), ("shop-1", "marketplace", {}),
                               ("user-0", "user", {}), ("user-1", "user", {})):
        registry.publish(agent, {"role": role, "address": ADDRESS, **extra})
    ipc.write_mining_signal(shared, seq=1, pool="pool-0", blocks=1, issued_at=0.0, height=200)
    book = ipc.OrderBookWriter(shared, "user-1", lambda: 0.0)
    book.append("order_placed", payment_id="ab" * 8, shop="shop-0", amount=5 * 10**10)
    book.append("order_paid", payment_id="ab" * 8, txid="cd" * 32)
    book.close()
    return shared


def decisions(tmp_path: Path, tree: str, agent: str, seed: int) -> list[dict]:
    root = tmp_path / f"{tree}-{agent}-{seed}-{len(list(tmp_path.iterdir()))}"
    shared = shared_world(root)
    factory = Factory.for_plugins()
    loaded = factory.load(REPO / "trees" / f"{tree}.yaml")
    clock = VirtualClock()
    chain = FakeChain(height=1)
    ctx = AgentContext(agent, role=loaded.role, clock=clock, rng=make_rng(seed, agent),
                       journal=MemoryJournal(clock.now, agent), shared_dir=shared,
                       daemon=FakeDaemon(chain), wallet=FakeWallet(agent))
    factory.agent(loaded, ctx, clock, seed=seed).run(until=clock.now() + 6 * 3600, max_ticks=3000)
    py_trees.blackboard.Blackboard.storage.clear()
    return [{k: v for k, v in r.items() if k != "tree"} for r in ctx.journal.records]


@pytest.mark.parametrize("tree, agent", [("controller", "controller"), ("pool", "pool-0"),
                                         ("user", "user-0"), ("marketplace", "shop-0")])
def test_same_seed_same_decisions_for_every_shipped_tree(tmp_path, tree, agent):
    first = decisions(tmp_path, tree, agent, seed=7)
    again = decisions(tmp_path, tree, agent, seed=7)
    other = decisions(tmp_path, tree, agent, seed=8)
    events = {r["event"] for r in first}
    assert len(first) >= 5 and "leaf_failed" not in events, sorted(events)
    assert first == again
    if tree in ("controller", "user"):   # these draw from their RNG: waits, picks, IDs, amounts
        assert first != other
