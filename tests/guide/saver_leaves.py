"""A plugin leaf for docs/guide.md: load with `--plugin tests.guide.saver_leaves`."""
from behaviours.base import Leaf, Status, key, number, path_key


class ShareOf(Leaf):
    """Put `fraction` of an amount in atomic units, as XMR, into `output`.

    Reads `of` (a key or key.field holding atomic units, e.g. `balance.unlocked` written by
    CheckBalance). Returns SUCCESS with the share (XMR, rounded down to 6 decimals) in
    `output`, or FAILURE when the share is below `at_least` XMR. No RPC.
    """

    PARAMS = {
        "of": path_key("blackboard key (or key.field) holding atomic units"),
        "fraction": number("share to take, above 0 and at most 1", exclusive_minimum=0, maximum=1),
        "at_least": number("smallest share worth sending, XMR", minimum=0, default=0.01),
        "output": key("blackboard key for the share in XMR", default="share"),
    }
    REQUIRED = ("of", "fraction")
    INPUTS = ("of",)
    OUTPUTS = {"output": "the share in XMR"}
    SHOWN = ("of", "fraction")

    def update(self):
        atomic = self.read(self.args.of)                    # KeyError -> FAILURE, journaled
        micro = int(atomic * self.args.fraction) // 10 ** 6     # 1 XMR = 10**12 atomic units
        share = micro / 10 ** 6                                 # XMR, rounded down to 6 decimals
        if share < self.args.at_least:
            self.feedback_message = f"share {share} XMR < {self.args.at_least}"
            return Status.FAILURE
        self.write("output", share)
        return Status.SUCCESS
