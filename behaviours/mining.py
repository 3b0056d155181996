"""Leaves of the block controller and the pools: bootstrap, signals, mining."""
from __future__ import annotations

import ipc

from .base import LOOKS_UP, Leaf, Status, duration, integer, key, string
from .waiting import WAIT_PARAMS, WaitingLeaf
from .peers import ROLE, weighted_pick
from lang.events import BLOCK_LATE, BLOCK_MINED, BOOTSTRAP_MINED, SIGNAL_ISSUED

__all__ = ["Bootstrap", "EmitMiningSignal", "AwaitBlock", "AwaitMiningSignal", "GenerateBlocks"]


def smooth_weighted_order(peers: list[dict], field: str, n: int) -> list[dict]:
    """`n` picks interleaved in proportion to peer[field] (smooth weighted round-robin)."""
    weights = [max(0.0, float(p.get(field, 1) or 0)) or 1.0 for p in peers]
    total = sum(weights)
    current = [0.0] * len(peers)
    order = []
    for _ in range(n):
        current = [c + w for c, w in zip(current, weights)]
        best = max(range(len(peers)), key=lambda i: current[i])
        current[best] -= total
        order.append(peers[best])
    return order


def signal_answered(shared_dir, signal: dict, height: int) -> bool:
    """Whether `signal` got its blocks: the chain (`height` blocks) grew by them since it was
    issued, or its pool acknowledged it (a pool that keeps its blocks off the public chain)."""
    if height >= signal["height"] + signal["blocks"]:
        return True
    ack = ipc.read_signal_ack(shared_dir, signal["pool"]) if shared_dir is not None else None
    return ack is not None and ack["seq"] == signal["seq"]


class Bootstrap(Leaf):
    """Mine the chain up to `blocks` blocks, paying the coinbase to registered pools.

    Blocks go to the pools interleaved in proportion to their `hashrate`, so every pool soon
    holds unlocked outputs (coinbase unlocks after 60 blocks; a ring of 16 needs 16 unlocked
    outputs: at least 75 blocks before the first transfer). One `generateblocks` of at most
    `chunk` blocks per tick; journals `bootstrap_mined {pool, blocks, height}` for each.
    Returns RUNNING until the chain has `blocks` blocks (a chain already that long: SUCCESS at
    once, so a restarted controller does not mine again), FAILURE if no pool is registered.
    """

    PARAMS = {
        "blocks": integer("block count to reach", minimum=1, default=150),
        "role": ROLE | {"default": "pool"},
        "weight": string("registry field used as weight", default="hashrate"),
        "chunk": integer("blocks per generateblocks call", minimum=1, default=5),
    }
    SHOWN = ("blocks",)
    RPC = ("daemon.get_block_count", "daemon.generateblocks")
    ROLES = {"role": LOOKS_UP}

    def initialise(self) -> None:
        self.plan: list[dict] | None = None

    def update(self) -> Status:
        daemon = self.ctx.daemon
        if self.plan is None:
            missing = self.args.blocks - daemon.get_block_count()
            if missing <= 0:
                return Status.SUCCESS
            pools = self.ctx.registry.all(role=self.args.role)
            if not pools:
                self.feedback_message = f"no {self.args.role} registered"
                return Status.FAILURE
            self.plan = smooth_weighted_order(pools, self.args.weight, missing)
            return self.wake_in(0)
        pool = self.plan[0]
        run = 1
        while run < min(self.args.chunk, len(self.plan)) and self.plan[run] is pool:
            run += 1
        mined = daemon.generateblocks(run, pool["address"])
        del self.plan[:run]
        self.record(BOOTSTRAP_MINED, pool=pool["agent"], blocks=run, height=mined["height"])
        if self.plan:
            return self.wake_in(0)
        return Status.SUCCESS


class EmitMiningSignal(Leaf):
    """Tell one pool to mine: write the mining signal, pool picked by hashrate.

    Reads the block count (one RPC), picks a registered pool with probability proportional to
    its `hashrate` from the agent's RNG, writes {seq, pool, blocks, issued_at, height} to
    shared/signals/mining.json, journals `signal_issued` and stores the signal in `output`.
    If the previous signal (in `output`) was not answered (no blocks, no acknowledgement), its pool is left out this time
    (when another exists). With `race` > 1, every `race_every`-th signal tells that many
    different pools at once (each picked by weight from those left; the others in `rivals`):
    each mines on its own daemon at the signal's `at` (issue time + `race_lead`), the same
    instant for all, and the network settles the fork. Returns SUCCESS, FAILURE when no pool is registered.
    """

    PARAMS = {
        "role": ROLE | {"default": "pool"},
        "weight": string("registry field used as weight", default="hashrate"),
        "blocks": integer("blocks to mine per signal", minimum=1, default=1),
        "race": integer("pools told at once (a mining race between daemons)", minimum=1, default=1),
        "race_every": integer("only every n-th signal is a race (the others settle the forks)",
                              minimum=1, default=1),
        "race_lead": duration("a race's pools mine at issue time + this (longer than their poll)",
                              default="2s"),
        "output": key("blackboard key of the signal (also read: the previous one)",
                      default="signal"),
    }
    OUTPUTS = {"output": "the signal {seq, pool, blocks, height, issued_at, rivals}"}
    DURABLE = ("output",)
    SHOWN = ("blocks", "race", "race_every")
    ROLES = {"role": LOOKS_UP}
    RPC = ("daemon.get_block_count",)

    def update(self) -> Status:
        pools = self.ctx.registry.all(role=self.args.role)
        if not pools:
            self.feedback_message = f"no {self.args.role} registered"
            return Status.FAILURE
        height = self.ctx.daemon.get_block_count()
        previous = self.bb.get(self.args.output) if self.bb.exists(self.args.output) else None
        if previous and not signal_answered(self.ctx.shared_dir, previous, height) and len(pools) > 1:
            pools = [p for p in pools if p["agent"] != previous["pool"]]
        current = ipc.read_mining_signal(self.ctx.shared_dir)
        seq = (current["seq"] + 1) if current else 1
        chosen, race = [], self.args.race if seq % self.args.race_every == 0 else 1
        while pools and len(chosen) < race:
            chosen.append(weighted_pick(self.ctx.rng, pools, self.args.weight)["agent"])
            pools = [p for p in pools if p["agent"] != chosen[-1]]
        pool, rivals = chosen[0], chosen[1:]
        extra = {"rivals": rivals, "at": self.now() + self.args.race_lead} if rivals else {}
        signal = ipc.write_mining_signal(self.ctx.shared_dir, seq=seq, pool=pool,
                                         blocks=self.args.blocks, issued_at=self.now(),
                                         height=height, **extra)
        self.record(SIGNAL_ISSUED, seq=seq, pool=pool, blocks=self.args.blocks, height=height,
                    **({"rivals": rivals} if rivals else {}))
        self.write("output", signal)
        return Status.SUCCESS


