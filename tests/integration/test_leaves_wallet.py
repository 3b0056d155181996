"""Wallet leaves (OpenWallet, GetAddress, CheckBalance, AwaitFunds) against real wallet-rpcs."""
import pytest
from py_trees.common import Status

from behaviours.wallet import AwaitFunds, CheckBalance, GetAddress, OpenWallet
from rpc_client import from_atomic, to_atomic
from tests.integration.leafkit import (START, agents, bare_wallet_rpc,  # noqa: F401
                                       tall_chain, wallet)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module", autouse=True)
def _spendable(tall_chain):
    """Every miner transfer below needs a chain tall enough (leafkit.SPENDABLE_HEIGHT)."""


@pytest.fixture(scope="module")
def spare(chain):
    """A wallet-rpc of its own for OpenWallet (which opens and creates wallets on it)."""
    proc = chain.supervisor.wallets.get("lk-open")
    if proc is None:
        proc = chain.supervisor.start_wallet_rpc("lk-open", chain.daemon)
    return proc


def test_open_wallet_creates_on_first_use_opens_after_and_stores_at_shutdown(chain, spare, agents):
    keys = spare.workdir / "shopkeeper.keys"
    cache = spare.workdir / "shopkeeper"
    assert not keys.exists()

    first = agents("shopkeeper", wallet_url=spare.url)
    leaf = first.ready(OpenWallet())
    assert first.tick(leaf) == Status.RUNNING           # open_wallet: no such wallet (-1)
    assert first.ctx.next_wake == START                 # create on the very next tick
    assert first.events() == []
    assert first.tick(leaf) == Status.RUNNING           # create_wallet
    assert first.event("wallet_created")["wallet"] == "shopkeeper"   # the agent id by default
    assert keys.exists()
    assert first.tick(leaf) == Status.RUNNING           # auto_refresh {enable: false}
    assert first.tick(leaf) == Status.SUCCESS           # no RPC: the private work ended a tick ago
    assert first.ticks == 4 and first.events("rpc_failed") == []
    with spare.client() as rpc:
        address = rpc.get_address()
        rpc.close_wallet()                              # as if the agent had stopped

    again = agents("shopkeeper", wallet_url=spare.url, shared=first.shared)
    leaf = again.ready(OpenWallet())
    assert again.run(leaf) == Status.SUCCESS            # it exists now: open, auto_refresh
    assert again.ticks == 3
    assert [e["event"] for e in again.events()] == ["wallet_created", "wallet_opened"]
    with spare.client() as rpc:
        assert rpc.get_address() == address
    chain.mine(1)
    with spare.client() as rpc:
        rpc.refresh()                                   # a cache worth storing

    before = cache.stat().st_mtime_ns
    leaf.shutdown()                                     # the engine calls it when the agent stops
    assert cache.stat().st_mtime_ns > before            # `store` rewrote the wallet cache


def test_open_wallet_with_a_wrong_password_fails_and_stores_nothing(spare, agents):
    with spare.client() as rpc:                         # a wallet with a password, left open
        rpc.create_wallet("locked-box", "right")
    cache = spare.workdir / "locked-box"

    agent = agents("locked-box", wallet_url=spare.url)
    leaf = agent.ready(OpenWallet(password="wrong"))
    status = agent.run(leaf, max_ticks=3)
    assert status == Status.FAILURE
    failed = agent.event("rpc_failed")
    # open_wallet refuses (-1: missing or wrong password); the leaf then tries to create it,
    # which the wallet-rpc refuses because the file exists (-21).
    assert failed["code"] in (-21, -1)
    assert (failed["method"], failed["code"]) == ("create_wallet", -21)
    assert agent.events("wallet_opened") == agent.events("wallet_created") == []
    before = cache.stat().st_mtime_ns                   # (open_wallet itself autosaves)
    leaf.shutdown()                                     # never opened: nothing stored
    assert cache.stat().st_mtime_ns == before


