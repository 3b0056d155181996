"""Leaves that look at the daemon's P2P side: whom it is connected to."""
from __future__ import annotations

from .base import Leaf, Status, integer, key
from lang.events import CONNECTIONS_SEEN

__all__ = ["RecordConnections"]


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
