"""Leaves of a pool that mines on a private chain: its own offline monerod (`--private-daemon`), where
it keeps its blocks, hands them to the public daemon when it chooses, or drops them for the public
chain. With them a tree writes selfish mining (Eyal and Sirer; trees/selfish-pool.yaml).

Blocks travel between the two daemons as blobs (`get_block`, `submit_block`). With a fixed
difficulty (regtest) the longer chain wins and, between two chains of one length, a daemon keeps
the one it saw first.
"""
from __future__ import annotations

from typing import Generator

import ipc
from lang.errors import MonerosimError
from rpc_client import BadResponse

from .base import Leaf, MissingEndpoint, Status, key, string
from lang.events import BLOCK_WITHHELD, BLOCKS_RELEASED, CHAIN_ADOPTED

__all__ = ["MineWithheld", "AcknowledgeSignal", "ReadChains", "ReleaseBlocks", "AdoptPublicChain",
           "ChainsApart"]

WINDOW = 8          # blocks below the lower top where ReadChains first looks for the fork


class ChainsApart(MonerosimError, RuntimeError):
    """The private and the public chain share no block, or the private daemon did not end on the
    chain it was given (a copied block was refused)."""


class _Steps(Leaf):
    """A leaf whose work takes several RPCs, one per tick: `steps()` is a generator that yields
    after each call (the leaf is RUNNING and ticked again at once) and returns the final Status."""

    def steps(self) -> Generator[None, None, Status]:
        raise NotImplementedError

    def initialise(self) -> None:
        self._steps = self.steps()

    def update(self) -> Status:
        try:
            next(self._steps)
        except StopIteration as done:
            return done.value
        return self.wake_in(0)


class MineWithheld(Leaf):
    """Mine one block on the private daemon paying `to`, and keep it there.

    One RPC (`generateblocks` on the private daemon, which has no peers: nobody else sees the
    block). Journals `block_withheld {seq, height, hash}` (seq from `signal` when the block
    answers one), writes {height, hash} to `output` when set, and returns SUCCESS; FAILURE on an
    RPC error.
    """

    PARAMS = {
        "to": string("address paid by the coinbase, e.g. \"{address}\""),
        "signal": key("blackboard key of the signal being answered"),
        "output": key("blackboard key for the block {height, hash}"),
    }
    REQUIRED = ("to",)
    INPUTS = ("signal",)
    OUTPUTS = {"output": "the block mined {height, hash}"}
    RPC = ("private.generateblocks",)

    def update(self) -> Status:
        signal = self.read(self.args.signal) if self.args.get("signal") else None
        mined = self.ctx.private_daemon.generateblocks(1, self.args.to)
        block = {"height": mined["height"], "hash": mined["blocks"][-1]}
        self.record(BLOCK_WITHHELD, seq=signal["seq"] if signal else None, **block)
        self.write("output", block)
        return Status.SUCCESS


class AcknowledgeSignal(Leaf):
    """Tell the controller that this agent answered `signal`, though the public chain may not show it.

    Writes shared/signals/ack-<agent>.json {seq, pool, at} (a file, no RPC) and returns SUCCESS.
    The controller's AwaitBlock then counts the signal as answered (no `block_late`, no other
    pool told), and EmitMiningSignal does not pass this pool over next time.
    """

    PARAMS = {"signal": key("blackboard key of the signal answered", default="signal")}
    INPUTS = ("signal",)

    def update(self) -> Status:
        signal = self.read(self.args.signal)
        if self.ctx.shared_dir is None:
            raise MissingEndpoint("AcknowledgeSignal needs a shared directory: pass --shared DIR or "
                                  "set MONEROSIM_SHARED")
        ipc.write_signal_ack(self.ctx.shared_dir, self.ctx.agent_id, seq=signal["seq"], at=self.now())
        return Status.SUCCESS


def compare(public: dict, private_height: int, fork: int, branch: list[tuple[int, str]],
            alternatives: set[str]) -> dict:
    """ReadChains' record: `public` {height, top}; the private chain's `branch` above the common
    block at height `fork`, (height, hash) lowest first; the public daemon's alternative blocks."""
    public_height = public["height"]
    published = [h in alternatives for _, h in branch]
    withheld = [(height, h) for (height, h), out in zip(branch, published) if not out]
    return {"public_height": public_height, "private_height": private_height,
            "lead": private_height - public_height, "fork_height": fork,
            "public_branch": public_height - 1 - fork, "private_branch": len(branch),
            "published": sum(published), "withheld": len(withheld),
            "matchable": sum(1 for height, _ in withheld if height <= public_height - 1),
            "public_on_ours": fork == public_height - 1,
            "branch": [{"height": height, "hash": h, "published": out}
                       for (height, h), out in zip(branch, published)]}


