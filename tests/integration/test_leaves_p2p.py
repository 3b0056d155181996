"""RecordConnections and BanPeer against real monerods: two regtest daemons on their own loopback addresses,
one dialling the other (as a spy node is dialled by every daemon, docs/research.md)."""
import time

import pytest
from py_trees.common import Status

from behaviours.p2p import BanPeer, RecordConnections
from sim.local.processes import free_port
from tests.integration.conftest import wait_until
from tests.integration.leafkit import agents, bare_wallet_rpc  # noqa: F401 (fixture)

pytestmark = pytest.mark.integration

WATCHED, DIALLER = "127.77.201.1", "127.77.201.2"


@pytest.fixture
def pair(supervisor):
    """(the daemon that is dialled, the daemon that dials it), connected."""
    port = free_port(WATCHED)
    watched = supervisor.start_daemon("watched", offline=False, p2p_ip=WATCHED, p2p_port=port)
    dialler = supervisor.start_daemon("dialler", offline=False, p2p_ip=DIALLER,
                                      peers=(f"{WATCHED}:{port}",))
    wait_until(lambda: watched.client().get_connections() and dialler.client().get_connections(), 90, 0.5)
    return watched, dialler


def test_record_connections_journals_both_ends(pair, agents):
    watched, dialler = pair
    spy = agents("spy", daemon_url=watched.url)
    leaf = spy.ready(RecordConnections(at_least=1, output="connections"))
    assert spy.tick(leaf) == Status.SUCCESS
    seen = spy.event("connections_seen")
    assert (seen["count"], seen["incoming"], seen["outgoing"]) == (1, 1, 0)
    assert len(seen["peers"]) == 1 and seen["peers"][0].startswith("127.")
    connection = spy.get("connections")[0]
    assert connection["incoming"] is True and connection["state"] == "normal"

    other = agents("other", daemon_url=dialler.url)
    leaf = other.ready(RecordConnections())
    assert other.tick(leaf) == Status.SUCCESS
    seen = other.event("connections_seen")
    assert (seen["count"], seen["incoming"], seen["outgoing"], seen["peers"]) == (1, 0, 1, [WATCHED])


def test_record_connections_fails_below_at_least_and_still_journals(pair, agents):
    watched, _dialler = pair
    spy = agents("spy", daemon_url=watched.url)
    leaf = spy.ready(RecordConnections(at_least=2))
    assert spy.tick(leaf) == Status.FAILURE
    assert spy.event("connections_seen")["count"] == 1
    assert spy.events("rpc_failed") == [] and spy.events("leaf_failed") == []


def test_an_offline_daemon_has_no_connections(chain, agents):
    agent = agents("lone", daemon_url=chain.daemon.url)
    leaf = agent.ready(RecordConnections(output="connections"))
    assert agent.tick(leaf) == Status.SUCCESS
    assert agent.event("connections_seen") == {**agent.event("connections_seen"), "count": 0, "peers": []}
    assert agent.get("connections") == []


def test_an_rpc_error_is_a_failure_and_journaled(chain, agents):
    agent = agents("spy", daemon_url=bare_wallet_rpc(chain).url)      # answers, but not get_connections
    leaf = agent.ready(RecordConnections())
    assert agent.tick(leaf) == Status.FAILURE
    failed = agent.event("rpc_failed")
    assert (failed["method"], failed["code"], failed["type"]) == ("get_connections", -32601, "RecordConnections")
    assert agent.events("connections_seen") == []


def test_a_banned_peer_is_dropped_and_kept_out_until_the_ban_is_lifted(pair, agents):
    watched, dialler = pair
    agent = agents("cutter", daemon_url=dialler.url)        # the dialler bans the daemon it dials
    leaf = agent.ready(BanPeer(host=WATCHED, seconds=600))
    assert agent.tick(leaf) == Status.SUCCESS
    assert agent.event("peer_banned") == {**agent.event("peer_banned"), "host": WATCHED, "ban": True,
                                          "seconds": 600, "connected": True}
    bans = dialler.client().get_bans()
    assert [b["host"] for b in bans] == [WATCHED] and 0 < bans[0]["seconds"] <= 600
    wait_until(lambda: not dialler.client().get_connections(), 30, 0.5)     # dropped
    time.sleep(5)
    assert dialler.client().get_connections() == []                          # and kept out

    leaf = agent.ready(BanPeer(host=WATCHED, ban=False))
    assert agent.tick(leaf) == Status.SUCCESS
    lifted = agent.events("peer_banned")[-1]
    assert (lifted["ban"], lifted["seconds"], lifted["connected"]) == (False, 0, False)
    assert dialler.client().get_bans() == []
    wait_until(lambda: dialler.client().get_connections(), 120, 0.5)       # it dials again


def test_a_ban_the_daemon_refuses_is_a_failure_and_journaled(chain, agents):
    agent = agents("spy", daemon_url=bare_wallet_rpc(chain).url)      # answers, but not these calls
    leaf = agent.ready(BanPeer(host="127.77.0.9"))
    assert agent.tick(leaf) == Status.FAILURE
    assert agent.event("rpc_failed")["type"] == "BanPeer" and agent.events("peer_banned") == []
