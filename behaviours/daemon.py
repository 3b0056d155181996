"""Leaves that watch the daemon: is it up, how high is the chain."""
from __future__ import annotations

from rpc_client import TransportError

from .base import Leaf, Status, duration, integer, key
from .waiting import WAIT_PARAMS, WaitingLeaf
from lang.events import DAEMON_WAITING

__all__ = ["WaitForDaemon", "AwaitHeight"]


class WaitForDaemon(Leaf):
    """Wait until the daemon answers RPC.

    Returns RUNNING (polling every `poll`) while the daemon cannot be reached, SUCCESS once
    `get_info` answers (the info goes to `output`). Any other RPC error is FAILURE. Bound the
    wait with a `Timeout` decorator.
    """

    PARAMS = {
        "poll": duration("time between attempts", default="1s"),
        "output": key("blackboard key for the daemon's get_info answer"),
    }
    OUTPUTS = {"output": "get_info answer"}
    RPC = ("daemon.get_info",)

    def initialise(self) -> None:
        self.attempts = 0

    def update(self) -> Status:
        self.attempts += 1
        try:
            info = self.ctx.daemon.get_info()
        except TransportError as exc:
            if self.attempts == 1:
                self.record(DAEMON_WAITING, error=type(exc).__name__)
            return self.wake_in(self.args.poll)
        self.write("output", info)
        return Status.SUCCESS


class AwaitHeight(WaitingLeaf):
    """Wait until the chain has at least `height` blocks.

    Returns RUNNING (polling `get_block_count` every `poll`) until the block count reaches
    `height`, then SUCCESS with the count in `output`. RPC errors are FAILURE, and so is
    `timeout` passing (journaled `wait_timed_out`); `waiting` every `report_every`.
    """

    PARAMS = {
        "height": integer("block count to wait for", minimum=1),
        "poll": duration("time between polls", default="2s"),
        "output": key("blackboard key for the block count reached"),
        **WAIT_PARAMS,
    }
    REQUIRED = ("height",)
    OUTPUTS = {"output": "block count"}
    SHOWN = ("height",)
    RPC = ("daemon.get_block_count",)

    def update(self) -> Status:
        count = self.ctx.daemon.get_block_count()
        if count >= self.args.height:
            self.write("output", count)
            return Status.SUCCESS
        return self.still_waiting(f"{self.args.height} blocks", count, self.args.poll)