class AwaitBlock(Leaf):
    """Wait for the blocks a signal asked for.

    Returns RUNNING (polling the block count every `poll`) until the chain has grown by the
    signal's `blocks` since it was issued, or the signal's pool acknowledged it
    (shared/signals/ack-<pool>.json: a pool that keeps its blocks off the public chain):
    SUCCESS. After `timeout` without them, journals
    `block_late {seq, pool}` and returns FAILURE (so a Retry re-signals another pool).
    """

    PARAMS = {
        "signal": key("blackboard key of the signal to wait for", default="signal"),
        "timeout": duration("how long the pool has", default="30s"),
        "poll": duration("time between polls", default="1s"),
    }
    INPUTS = ("signal",)
    SHOWN = ("timeout",)
    RPC = ("daemon.get_block_count",)

    def initialise(self) -> None:
        self.signal = self.read(self.args.signal)
        self.deadline = self.now() + self.args.timeout

    def update(self) -> Status:
        if signal_answered(self.ctx.shared_dir, self.signal, self.ctx.daemon.get_block_count()):
            return Status.SUCCESS
        if self.now() >= self.deadline:
            self.record(BLOCK_LATE, seq=self.signal["seq"], pool=self.signal["pool"])
            return Status.FAILURE
        return self.wake_at(min(self.deadline, self.now() + self.args.poll))


class AwaitMiningSignal(WaitingLeaf):
    """Wait for a mining signal addressed to this agent.

    Returns RUNNING (re-reading shared/signals/mining.json every `poll`, no RPC) until a
    signal with a seq newer than the last one handled names this agent (as its pool or one of
    its rivals), then SUCCESS with it in `output` — at the signal's `at` when it has one (a
    race: every pool told mines at that instant). The last seq handled is the `seq` of `output`. FAILURE after `timeout`;
    `waiting` every `report_every` (the last signal seen, for another pool or none).
    """

    PARAMS = {
        "poll": duration("time between looks", default="1s"),
        "output": key("blackboard key for the signal", default="signal"),
        **WAIT_PARAMS,
    }
    OUTPUTS = {"output": "the signal {seq, pool, blocks, …}"}
    DURABLE = ("output",)

    def update(self) -> Status:
        last = self.bb.get(self.args.output)["seq"] if self.bb.exists(self.args.output) else 0
        signal = ipc.read_mining_signal(self.ctx.shared_dir)
        told = [signal["pool"], *signal.get("rivals", ())] if signal else []
        if signal and signal["seq"] > last and self.ctx.agent_id in told:
            if self.now() < signal.get("at", 0):        # a race: every pool mines at that instant
                return self.wake_at(signal["at"])
            self.write("output", signal)
            return Status.SUCCESS
        last_seen = f"signal {signal['seq']} for {signal['pool']}" if signal else "no signal yet"
        return self.still_waiting(f"a mining signal after {last}", last_seen, self.args.poll)


class GenerateBlocks(Leaf):
    """Mine `blocks` blocks paying `to` (regtest `generateblocks`).

    One RPC. Journals `block_mined {seq, height, hash, blocks}` (seq from `signal` when the
    blocks answer a signal) and returns SUCCESS, FAILURE on an RPC error.
    """

    PARAMS = {
        "blocks": integer("how many blocks", minimum=1, default=1),
        "to": string("address paid by the coinbase, e.g. \"{address}\""),
        "signal": key("blackboard key of the signal being answered (its blocks win)"),
    }
    REQUIRED = ("to",)
    INPUTS = ("signal",)
    SHOWN = ("blocks",)
    RPC = ("daemon.generateblocks",)

    def update(self) -> Status:
        signal = self.read(self.args.signal) if self.args.get("signal") else None
        blocks = signal["blocks"] if signal else self.args.blocks
        mined = self.ctx.daemon.generateblocks(blocks, self.args.to)
        self.record(BLOCK_MINED, seq=signal["seq"] if signal else None, blocks=blocks,
                    height=mined["height"], hash=mined["blocks"][-1])
        return Status.SUCCESS
