"""Each wallet-rpc error the clients name (rpc_client.errors.CODES), produced by a real
wallet-rpc, maps to its exception."""
import pytest

from rpc_client import (AuthError, DaemonUnreachable, MethodNotFound, NoWalletOpen,
                        NotEnoughMoney, NotEnoughOutputs, NotEnoughUnlockedMoney,
                        TooManyDestinations, WalletClient, WalletExists, WalletOpenFailed,
                        WrongAddress, ZeroAmount, to_atomic)
from sim.local.processes import free_port

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def payee(chain):
    return chain.new_wallet("payee")[1]


def expect(exc_type, code, call):
    with pytest.raises(exc_type) as err:
        call()
    assert err.value.code == code
    return err.value


def test_more_than_balance_is_not_enough_money(chain, payee):
    balance = chain.miner.get_balance()["balance"]
    expect(NotEnoughMoney, -17, lambda: chain.miner.transfer([(payee, balance + to_atomic(1))]))


def test_more_than_unlocked_is_not_enough_unlocked_money(chain, payee):
    balance = chain.miner.get_balance()
    assert balance["balance"] > balance["unlocked_balance"] + to_atomic(2)
    amount = balance["unlocked_balance"] + to_atomic(1)
    expect(NotEnoughUnlockedMoney, -37, lambda: chain.miner.transfer([(payee, amount)]))


def test_seventeen_destinations_is_too_many(chain, payee):
    expect(TooManyDestinations, -18,
           lambda: chain.miner.transfer([(payee, to_atomic("0.001"))] * 17))


def test_invalid_address_is_wrong_address(chain, payee):
    expect(WrongAddress, -2, lambda: chain.miner.transfer([(payee[:-1] + "x", 1)]))
    expect(WrongAddress, -2, lambda: chain.miner.transfer([("not-an-address", 1)]))


def test_zero_amount(chain, payee):
    expect(ZeroAmount, -46, lambda: chain.miner.transfer([(payee, 0)]))


def test_wallet_file_errors(chain):
    proc = chain.supervisor.start_wallet_rpc("files", chain.daemon)
    wallet = proc.client()
    expect(NoWalletOpen, -13, wallet.get_balance)
    expect(WalletOpenFailed, -1, lambda: wallet.open_wallet("missing"))
    wallet.create_wallet("files", password="right")
    expect(WalletExists, -21, lambda: wallet.create_wallet("files"))
    wallet.close_wallet()
    expect(WalletOpenFailed, -1, lambda: wallet.open_wallet("files", password="wrong"))
    wallet.open_wallet("files", password="right")
    assert wallet.get_address().startswith("4")


def test_unknown_method(chain):
    expect(MethodNotFound, -32601, lambda: chain.miner.call("no_such_method"))


def test_daemon_unreachable(chain, payee):
    proc = chain.supervisor.start_wallet_rpc("orphan", f"http://127.0.0.1:{free_port()}")
    wallet = proc.client()
    wallet.create_wallet("orphan")
    expect(DaemonUnreachable, -38, wallet.refresh)
    expect(DaemonUnreachable, -4, lambda: wallet.transfer([(payee, to_atomic(1))]))


def test_too_few_outputs_on_a_young_chain(supervisor):
    daemon = supervisor.start_daemon("young")
    wallet = supervisor.start_wallet_rpc("young", daemon).client()
    wallet.create_wallet("young")
    address = wallet.get_address()
    daemon.client().generateblocks(62, address)
    wallet.refresh()
    assert wallet.get_balance()["unlocked_balance"] > to_atomic(1)
    expect(NotEnoughOutputs, -19, lambda: wallet.transfer([(address, to_atomic(1))]))


def test_digest_auth_right_and_wrong_password(chain):
    proc = chain.supervisor.start_wallet_rpc("guarded", chain.daemon, login=("alice", "s3cret"))
    with WalletClient(proc.url, auth=("alice", "s3cret")) as right:
        right.create_wallet("guarded")
        assert right.get_address().startswith("4")
    for auth in (("alice", "hunter2"), None):
        with WalletClient(proc.url, auth=auth) as client:
            err = expect_auth(client)
            assert err.status == 401
            assert "s3cret" not in str(err) and "hunter2" not in str(err)


def expect_auth(client):
    with pytest.raises(AuthError) as err:
        client.get_address()
    return err.value


def test_sixteen_destinations_plus_change_is_too_many(chain, payee):
    """16 outputs is the limit with the change output: MAX_DESTINATIONS leaves room for it."""
    from rpc_client import MAX_DESTINATIONS
    expect(TooManyDestinations, -18,
           lambda: chain.miner.transfer([(payee, to_atomic("0.001"))] * 16))
    sent = chain.miner.transfer([(payee, to_atomic("0.001"))] * MAX_DESTINATIONS)
    assert sent["amount"] == to_atomic("0.001") * MAX_DESTINATIONS
