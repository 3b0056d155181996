"""Leaves that look at and act on the daemon's P2P side: whom it is connected to, whom it bans."""
from __future__ import annotations

from .base import Leaf, Status, boolean, duration, integer, key, string
from lang.events import CONNECTIONS_SEEN, PEER_BANNED

__all__ = ["RecordConnections", "BanPeer"]


class RecordConnections(Leaf):
    """Journal the daemon's P2P connections.

    One `get_connections` call, journaled as `connections_seen {count, incoming, outgoing,
    peers}` (`peers`: each connection's IP, sorted). Returns SUCCESS with the connections in
    `output`, FAILURE when there are fewer than `at_least` (journaled all the same) or on an RPC
    error.
    """

    PARAMS = {
        "at_least": integer("FAILURE with fewer connections than this", minimum=0, default=0),
        "output": key("blackboard key for the connections (get_connections' list)"),
    }
    OUTPUTS = {"output": "connections"}
    SHOWN = ("at_least",)
    RPC = ("daemon.get_connections",)

    def update(self) -> Status:
        connections = self.ctx.daemon.get_connections()
        incoming = sum(1 for c in connections if c.get("incoming"))
        peers = sorted(str(c.get("host") or c.get("address", "")) for c in connections)
        self.record(CONNECTIONS_SEEN, count=len(connections), incoming=incoming,
                    outgoing=len(connections) - incoming, peers=peers)
        self.write("output", connections)
        if len(connections) < self.args.at_least:
            self.feedback_message = f"{len(connections)} connections, fewer than {self.args.at_least}"
            return Status.FAILURE
        return Status.SUCCESS


class BanPeer(Leaf):
    """Ban a peer's IP on this agent's daemon (`set_bans`), or lift the ban (`ban: false`).

    monerod drops the connections from and to that IP and refuses new ones while the ban lasts
    (monerod 0.18 has no RPC that adds a peer: connections come from the scenario's overlay).
    One `get_connections` (was it connected?) and one `set_bans`; journals `peer_banned {host,
    ban, seconds, connected}`. Returns SUCCESS, FAILURE on an RPC error.
    """

    PARAMS = {
        "host": string("the peer's IP, e.g. \"{peer.ip}\" or 127.77.0.3"),
        "ban": boolean("true: ban; false: lift the ban", default=True),
        "seconds": duration("how long the ban lasts", default="1h"),
    }
    REQUIRED = ("host",)
    SHOWN = ("host", "ban", "seconds")
    RPC = ("daemon.get_connections", "daemon.set_bans")

    def update(self) -> Status:
        daemon, host = self.ctx.daemon, str(self.args.host)
        connected = any(str(c.get("host")) == host for c in daemon.get_connections())
        seconds = int(self.args.seconds) if self.args.ban else 0
        daemon.set_bans(host, ban=self.args.ban, seconds=seconds)
        self.record(PEER_BANNED, host=host, ban=bool(self.args.ban), seconds=seconds,
                    connected=connected)
        return Status.SUCCESS
