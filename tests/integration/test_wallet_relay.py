"""WalletClient's two-phase send against a real monero-wallet-rpc 0.18 and monerod: what
`transfer {do_not_relay, get_tx_metadata, get_tx_hex}` and `relay_tx` really answer (the
facts SendTx and behaviours/settling.py build on)."""
import pytest

from rpc_client import JsonRpcError, to_atomic
from tests.integration.leafkit import settle_pool, tall_chain, wallet  # noqa: F401

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def sender(tall_chain):
    chain = tall_chain
    client, address = wallet(chain, "rl-sender")
    chain.miner.refresh()
    chain.miner.transfer([(address, to_atomic(1))] * 2)
    chain.mine(11)
    client.refresh()
    yield client
    settle_pool(chain)


def outgoing(client) -> dict[str, str]:
    got = client.get_transfers(outgoing=True, pending=True, pool=True, failed=True)
    return {t["txid"]: kind for kind in ("out", "pending", "pool", "failed") for t in got[kind]}


def test_a_signed_transfer_is_sent_by_relay_tx_only_and_relaying_it_again_is_one_payment(
        chain, sender):
    before = sender.get_balance()
    signed = sender.transfer([(chain.miner_address, to_atomic("0.1"))], do_not_relay=True,
                             get_tx_metadata=True, get_tx_hex=True)
    txid = signed["tx_hash"]
    assert {"tx_hash", "fee", "amount", "weight", "tx_metadata", "tx_blob",
            "spent_key_images"} <= set(signed)
    assert signed["amount"] == to_atomic("0.1") and signed["fee"] > 0
    assert len(signed["spent_key_images"]["key_images"]) >= 1
    int(signed["tx_metadata"], 16), int(signed["tx_blob"], 16)      # both hex
    # signed, not sent: the daemon has no such tx, the wallet booked nothing
    assert chain.rpc.get_transactions([txid])["missed_tx"] == [txid]
    assert txid not in outgoing(sender)
    assert sender.get_balance()["unlocked_balance"] == before["unlocked_balance"]

    assert sender.relay_tx(signed["tx_metadata"]) == txid
    [tx] = chain.rpc.get_transactions([txid])["txs"]
    assert tx["in_pool"] is True
    assert outgoing(sender)[txid] == "pending"
    assert sender.relay_tx(signed["tx_metadata"]) == txid          # again: the same one tx
    assert chain.rpc.get_transaction_pool_hashes().count(txid) == 1
    chain.mine(1)
    assert sender.relay_tx(signed["tx_metadata"]) == txid          # mined: still accepted
    [tx] = chain.rpc.get_transactions([txid])["txs"]
    assert tx["in_pool"] is False and tx["block_height"] > 0
    assert txid not in chain.rpc.get_transaction_pool_hashes()


@pytest.mark.parametrize("metadata, code", [("00", -27), ("zz", -26)],
                         ids=["not-metadata", "not-hex"])
def test_relay_tx_refuses_what_is_not_a_signed_tx(sender, metadata, code):
    with pytest.raises(JsonRpcError) as refused:
        sender.relay_tx(metadata)
    assert (refused.value.code, refused.value.method) == (code, "relay_tx")
