"""DaemonClient against a real regtest monerod."""
import pytest

from rpc_client import DaemonClient, ConnectionFailed, MethodNotFound, to_atomic

pytestmark = pytest.mark.integration


def test_info_and_heights_agree(chain):
    info = chain.rpc.get_info()
    assert info["nettype"] == "fakechain"
    count = chain.rpc.get_block_count()
    assert count >= 81
    assert info["height"] == count == chain.rpc.get_height()
    assert chain.rpc.get_last_block_header()["height"] == count - 1


def test_generateblocks_reports_last_block_index(chain):
    before = chain.rpc.get_block_count()
    mined = chain.mine(3)
    assert len(mined["blocks"]) == 3
    assert mined["height"] == before + 2
    assert chain.rpc.get_block_count() == before + 3
    header = chain.rpc.get_block_header_by_height(mined["height"])
    assert header["hash"] == mined["blocks"][-1]
    assert chain.rpc.get_last_block_header()["hash"] == mined["blocks"][-1]
    assert chain.rpc.get_block_header_by_height(before)["hash"] == mined["blocks"][0]


def test_transaction_pool_then_block(chain):
    _, address = chain.new_wallet("pooltest")
    assert chain.rpc.get_transaction_pool_hashes() == []
    txid = chain.miner.transfer([(address, to_atomic("0.25"))])["tx_hash"]
    assert txid in chain.rpc.get_transaction_pool_hashes()
    found = chain.rpc.get_transactions([txid, "00" * 32])
    assert found["missed_tx"] == ["00" * 32]
    assert [tx["tx_hash"] for tx in found["txs"]] == [txid]
    assert found["txs"][0]["in_pool"] is True

    mined = chain.mine(1)
    assert chain.rpc.get_transaction_pool_hashes() == []
    tx = chain.rpc.get_transactions([txid], decode_as_json=True)["txs"][0]
    assert tx["in_pool"] is False
    assert tx["block_height"] == mined["height"]
    assert '"vin"' in tx["as_json"]


def test_unknown_method_is_method_not_found(chain):
    with pytest.raises(MethodNotFound) as err:
        chain.rpc.call("no_such_method")
    assert err.value.code == -32601


def test_dead_daemon_is_connection_failed_after_bounded_retries(chain):
    from sim.local.processes import free_port
    sleeps = []
    client = DaemonClient(f"http://127.0.0.1:{free_port()}", retries=3, backoff=0.01,
                          sleep=sleeps.append)
    with pytest.raises(ConnectionFailed):
        client.get_info()
    assert sleeps == [0.01, 0.02, 0.04]


def _established_to(port: int) -> int:
    """This process's established TCP connections to 127.0.0.1:`port` (from /proc/net/tcp)."""
    import os
    inodes = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    count = 0
    with open("/proc/net/tcp") as table:
        next(table)
        for line in table:
            fields = line.split()
            remote, state, inode = fields[2], fields[3], fields[9]
            if state == "01" and inode in inodes and int(remote.split(":")[1], 16) == port:
                count += 1
    return count


def test_an_agents_daemon_client_holds_no_connection_to_monerod_between_calls(chain):
    """monerod 0.18 drops idle loopback RPC connections after 7 s once it holds more than 120
    sockets; agents' daemon clients leave that room to the wallet-rpcs."""
    from behaviours.context import AgentContext

    port = chain.daemon.rpc_port
    kept = DaemonClient(chain.daemon.url)
    kept.get_info()
    assert _established_to(port) >= 1             # a plain client keeps its connection
    kept.close()
    before = _established_to(port)
    ctx = AgentContext("looker", daemon_url=chain.daemon.url)
    for _ in range(3):
        assert ctx.daemon.get_block_count() >= 1
    assert _established_to(port) == before
