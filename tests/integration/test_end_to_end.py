"""The chain rules the trees rely on, end to end on a fresh chain."""
import pytest

from rpc_client import NotEnoughOutputs, NotEnoughUnlockedMoney, to_atomic

pytestmark = pytest.mark.integration


def test_bootstrap_transfer_unlock_and_recipient_spends(supervisor):
    daemon = supervisor.start_daemon("e2e")
    rpc = daemon.client()
    alice = supervisor.start_wallet_rpc("alice", daemon).client()
    bob = supervisor.start_wallet_rpc("bob", daemon).client()
    alice.create_wallet("alice")
    bob.create_wallet("bob")
    a, b = alice.get_address(), bob.get_address()

    # 74 blocks are one short: fewer than 16 unlocked outputs for a ring.
    rpc.generateblocks(74, a)
    alice.refresh()
    with pytest.raises(NotEnoughOutputs):
        alice.transfer([(b, to_atomic(2))])
    rpc.generateblocks(1, a)
    alice.refresh()
    sent = alice.transfer([(b, to_atomic(2))])
    assert sent["amount"] == to_atomic(2) and sent["fee"] > 0

    mined = rpc.generateblocks(1, a)
    bob.refresh()
    with pytest.raises(NotEnoughUnlockedMoney):
        bob.transfer([(a, to_atomic("0.5"))])
    rpc.generateblocks(9, a)
    bob.refresh()
    assert bob.get_balance()["unlocked_balance"] == to_atomic(2)
    assert mined["height"] + 10 == rpc.get_block_count()

    back = bob.transfer([(a, to_atomic("0.5"))])
    rpc.generateblocks(1, a)
    bob.refresh()
    assert bob.get_balance()["balance"] == to_atomic(2) - to_atomic("0.5") - back["fee"]
    alice.refresh()
    assert back["tx_hash"] in [t["txid"] for t in alice.get_transfers(incoming=True)["in"]]
