"""The journal's vocabulary: every event the project writes, declared once.

An agent's journal (journals/<agent>.jsonl) is one JSON record a line: `t` (engine time),
`event`, `agent` and the event's fields. The engine, the context and the built-in leaves write
only the events declared here, with their fields (`AgentContext.record` refuses anything
else); the tally, the report and docs/journal.md read this declaration.

A tree's own events (RecordEvent's `event:`) and a plugin leaf's are free names. One may
reuse a declared name only with fields that event declares, so that a built-in name keeps its
meaning (a test tree standing in for a pool journals `block_mined {blocks}`).

`python -m lang.events [-o FILE]` prints docs/journal.md.
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from lang.errors import MonerosimError

__all__ = ["Event", "EVENTS", "UndeclaredEvent", "problem", "markdown"]


class UndeclaredEvent(MonerosimError, ValueError):
    """A journal record the declaration does not allow (unknown event, missing or foreign field)."""


@dataclass(frozen=True)
class Event:
    """One journal event: its name, fields (required, then optional), meaning and writer."""

    name: str
    meaning: str
    writer: str
    required: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()

    @property
    def fields(self) -> tuple[str, ...]:
        return self.required + self.optional


# engine and context
AGENT_STARTED = "agent_started"
AGENT_RESUMED = "agent_resumed"
AGENT_STOPPED = "agent_stopped"
STATE_UNREADABLE = "state_unreadable"
LEAF_FAILED = "leaf_failed"
RPC_FAILED = "rpc_failed"
WALLET_REOPENED = "wallet_reopened"
# waiting leaves
WAITING = "waiting"
WAIT_TIMED_OUT = "wait_timed_out"
DAEMON_WAITING = "daemon_waiting"
CONNECTIONS_SEEN = "connections_seen"
PEER_BANNED = "peer_banned"
# wallets and peers
WALLET_CREATED = "wallet_created"
WALLET_OPENED = "wallet_opened"
FUNDED = "funded"
ADDRESS_PUBLISHED = "address_published"
POOL_REGISTERED = "pool_registered"
PEERS_FUNDED = "peers_funded"
# mining
BOOTSTRAP_MINED = "bootstrap_mined"
SIGNAL_ISSUED = "signal_issued"
BLOCK_LATE = "block_late"
BLOCK_MINED = "block_mined"
# selfish mining (a private chain)
BLOCK_WITHHELD = "block_withheld"
BLOCKS_RELEASED = "blocks_released"
CHAIN_ADOPTED = "chain_adopted"
# payments
ORDER_PLACED = "order_placed"
PAYMENT_SENT = "payment_sent"
PAYMENT_FAILED = "payment_failed"
PAYMENT_SEEN = "payment_seen"
PAYMENT_CONFIRMED = "payment_confirmed"
# floods: spam at a fee priority, what the daemon holds and mines
SPAM_SENT = "spam_sent"
SPAM_FAILED = "spam_failed"
MEMPOOL_READ = "mempool_read"
BLOCK_READ = "block_read"

_WAIT = ("waiting_for", "have", "waited")
_ORDER = ("payment_id", "shop", "amount")

_DECLARED = (
    Event(AGENT_STARTED, "the agent started its tree (params after overrides, clock described)",
          "engine", ("tree", "role", "seed", "clock", "params")),
    Event(AGENT_RESUMED, "durable blackboard keys were restored from the agent's state",
          "engine", ("keys",)),
    Event(AGENT_STOPPED, "the agent stopped: why, after how many ticks, the root's status",
          "engine", ("reason", "ticks", "status")),
    Event(STATE_UNREADABLE, "the saved state was corrupt; the agent starts afresh",
          "engine", ("path", "reason")),
    Event(LEAF_FAILED, "a leaf raised (or its shutdown hook did, `phase: shutdown`); it is FAILURE",
          "any leaf; engine", ("node", "error", "message"), ("type", "code", "phase")),
    Event(RPC_FAILED, "a leaf's JSON-RPC call failed (`code` from the RPC, None for transport)",
          "any leaf", ("node", "type", "method", "code", "error", "message")),
    Event(WALLET_REOPENED, "wallet-rpc had lost the wallet and it was opened again",
          "agent context", ("wallet",)),
    Event(WAITING, "still waiting (every `report_every`): for what, what there is, for how long",
          "waiting leaves", _WAIT),
    Event(WAIT_TIMED_OUT, "a wait gave up after its `timeout`; the leaf is FAILURE",
          "waiting leaves", _WAIT),
    Event(DAEMON_WAITING, "the daemon did not answer yet (first try only)",
          "WaitForDaemon", ("error",)),
    Event(CONNECTIONS_SEEN, "the daemon's P2P connections: how many, incoming and outgoing, and "
          "each peer's IP (`peers`, sorted)", "RecordConnections", ("count", "incoming", "outgoing", "peers")),
    Event(PEER_BANNED, "the daemon bans `host` for `seconds` (`ban` false: the ban is lifted); "
          "`connected` tells whether it had a connection to that IP just before",
          "BanPeer", ("host", "ban", "seconds", "connected")),
    Event(WALLET_CREATED, "a new wallet file was created and opened", "OpenWallet", ("wallet",)),
    Event(WALLET_OPENED, "an existing wallet file was opened", "OpenWallet", ("wallet",)),
    Event(FUNDED, "the unlocked balance reached `min_unlocked` (atomic units)",
          "AwaitFunds", ("unlocked", "balance")),
    Event(ADDRESS_PUBLISHED, "the agent's address is in the registry under its role",
          "PublishAddress", ("role", "address")),
    Event(POOL_REGISTERED, "a mining pool is in the registry with its relative hashrate",
          "RegisterPool", ("hashrate", "address")),
    Event(PEERS_FUNDED, "one transfer paid `outputs` outputs of `amount` to each of `peers`",
          "FundPeers", ("txids", "peers", "amount", "outputs", "fee")),
    Event(BOOTSTRAP_MINED, "the controller mined `blocks` bootstrap blocks paying `pool`",
          "Bootstrap", ("pool", "blocks", "height")),
    Event(SIGNAL_ISSUED, "the controller asked `pool` (and `rivals`, racing it) to mine `blocks` "
          "blocks (signal `seq`)", "EmitMiningSignal", ("seq", "pool", "blocks", "height"), ("rivals",)),
    Event(BLOCK_LATE, "the blocks of signal `seq` did not come within the timeout",
          "AwaitBlock", ("seq", "pool")),
    Event(BLOCK_MINED, "a pool mined `blocks` blocks (answering signal `seq`, or None)",
          "GenerateBlocks", ("seq", "blocks", "height", "hash")),
    Event(BLOCK_WITHHELD, "a pool mined a block on its private chain and kept it there (answering "
          "signal `seq`, or None)", "MineWithheld", ("seq", "height", "hash")),
    Event(BLOCKS_RELEASED, "a pool handed `blocks` withheld blocks (`hashes`, `heights`) to the public "
          "daemon (`mode` all, first or match; `lead` before)", "ReleaseBlocks",
          ("blocks", "hashes", "heights", "mode", "lead")),
    Event(CHAIN_ADOPTED, "a pool copied `blocks` public blocks from `from_height` into its private "
          "chain, now `height` blocks, dropping `abandoned` blocks of its own",
          "AdoptPublicChain", ("blocks", "from_height", "height", "abandoned")),
    Event(ORDER_PLACED, "a user placed an order (its payment ID) with a shop, amount in atomic units",
          "SendTx", _ORDER),
    Event(PAYMENT_SENT, "a user's transfer left its wallet (`recovered`: settled after a lost "
          "answer or a restart; `settled`: daemon, it held the txid; relayed, relayed again; "
          "wallet, in its transfers)",
          "SendTx; RecoverOrders", _ORDER + ("fee", "txid"), ("recovered", "settled")),
    Event(PAYMENT_FAILED, "a user's transfer was refused (`code`) or its signing got no answer "
          "(code None); `recovered`: an open order whose relay was refused (error refused) or "
          "that was never signed (error lost)",
          "SendTx; RecoverOrders", _ORDER + ("code", "error"), ("recovered",)),
    Event(PAYMENT_SEEN, "a shop saw an incoming payment: its `status` against the order books "
          "(`expected` amount when amount_mismatch)",
          "RecordPayment", ("txid", "payment_id", "amount", "user", "status", "height"), ("expected",)),
    Event(PAYMENT_CONFIRMED, "a payment a shop saw has `confirmations` confirmations",
          "RecordPayment", ("txid", "payment_id", "user", "amount", "confirmations", "height")),
    Event(SPAM_SENT, "a spam transfer left the wallet at fee `priority` (amount and fee in atomic "
          "units, `weight` in bytes)", "SendSpam", ("txid", "amount", "fee", "weight", "priority")),
    Event(SPAM_FAILED, "a spam transfer was refused (`code`, e.g. -37: no unlocked output left)",
          "SendSpam", ("amount", "priority", "code", "error")),
    Event(MEMPOOL_READ, "the transaction pool of the agent's `daemon`: transactions, bytes and "
          "fees (atomic units) at chain `height`", "MempoolStats",
          ("daemon", "txs", "bytes", "fees", "height")),
    Event(BLOCK_READ, "a block of the agent's `daemon`'s main chain: its transactions (`txs`, "
          "`tx_hashes`, coinbase left out) and `weight` in bytes", "BlockStats",
          ("daemon", "height", "hash", "txs", "weight", "tx_hashes")),
)

EVENTS: MappingProxyType = MappingProxyType({e.name: e for e in _DECLARED})


def problem(name: str, fields, *, own: bool = False) -> str | None:
    """What is wrong with journaling `name` with the field names `fields`, or None.

    A declared event needs its required fields and takes no other field. An undeclared name
    is allowed only as one of a tree's or plugin's own events (`own`); so is a declared name
    written without some of its fields then, never with a foreign field."""
    event = EVENTS.get(name)
    if event is None:
        return None if own else f"journal event {name!r} is not declared in lang/events.py"
    foreign = sorted(set(fields) - set(event.fields))
    if foreign:
        return f"journal event {name!r} has no field {', '.join(map(repr, foreign))} " \
               f"(its fields: {', '.join(event.fields)})"
    missing = [f for f in event.required if f not in fields]
    if missing and not own:
        return f"journal event {name!r} needs field {', '.join(map(repr, missing))}"
    return None


def markdown() -> str:
    """docs/journal.md: one table of the declared events."""
    out = ["# Journal events", "",
           "<!-- Generated from lang/events.py by `python -m lang.events -o docs/journal.md` "
           "(`make docs`); a test fails when it is stale. -->", "",
           "Every agent appends one JSON record a line to `journals/<agent>.jsonl`: `t` (engine "
           "time, simulated seconds), `event`, `agent`, then the event's fields. These are the "
           "events the engine and the built-in leaves write; nothing else writes to a journal "
           "but a tree's own events (`RecordEvent`) and plugin leaves. Such an event may reuse "
           "a name below only with fields that event has (a leaf refuses any other field).",
           "", "Fields in *italics* are optional.", "",
           "| event | fields | meaning | written by |", "|---|---|---|---|"]
    for e in _DECLARED:
        fields = ", ".join([f"`{f}`" for f in e.required] + [f"*`{f}`*" for f in e.optional])
        out.append(f"| `{e.name}` | {fields} | {e.meaning} | {e.writer} |")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lang.events", description="print docs/journal.md")
    parser.add_argument("-o", "--output", help="write to this file instead of stdout")
    args = parser.parse_args(argv)
    if args.output:
        Path(args.output).write_text(markdown(), encoding="utf-8")
    else:
        sys.stdout.write(markdown())
    return 0


if __name__ == "__main__":
    sys.exit(main())
