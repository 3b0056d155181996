"""Leaves for engine tests, loaded as a plugin module (`--plugin plugin_leaves`)."""
from behaviours.base import Leaf, Status, key, string


class ShutdownProbe(Leaf):
    """Returns RUNNING forever (no wake time); on shutdown journals `probe_shutdown`."""

    PARAMS = {"label": string("recorded with the shutdown event", default="probe")}

    def update(self):
        return Status.RUNNING

    def shutdown(self):
        if self.ctx is not None:
            self.record("probe_shutdown", label=self.params["label"])


class Explode(Leaf):
    """Raises ValueError (tests that a leaf's exception becomes FAILURE)."""

    def update(self):
        raise ValueError("boom")


class AskDaemon(Leaf):
    """Calls get_info on the daemon; returns SUCCESS."""

    RPC = ("daemon.get_info",)

    def update(self):
        self.ctx.daemon.get_info()
        return Status.SUCCESS


class Tally(Leaf):
    """Adds 1 to the durable counter in `output` and returns SUCCESS."""

    PARAMS = {"output": key("blackboard key of the counter", default="tally")}
    OUTPUTS = {"output": "how many times this leaf ran, across restarts"}
    DURABLE = ("output",)

    def update(self):
        count = self.bb.get(self.params["output"]) if self.bb.exists(self.params["output"]) else 0
        self.write("output", count + 1)
        return Status.SUCCESS
