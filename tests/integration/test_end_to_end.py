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

    # The payment unlocks 10 blocks after the block that holds it (asked, not assumed to be the next).
    tx_height = _mined_at(rpc, bob, a, sent["tx_hash"])
    with pytest.raises(NotEnoughUnlockedMoney):
        bob.transfer([(a, to_atomic("0.5"))])
    rpc.generateblocks(tx_height + 9 - rpc.get_block_count(), a)
    bob.refresh()
    assert rpc.get_block_count() == tx_height + 9 and bob.get_balance()["unlocked_balance"] == 0
    rpc.generateblocks(1, a)
    bob.refresh()
    assert bob.get_balance()["unlocked_balance"] == to_atomic(2)

    back = bob.transfer([(a, to_atomic("0.5"))])
    rpc.generateblocks(1, a)
    bob.refresh()
    assert bob.get_balance()["balance"] == to_atomic(2) - to_atomic("0.5") - back["fee"]
    alice.refresh()
    assert back["tx_hash"] in [t["txid"] for t in alice.get_transfers(incoming=True)["in"]]


def _mined_at(rpc, wallet, miner: str, txid: str, blocks: int = 3) -> int:
    """The height of the block holding `txid`, mining one block at a time (at most `blocks`)."""
    for _ in range(blocks):
        rpc.generateblocks(1, miner)
        wallet.refresh()
        height = wallet.get_transfer_by_txid(txid)["transfer"]["height"]
        if height:
            return height
    raise AssertionError(f"{txid} not mined in {blocks} blocks")
