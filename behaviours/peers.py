"""Leaves that meet other agents through the shared registry (files, no RPC but the address)."""
from __future__ import annotations

from .base import LOOKS_UP, PUBLISHES, Leaf, Status, boolean, duration, integer, key, mapping, number, string
from .waiting import WAIT_PARAMS, WaitingLeaf
from lang.events import ADDRESS_PUBLISHED, POOL_REGISTERED

__all__ = ["PublishAddress", "RegisterPool", "AwaitPeers", "PickPeer"]

ROLE = string("agent role, e.g. user, pool, marketplace", pattern=r"^[a-z][a-z0-9_-]*$")


def weighted_pick(rng, peers: list[dict], field: str) -> dict:
    """One of `peers`, chosen with probability proportional to peer[field] (default 1)."""
    weights = [max(0.0, float(p.get(field, 1) or 0)) for p in peers]
    if not any(weights):
        weights = [1.0] * len(peers)
    return rng.choices(peers, weights=weights, k=1)[0]


class PublishAddress(Leaf):
    """Publish this agent in the shared registry: role, wallet address and `fields`.

    One RPC (`get_address`), then one atomic file write. Returns SUCCESS with the address in
    `output`, FAILURE on an RPC error.
    """

    PARAMS = {
        "role": ROLE,
        "fields": mapping("extra registry fields, e.g. {hashrate: 60}", default={}),
        "output": key("blackboard key for the address", default="address"),
    }
    OUTPUTS = {"output": "primary address"}
    SHOWN = ("role",)
    RPC = ("wallet.get_address",)
    ROLES = {"role": PUBLISHES}

    def update(self) -> Status:
        address = self.ctx.wallet.get_address()
        role = self.args.get("role") or self.ctx.role
        self.ctx.registry.publish(self.ctx.agent_id, {"role": role, "address": address,
                                                      **self.args.fields})
        self.write("output", address)
        self.published(address)
        return Status.SUCCESS

    def published(self, address: str) -> None:
        self.record(ADDRESS_PUBLISHED, role=self.args.get("role") or self.ctx.role,
                    address=address)


class RegisterPool(PublishAddress):
    """Register as a mining pool with its `hashrate` (a relative weight).

    Publishes {role: pool, address, hashrate} in the registry and journals
    `pool_registered {hashrate, address}`. SUCCESS, or FAILURE on an RPC error.
    """

    PARAMS = {
        "hashrate": number("relative hashrate; the controller picks pools in proportion",
                           exclusive_minimum=0, random=False),
        "output": key("blackboard key for the address", default="address"),
    }
    REQUIRED = ("hashrate",)
    SHOWN = ("hashrate",)

    @classmethod
    def roles(cls, params: dict, tree_role: str | None) -> list[tuple[str, str, str]]:
        return [(PUBLISHES, "pool", "hashrate")]

    def resolve_args(self):
        args = super().resolve_args()
        args["role"] = "pool"
        args["fields"] = {"hashrate": args.hashrate}
        return args

    def published(self, address: str) -> None:
        self.record(POOL_REGISTERED, hashrate=self.args.hashrate, address=address)


class AwaitPeers(WaitingLeaf):
    """Wait until at least `count` agents of `role` are in the registry.

    Returns RUNNING (re-reading the registry every `poll`) until then, SUCCESS with the
    records (sorted by agent id) in `output`; FAILURE after `timeout` (journaled
    `wait_timed_out`). Journals `waiting` every `report_every` while it waits.
    """

    PARAMS = {
        "role": ROLE,
        "count": integer("how many to wait for", minimum=1, default=1),
        "poll": duration("time between looks", default="1s"),
        "output": key("blackboard key for the list of registry records"),
        **WAIT_PARAMS,
    }
    REQUIRED = ("role",)
    OUTPUTS = {"output": "registry records"}
    SHOWN = ("role", "count")
    ROLES = {"role": LOOKS_UP}
    COUNTS = {"count": "role"}

    def update(self) -> Status:
        peers = self.ctx.registry.all(role=self.args.role)
        if len(peers) >= self.args.count:
            self.write("output", peers)
            return Status.SUCCESS
        return self.still_waiting(f"{self.args.count} agents of role {self.args.role}",
                                  len(peers), self.args.poll)


class PickPeer(Leaf):
    """Pick one registered agent of `role` into `output` (its registry record).

    `strategy`: random (uniform), weighted (by the record's `weight` field) or round_robin
    (in agent-id order), always from the agent's seeded RNG. Returns SUCCESS, or FAILURE when
    no agent of that role is registered.
    """

    PARAMS = {
        "role": ROLE,
        "strategy": string("random | weighted | round_robin", default="random",
                           enum=["random", "weighted", "round_robin"]),
        "weight": string("registry field used as weight by `weighted`", default="weight"),
        "exclude_self": boolean("never pick this agent", default=True),
        "output": key("blackboard key for the picked record", default="peer"),
    }
    REQUIRED = ("role",)
    OUTPUTS = {"output": "registry record {agent, role, address, …}"}
    SHOWN = ("role", "strategy")
    ROLES = {"role": LOOKS_UP}

    def update(self) -> Status:
        peers = self.ctx.registry.all(role=self.args.role)
        if self.args.exclude_self:
            peers = [p for p in peers if p.get("agent") != self.ctx.agent_id]
        if not peers:
            self.feedback_message = f"no {self.args.role} registered"
            return Status.FAILURE
        if self.args.strategy == "weighted":
            peer = weighted_pick(self.ctx.rng, peers, self.args.weight)
        elif self.args.strategy == "round_robin":
            turn_key = f"{self.params['output']}_turn"
            try:
                turn = self.ctx.get(turn_key)
            except KeyError:
                turn = 0
            peer = peers[turn % len(peers)]
            self.ctx.set(turn_key, turn + 1)
        else:
            peer = self.ctx.rng.choice(peers)
        self.write("output", peer)
        return Status.SUCCESS
