"""WalletClient against a real regtest monero-wallet-rpc, method by method."""
import pytest

from rpc_client import MAX_DESTINATIONS, WalletClient, to_atomic
from tests.integration.conftest import wait_until

pytestmark = pytest.mark.integration


def test_addresses_and_heights(chain):
    assert chain.miner_address.startswith("4") and len(chain.miner_address) == 95
    sub = chain.miner.create_address(label="shop")
    assert sub["address"].startswith("8") and sub["address_index"] >= 1
    chain.miner.refresh()
    assert chain.miner.get_height() == chain.rpc.get_block_count()


def test_balance_refresh_and_unlock(chain):
    wallet, address = chain.new_wallet("unlock")
    amount = to_atomic("1.5")
    txid = chain.miner.transfer([(address, amount)])["tx_hash"]
    height = chain.mine_until_mined([txid])[txid]
    fetched = wallet.refresh()
    assert fetched["blocks_fetched"] >= 1 and fetched["received_money"] is True
    balance = wallet.get_balance()
    assert balance["balance"] == amount and balance["unlocked_balance"] == 0
    assert balance["blocks_to_unlock"] > 0
    chain.mine(height + 10 - chain.rpc.get_block_count())   # unlocks 10 blocks after its block
    wallet.refresh()
    assert wallet.get_balance()["unlocked_balance"] == amount
    seen = wallet.get_transfer_by_txid(txid)["transfer"]
    assert seen["amount"] == amount and seen["type"] == "in"


def test_get_transfers_in_out_pool(chain):
    wallet, address = chain.new_wallet("transfers")
    txid = chain.miner.transfer([(address, to_atomic("0.3"))])["tx_hash"]
    pool = wait_until(lambda: (wallet.refresh(), wallet.get_transfers(pool=True)["pool"])[1])
    assert [t["txid"] for t in pool] == [txid]
    assert pool[0]["height"] == 0
    mined = chain.mine(1)
    wallet.refresh()
    transfers = wallet.get_transfers(incoming=True, pool=True)
    assert transfers["pool"] == []
    assert [(t["txid"], t["height"], t["amount"]) for t in transfers["in"]] == \
        [(txid, mined["height"], to_atomic("0.3"))]
    chain.miner.refresh()
    outgoing = chain.miner.get_transfers(outgoing=True, min_height=mined["height"] - 1)["out"]
    assert txid in [t["txid"] for t in outgoing]


def test_transfer_split_beyond_sixteen_destinations(chain):
    names = [f"split{i}" for i in range(2)]
    addresses = [chain.new_wallet(n)[1] for n in names]
    subs = [chain.wallets[names[i % 2]].create_address()["address"] for i in range(MAX_DESTINATIONS + 2)]
    sent = chain.miner.transfer_split([(a, to_atomic("0.01")) for a in subs + addresses])
    assert len(sent["tx_hash_list"]) >= 2
    assert sum(sent["amount_list"]) == to_atomic("0.01") * (MAX_DESTINATIONS + 4)
    chain.mine(1)
    received = 0
    for n in names:
        chain.wallets[n].refresh()
        received += chain.wallets[n].get_balance()["balance"]
    assert received == to_atomic("0.01") * (MAX_DESTINATIONS + 4)


def test_store_close_open_and_stop_wallet(chain):
    wallet, address = chain.new_wallet("lifecycle")
    wallet.store()
    wallet.close_wallet()
    wallet.open_wallet("lifecycle")
    assert wallet.get_address() == address
    proc = chain.supervisor.wallets["lifecycle"]
    wallet.stop_wallet()
    proc.popen.wait(15)
    assert proc.popen.returncode == 0
    assert (proc.workdir / "lifecycle.keys").exists()


def test_integrated_address_payment_seen_with_payment_id(chain):
    shop, shop_address = chain.new_wallet("shop")
    payment_id = "0123456789abcdef"
    integrated = chain.miner.make_integrated_address(payment_id, shop_address)
    assert integrated["payment_id"] == payment_id
    assert integrated["integrated_address"] != shop_address
    amount = to_atomic("0.42")
    txid = chain.miner.transfer([(integrated["integrated_address"], amount)])["tx_hash"]

    pool = wait_until(lambda: (shop.refresh(), shop.get_transfers(pool=True)["pool"])[1])
    assert (pool[0]["txid"], pool[0]["payment_id"], pool[0]["amount"]) == (txid, payment_id, amount)
    mined = chain.mine(1)
    shop.refresh()
    incoming = shop.get_transfers(incoming=True)["in"]
    assert [(t["txid"], t["payment_id"], t["amount"], t["confirmations"]) for t in incoming] == \
        [(txid, payment_id, amount, 1)]
    payments = shop.get_payments(payment_id)
    assert [(p["tx_hash"], p["amount"], p["block_height"]) for p in payments] == \
        [(txid, amount, mined["height"])]
    assert shop.get_payments("fedcba9876543210") == []


def test_wallet_is_reopened_after_the_wallet_rpc_restarts(chain):
    """A wallet-rpc killed and restarted has no wallet open; a reopen client opens it again."""
    proc = chain.supervisor.start_wallet_rpc("phoenix", chain.daemon)
    reopened = []
    wallet = WalletClient(proc.url, reopen=True, on_reopen=reopened.append)
    wallet.create_wallet("phoenix")
    address = wallet.get_address()
    proc.kill()
    proc = chain.supervisor.start_wallet_rpc("phoenix", chain.daemon)
    assert wallet.get_address() == address
    assert reopened == ["phoenix"]
    plain = WalletClient(proc.url)
    plain.close_wallet()
    from rpc_client import NoWalletOpen
    with pytest.raises(NoWalletOpen):
        plain.get_address()