class ReadChains(_Steps):
    """Compare the private chain with the public one; the comparison goes to `output`.

    Reads both daemons' tops (`get_info`, one RPC each). When they differ: the block hashes of
    both chains from a few blocks below the lower top (`get_block_headers_range`, one RPC each;
    further back until a common block is found: the fork) and the public daemon's alternative
    blocks (`/get_alt_blocks_hashes`: the private blocks it has seen are published, the others
    withheld). RUNNING between the calls; then SUCCESS with {lead, public_height, private_height,
    fork_height, public_branch, private_branch, published, withheld, matchable, public_on_ours,
    branch}: heights are block counts, but `fork_height` and a `branch` entry's `height` are block
    heights; lead = private_height - public_height; public_branch / private_branch = blocks above
    the fork on each chain; matchable = withheld blocks at heights the public chain has;
    public_on_ours = the public top is on the private chain; branch = the private blocks above the
    fork, lowest first, {height, hash, published}. FAILURE on an RPC error.
    """

    PARAMS = {"output": key("blackboard key for the comparison", default="chains")}
    OUTPUTS = {"output": "{lead, public_height, private_height, fork_height, public_branch, "
                         "private_branch, published, withheld, matchable, public_on_ours, branch}"}
    RPC = ("daemon.get_info", "private.get_info", "daemon.get_block_headers_range",
           "private.get_block_headers_range", "daemon.get_alt_blocks_hashes")

    def steps(self) -> Generator[None, None, Status]:
        info = self.ctx.daemon.get_info()
        yield
        mine = self.ctx.private_daemon.get_info()
        yield
        public = {"height": int(info["height"]), "top": info["top_block_hash"]}
        height = int(mine["height"])
        if public["top"] == mine["top_block_hash"]:
            self.write("output", compare(public, height, height - 1, [], set()))
            return Status.SUCCESS
        window = WINDOW
        while True:
            low = max(0, min(public["height"], height) - window)
            theirs = {h["height"]: h["hash"]
                      for h in self.ctx.daemon.get_block_headers_range(low, min(public["height"], height) - 1)}
            yield
            ours = [(h["height"], h["hash"]) for h in self.ctx.private_daemon.get_block_headers_range(low, height - 1)]
            yield
            common = [h for h, block in ours if theirs.get(h) == block]
            if common or low == 0:
                break
            window *= 4
        if not common:
            raise ChainsApart("the private and the public chain share no block (another genesis)")
        fork = max(common)
        branch = [(h, block) for h, block in ours if h > fork]
        alternatives = set(self.ctx.daemon.get_alt_blocks_hashes()) if branch else set()
        self.write("output", compare(public, height, fork, branch, alternatives))
        return Status.SUCCESS


class ReleaseBlocks(_Steps):
    """Hand withheld blocks of the private chain to the public daemon, lowest first.

    Reads the comparison ReadChains wrote (`chains`). `blocks: all` releases every withheld
    block; `first` the lowest one; `match` those at heights the public chain already has (the
    public daemon then sees a branch as long as its own). For each, `get_block` on the private
    daemon and `submit_block` on the public one, RUNNING between the calls. Journals
    `blocks_released {blocks, hashes, heights, mode, lead}` and returns SUCCESS; FAILURE when
    there is nothing to release, or on an RPC error.
    """

    PARAMS = {
        "chains": key("blackboard key of ReadChains' comparison", default="chains"),
        "blocks": string("which withheld blocks: all, first (the lowest) or match (up to the public "
                         "chain's height)", default="all", enum=["all", "first", "match"]),
    }
    INPUTS = ("chains",)
    SHOWN = ("blocks",)
    RPC = ("private.get_block", "daemon.submit_block")

    def steps(self) -> Generator[None, None, Status]:
        chains = self.read(self.args.chains)
        withheld = [b for b in chains["branch"] if not b["published"]]
        if self.args.blocks == "first":
            withheld = withheld[:1]
        elif self.args.blocks == "match":
            withheld = [b for b in withheld if b["height"] <= chains["public_height"] - 1]
        if not withheld:
            self.feedback_message = "nothing to release"
            return Status.FAILURE
        for block in withheld:
            blob = self.ctx.private_daemon.get_block(hash=block["hash"])["blob"]
            yield
            self.ctx.daemon.submit_block(blob)
            yield
        self.record(BLOCKS_RELEASED, blocks=len(withheld), hashes=[b["hash"] for b in withheld],
                    heights=[b["height"] for b in withheld], mode=self.args.blocks, lead=chains["lead"])
        return Status.SUCCESS


class AdoptPublicChain(_Steps):
    """Give up the private branch: copy the public chain above the fork into the private daemon.

    Reads the comparison ReadChains wrote (`chains`); use it when the public chain is longer
    (lead < 0). For each public block above `fork_height`: `get_block` on the public daemon, its
    transactions (if any) from the public daemon into the private daemon's pool
    (`get_transactions`, then `send_raw_transaction`, not relayed), and `submit_block` on the
    private daemon, which reorganises onto the longer chain; RUNNING between the calls. Then
    reads the private top (`get_info`): SUCCESS when it is the last block copied, journaling
    `chain_adopted {blocks, from_height, height, abandoned}`; FAILURE when it is not (journaled
    `leaf_failed`: ChainsApart) or on an RPC error.
    """

    PARAMS = {"chains": key("blackboard key of ReadChains' comparison", default="chains")}
    INPUTS = ("chains",)
    RPC = ("daemon.get_block", "daemon.get_transactions", "private.send_raw_transaction",
           "private.submit_block", "private.get_info")

    def steps(self) -> Generator[None, None, Status]:
        chains = self.read(self.args.chains)
        first, top = chains["fork_height"] + 1, chains["public_height"] - 1
        last = None
        for height in range(first, top + 1):
            block = self.ctx.daemon.get_block(height=height)
            yield
            if block["tx_hashes"]:
                for tx in self.ctx.daemon.get_transaction_hex(block["tx_hashes"]):
                    yield
                    try:
                        self.ctx.private_daemon.send_raw_transaction(tx)
                    except BadResponse:     # refused (known already): the block tells below
                        pass
                yield
            self.ctx.private_daemon.submit_block(block["blob"])
            last = block["block_header"]["hash"]
            yield
        info = self.ctx.private_daemon.get_info()
        if last is not None and info["top_block_hash"] != last:
            raise ChainsApart(f"the private daemon's top is {info['top_block_hash']} at height "
                              f"{int(info['height']) - 1}, not the public block {last} at {top}")
        self.record(CHAIN_ADOPTED, blocks=top + 1 - first, from_height=first, height=int(info["height"]),
                    abandoned=chains["private_branch"])
        return Status.SUCCESS