def test_get_address_reads_the_primary_address(chain, agents):
    agent = agents("miner", wallet_url=chain.supervisor.wallets["miner"].url)
    leaf = agent.ready(GetAddress())
    assert agent.tick(leaf) == Status.SUCCESS
    assert agent.get("address") == chain.miner_address
    assert agent.get("address").startswith("4") and len(agent.get("address")) == 95


def test_check_balance_succeeds_or_fails_by_the_unlocked_threshold(chain, agents):
    agent = agents("miner", wallet_url=chain.supervisor.wallets["miner"].url)
    chain.miner.refresh()
    unlocked = chain.miner.get_balance()["unlocked_balance"]
    assert unlocked > 0

    enough = agent.ready(CheckBalance(min_unlocked=from_atomic(unlocked), output="bal"))
    assert agent.tick(enough) == Status.RUNNING         # refresh
    assert agent.tick(enough) == Status.SUCCESS         # get_balance: exactly enough
    assert agent.get("bal")["unlocked"] == unlocked
    assert agent.get("bal")["balance"] >= unlocked

    short = agent.ready(CheckBalance(min_unlocked=from_atomic(unlocked + 1), output="bal2"))
    assert agent.run(short) == Status.FAILURE           # one atomic unit short
    assert agent.get("bal2")["unlocked"] == unlocked
    assert agent.events("rpc_failed") == agent.events("leaf_failed") == []

    no_refresh = agent.ready(CheckBalance(min_unlocked=1, refresh=False))
    assert agent.tick(no_refresh) == Status.SUCCESS     # one tick without refresh


def test_await_funds_runs_until_a_transfer_unlocks(chain, agents):
    client, address = wallet(chain, "lk-funds")
    agent = agents("fresh-user", wallet_url=chain.supervisor.wallets["lk-funds"].url)
    leaf = agent.ready(AwaitFunds(min_unlocked=1.5, poll=10.0, output="funds"))

    assert agent.run(leaf, max_ticks=2) == Status.RUNNING   # refresh, then balance 0
    assert agent.ctx.next_wake == START + 10
    assert agent.get("funds") == {"balance": 0, "unlocked": 0}

    txid = chain.miner.transfer([(address, to_atomic("1.5"))])["tx_hash"]
    height = chain.mine_until_mined([txid])[txid]
    assert agent.run(leaf, max_ticks=4) == Status.RUNNING   # received, but locked
    assert agent.get("funds") == {"balance": to_atomic("1.5"), "unlocked": 0}
    assert agent.events("funded") == []

    # received transfers unlock 10 blocks after the block that holds them
    chain.mine(height + 10 - chain.rpc.get_block_count())
    assert agent.run(leaf, max_ticks=4) == Status.SUCCESS
    funded = agent.event("funded")
    assert (funded["unlocked"], funded["balance"]) == (to_atomic("1.5"), to_atomic("1.5"))
    assert agent.get("funds")["unlocked"] == to_atomic("1.5")
    assert client.get_balance()["unlocked_balance"] == to_atomic("1.5")

    quiet = agent.ready(AwaitFunds(min_unlocked=1, journal=False))
    assert agent.run(quiet) == Status.SUCCESS
    assert len(agent.events("funded")) == 1                 # journal: false


@pytest.mark.parametrize("leaf, method", [
    (GetAddress(), "get_address"),
    (CheckBalance(min_unlocked=1), "refresh"),
    (CheckBalance(min_unlocked=1, refresh=False), "get_balance"),
    (AwaitFunds(min_unlocked=1), "refresh"),
], ids=["GetAddress", "CheckBalance", "CheckBalance-norefresh", "AwaitFunds"])
def test_wallet_leaves_fail_with_the_rpc_code_when_no_wallet_is_open(chain, agents, leaf, method):
    agent = agents("walletless", wallet_url=bare_wallet_rpc(chain).url)
    agent.ready(leaf)
    assert agent.run(leaf) == Status.FAILURE
    failed = agent.event("rpc_failed")
    assert (failed["method"], failed["code"], failed["error"]) == (method, -13, "NoWalletOpen")
    assert failed["type"] == leaf.type_name()
