"""Faults on real processes, with nothing lost (issue 6).

One small world on a real regtest chain (controller, 1 pool, 1 marketplace, 2 users; the
shipped role trees, on the lockstep clock) lives through, in order:

  0. the daemon not yet up: every agent starts first, journals `daemon_waiting`, and simulated
     time goes on without it before it starts;
  1. monerod SIGKILLed and restarted on the same ports, users paying;
  2. user-0's monero-wallet-rpc SIGKILLed while a payment of user-0 is open, then restarted;
  3. user-1's tree-runner SIGKILLed while a payment of user-1 is open, restarted (same argv)
     at the same simulated instant;
  4. the marketplace's tree-runner SIGKILLed and restarted;
then the users stop, the chain runs on until every payment is confirmed, and the rest stop.
The tests read what the run left (journals, order books, state files, the marketplace's
wallet). test_faults_sigterm.py SIGTERMs a whole `monerosim run` at a seeded random simulated
moment.

Faults are injected on real time (a process is down for a second or two) while the agents
live on simulated time: while monerod or a wallet-rpc is down, every call to it costs real
seconds (connection retries, timeouts) during which simulated time stands still, so an outage
spans a few simulated seconds to a minute, as it did at x25; the trees survive any length.

FAULT_SEED=<n> in the environment changes the seeds (default 6).
"""
from __future__ import annotations

import signal
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

import ipc
from sim.report.summary import summarize

from tests.integration.faultkit import (SEED, Mark, World, kill_mid_payment, mark, open_orders,
                                        payment_ids, scan_journal, spec)

pytestmark = pytest.mark.integration

USERS = ("user-0", "user-1")
SHOP = "shop-0"
BOOTSTRAP = 150     # the trees' default: wallet-rpc 0.18.0.0 can hang in transfer on short chains
SPECS = [
    spec("controller", "controller", wallet=False, pools=1, bootstrap_blocks=BOOTSTRAP,
         block_interval="30s", block_timeout="30s"),
    spec("pool-0", "pool", hashrate=100, bootstrap_blocks=BOOTSTRAP, fund_amount=2,
         fund_outputs=4, fund_every="20s"),
    spec(SHOP, "marketplace", check_every="15s", confirmations=2),
    *(spec(u, "user", tx_interval={"exponential": {"mean": "30s"}},
           amount={"uniform": {"low": 0.01, "high": 0.2}}) for u in USERS),
]
KILLED_WRITERS = {"journals/user-1.jsonl", "shared/orders/user-1.jsonl", f"journals/{SHOP}.jsonl"}


# ---------------------------------------------------------------- helpers

def max_block(world: World) -> int:
    return max([r["height"] for r in world.events_of("pool-0", "block_mined")] or [0])


@dataclass
class FaultedRun:
    world: World
    marks: dict[str, Mark]
    exit_codes: dict[str, int | None]
    shop_transfers: list[dict]
    took: float

    @property
    def root(self) -> Path:
        return self.world.root

    def journal(self, agent: str) -> list[dict]:
        return self.world.journal(agent)

    def sent(self) -> list[dict]:
        return [r for u in USERS for r in self.world.events_of(u, "payment_sent")]


# ---------------------------------------------------------------- the faulted run

def _start_the_daemon_late(world: World, marks: dict[str, Mark]) -> None:
    """0. Everything but the daemon: each agent's WaitForDaemon must find nobody there."""
    world.start_wallets()
    world.start_agents()
    world.wait_for("every agent waiting for the daemon",
                   lambda: all(world.events_of(a, "daemon_waiting") for a in world.runners), 90)
    # The daemon is late in simulated time too: it starts once time has gone on past every
    # agent's first look (each look at a dead daemon costs real seconds of retries).
    waited = max(world.events_of(a, "daemon_waiting")[0]["t"] for a in world.runners)
    world.wait_for("simulated time going on without the daemon", lambda: world.now() > waited, 120)
    marks["daemon_up"] = mark(world)
    world.start_daemon()
    world.wait_for("both users paying twice",
                   lambda: all(len(world.events_of(u, "payment_sent")) >= 2 for u in USERS), 240)


def _kill_the_daemon(world: World, marks: dict[str, Mark]) -> None:
    """1. monerod: SIGKILL, 2 s down, the same ports again. No hold: the agents are meant to
    run into the dead daemon, and time cannot race meanwhile (see the module docstring)."""
    count = world.daemon.client(timeout=30).get_block_count()
    world.kill_daemon()
    marks["daemon_kill"] = mark(world, count=count, mined=max_block(world))
    time.sleep(2)
    world.restart_daemon()
    marks["daemon_restart"] = mark(world, count=world.daemon.client(timeout=30).get_block_count())
    world.wait_for("blocks after the daemon restart",
                   lambda: max_block(world) >= marks["daemon_kill"].info["mined"] + 3, 120)
    world.wait_for("both users paying after the daemon restart", lambda: all(
        marks["daemon_restart"].after(world, u, "payment_sent") for u in USERS), 120)


def _kill_a_wallet_rpc(world: World, marks: dict[str, Mark]) -> None:
    """2. user-0's wallet-rpc, mid-payment: SIGKILL, 1 s down, the same port again (no hold:
    user-0 is meant to find it gone; its calls to a dead port cost real seconds too)."""
    marks["wallet_kill"] = kill_mid_payment(world, "user-0", lambda: world.kill_wallet("user-0"))
    time.sleep(1)
    world.restart_wallet("user-0")
    marks["wallet_restart"] = mark(world)
    world.wait_for("user-0 reopening its wallet and paying twice more", lambda: (
        marks["wallet_kill"].after(world, "user-0", "wallet_reopened")
        and len(marks["wallet_restart"].after(world, "user-0", "payment_sent")) >= 2), 120)


def _kill_a_user(world: World, marks: dict[str, Mark]) -> None:
    """3. user-1's tree-runner, mid-payment: SIGKILL, then the same command line again, at
    one simulated instant (a hold from the kill until the new process connects): the
    restart must find the order exactly as the crash left it, the others wait meanwhile."""
    marks["user_kill"] = kill_mid_payment(world, "user-1",
                                          lambda: world.kill_agent("user-1", hold=True))
    marks["user_kill"].info["open_in_journal"] = sorted(open_orders(world, "user-1"))
    world.start_agent("user-1")
    world.wait_for("user-1 paying twice after its restart", lambda: len(
        marks["user_kill"].after(world, "user-1", "payment_sent")) >= 2, 120)


def _kill_the_marketplace(world: World, marks: dict[str, Mark]) -> None:
    """4. The marketplace's tree-runner, once it has seen payments (and saved them)."""
    state = world.root / "state" / f"{SHOP}.json"
    world.wait_for("the marketplace's saved payments", lambda: state.exists() and
                   (ipc.read_document(state) or {}).get("keys", {}).get("payments"), 60)
    # No hold: the others go on while the marketplace is down (payments sent meanwhile
    # must be seen after its restart, once).
    world.kill_agent(SHOP)
    marks["shop_kill"] = mark(world, seen=[r["txid"] for r in world.events_of(SHOP, "payment_seen")])
    world.start_agent(SHOP)
    world.wait_for("the marketplace seeing two new payments after its restart", lambda: len(
        marks["shop_kill"].after(world, SHOP, "payment_seen")) >= 2, 120)


def _stop_once_all_confirmed(world: World, marks: dict[str, Mark]) -> dict[str, int | None]:
    """Users stop; blocks go on until the marketplace has confirmed every payment sent; then
    the rest stop. The exit codes of all."""
    codes = world.stop_agents(list(USERS))
    marks["users_stopped"] = mark(world)

    def all_confirmed():
        confirmed = {r["txid"] for r in world.events_of(SHOP, "payment_confirmed")}
        return {r["txid"] for u in USERS for r in world.events_of(u, "payment_sent")} <= confirmed
    world.wait_for("every payment confirmed at the marketplace", all_confirmed, 150)
    codes.update(world.stop_agents(["controller", "pool-0", SHOP]))
    return codes


def _shop_transfers(world: World) -> list[dict]:
    """The marketplace's wallet: the truth about what was paid to it."""
    shop = world.supervisor.wallets[SHOP].client(timeout=120)
    shop.refresh()
    transfers = shop.get_transfers(incoming=True, pool=True)
    return transfers["in"] + transfers["pool"]


@pytest.fixture(scope="module")
def faulted(tmp_path_factory) -> FaultedRun:
    world = World(tmp_path_factory.mktemp("faults") / "run", SPECS, seed=SEED)
    began = time.monotonic()
    marks: dict[str, Mark] = {}
    try:
        _start_the_daemon_late(world, marks)
        _kill_the_daemon(world, marks)
        _kill_a_wallet_rpc(world, marks)
        _kill_a_user(world, marks)
        _kill_the_marketplace(world, marks)
        codes = _stop_once_all_confirmed(world, marks)
        shop_transfers = _shop_transfers(world)
    finally:
        world.close()
    run = FaultedRun(world, marks, codes, shop_transfers, time.monotonic() - began)
    _report(run)
    return run


def _report(run: FaultedRun) -> None:
    """What happened, for the log (pytest -s)."""
    w, m = run.world, run.marks
    lines = [f"faulted run: {run.took:.0f} s real, {w.now() - w.origin:.0f} s simulated "
             f"(keeper: {w.keeper.jumps} jumps, {w.keeper.releases} releases), seed {SEED}, root {run.root}"]
    for name in ("daemon_kill", "wallet_kill", "user_kill", "shop_kill", "users_stopped"):
        sent = {u: len([r for r in w.journal(u)[:m[name].lengths[u]] if r["event"] == "payment_sent"])
                for u in USERS}
        lines.append(f"  at {name:<14} {m[name].unix - m['daemon_up'].unix:6.1f} s real, "
                     f"{m[name].t - m['daemon_up'].t:7.1f} s simulated: payments sent {sent}; {m[name].info}")
    recovered = [(r["agent"], r["event"], r["payment_id"]) for u in USERS for r in w.journal(u)
                 if r.get("recovered")]
    lines.append(f"  recovered orders: {recovered}")
    lines.append(f"  shop transfers {len(run.shop_transfers)}; payments sent {len(run.sent())}; "
                 f"exit codes {run.exit_codes}")
    print("\n".join(lines))


# ---------------------------------------------------------------- the assertions

def test_agents_started_before_the_daemon_waited_for_it(faulted):
    up = faulted.marks["daemon_up"].t
    for agent in faulted.world.runners:
        records = faulted.journal(agent)
        waiting = [r for r in records if r["event"] == "daemon_waiting"]
        assert waiting and waiting[0]["t"] < up, agent
    controller = faulted.world.events_of("controller", "bootstrap_mined")
    assert sum(r["blocks"] for r in controller) == BOOTSTRAP - 1       # the genesis block is there


def test_every_agent_stopped_cleanly_and_every_journal_parses(faulted):
    assert faulted.exit_codes == {a: 0 for a in faulted.world.runners}
    for agent, runner in faulted.world.runners.items():
        killed = 1 if agent in ("user-1", SHOP) else 0
        assert runner.exits == [-signal.SIGKILL] * killed + [0], agent
        records = faulted.journal(agent)
        assert [r["event"] for r in records].count("agent_started") == 1 + killed, agent
        assert records[-1]["event"] == "agent_stopped" and records[-1]["reason"] == "SIGTERM", agent
    files = sorted(faulted.root.glob("journals/*.jsonl")) + sorted(faulted.root.glob("shared/orders/*.jsonl"))
    assert len(files) == len(faulted.world.runners) + len(USERS)
    for path in files:
        scanned = scan_journal(path)
        name = str(path.relative_to(faulted.root))
        assert not scanned["torn"], name                 # every writer ended its last line
        # A SIGKILLed writer may leave one torn line, which its successor ends: readers skip it.
        assert scanned["corrupt"] <= (1 if name in KILLED_WRITERS else 0), name
        assert all(r.get("agent") == path.stem for r in scanned["records"]), name
    for state in faulted.root.glob("state/*.json"):
        assert ipc.read_document(state)["agent"] == state.stem


def test_no_payment_made_twice(faulted):
    sent = faulted.sent()
    txids = [r["txid"] for r in sent]
    assert len(txids) == len(set(txids)), Counter(txids).most_common(3)
    pids = [r["payment_id"] for r in sent]
    assert len(pids) == len(set(pids)), Counter(pids).most_common(3)
    for user in USERS:                                   # no order placed twice either
        placed = payment_ids(faulted.journal(user), "order_placed")
        assert len(placed) == len(set(placed)), (user, Counter(placed).most_common(3))
    seen = faulted.world.events_of(SHOP, "payment_seen")
    assert len({r["txid"] for r in seen}) == len(seen)
    assert len({r["payment_id"] for r in seen}) == len(seen)
    confirmed = [r["txid"] for r in faulted.world.events_of(SHOP, "payment_confirmed")]
    assert len(confirmed) == len(set(confirmed))
    # The marketplace's wallet received each payment ID once, and exactly what was sent.
    by_pid = Counter(t["payment_id"] for t in faulted.shop_transfers)
    assert by_pid and max(by_pid.values()) == 1, by_pid.most_common(3)
    assert sorted(t["txid"] for t in faulted.shop_transfers) == sorted(txids)


def test_every_sent_payment_is_matched_and_confirmed(faulted):
    seen = {r["txid"]: r for r in faulted.world.events_of(SHOP, "payment_seen")}
    confirmed = {r["txid"]: r for r in faulted.world.events_of(SHOP, "payment_confirmed")}
    for payment in faulted.sent():
        where = (payment["agent"], payment["payment_id"])
        assert payment["txid"] in seen, where
        got = seen[payment["txid"]]
        assert (got["status"], got["payment_id"], got["amount"], got["user"]) == \
            ("matched", payment["payment_id"], payment["amount"], payment["agent"]), where
        assert payment["txid"] in confirmed, where
    assert set(seen) == {p["txid"] for p in faulted.sent()}     # nothing seen that was not sent
    summary = summarize(faulted.root)["payments"]
    assert summary["sent"] == len(faulted.sent()) >= 10
    assert (summary["matched"], summary["confirmed"]) == (summary["sent"], summary["sent"])
    assert (summary["missing"], summary["mismatched"], summary["unknown"]) == (0, 0, 0)


def test_every_order_is_paid_or_cancelled_once(faulted):
    for user in USERS:
        book = ipc.read_journal(faulted.world.order_book(user))
        placed = payment_ids(book, "order_placed")
        settled = Counter(payment_ids(book, "order_paid", "order_cancelled"))
        assert placed and sorted(settled) == sorted(placed), (user, set(placed) ^ set(settled))
        assert max(settled.values()) == 1, (user, settled.most_common(2))
        journal_sent = {r["payment_id"]: r["txid"] for r in faulted.world.events_of(user, "payment_sent")}
        book_paid = {r["payment_id"]: r["txid"] for r in book if r["event"] == "order_paid"}
        assert book_paid == journal_sent, user
        assert payment_ids(faulted.journal(user), "order_placed") == placed, user


def _settlement(records: list[dict], payment_id: str) -> list[dict]:
    return [r for r in records if r.get("payment_id") == payment_id
            and r["event"] in ("payment_sent", "payment_failed")]


def test_killed_user_resumes_and_settles_its_open_order(faulted):
    kill = faulted.marks["user_kill"]
    assert kill.info["caught"], "no payment was open when user-1 was killed"
    records = faulted.journal("user-1")
    restarted = [i for i, r in enumerate(records) if r["event"] == "agent_started"][1]
    assert restarted == kill.lengths["user-1"]           # the journal goes on where it stopped
    for payment_id in kill.info["open_in_journal"]:
        (settled,) = _settlement(records, payment_id)
        assert settled.get("recovered") is True and records.index(settled) > restarted
    assert len(kill.after(faulted.world, "user-1", "payment_sent")) >= 2


def test_killed_marketplace_resumes_from_its_state(faulted):
    kill = faulted.marks["shop_kill"]
    after = faulted.journal(SHOP)[kill.lengths[SHOP]:]
    assert after[0]["event"] == "agent_started"
    resumed = [r for r in after if r["event"] == "agent_resumed"]
    assert resumed and resumed[0]["keys"] == ["payments"]
    seen_again = [r["txid"] for r in after if r["event"] == "payment_seen" and r["txid"] in kill.info["seen"]]
    assert seen_again == [], "payments seen before the kill were journaled again"
    saved = ipc.read_document(faulted.root / "state" / f"{SHOP}.json")["keys"]["payments"]
    assert set(saved) == {r["txid"] for r in faulted.world.events_of(SHOP, "payment_seen")}
    assert all(p["confirmed"] and p["status"] == "matched" for p in saved.values())


def test_wallet_rpc_restart_reopens_the_wallet_and_settles_the_open_payment(faulted):
    kill, restart = faulted.marks["wallet_kill"], faulted.marks["wallet_restart"]
    reopened = kill.after(faulted.world, "user-0", "wallet_reopened")
    assert len(reopened) == 1 and reopened[0]["t"] >= kill.t
    records = faulted.journal("user-0")
    for payment_id in kill.info["open"]:
        (settled,) = _settlement(records, payment_id)
        if settled.get("recovered"):
            assert settled["t"] >= reopened[0]["t"]
    assert len(restart.after(faulted.world, "user-0", "payment_sent")) >= 2
    assert [r["event"] for r in records].count("agent_started") == 1   # the agent lived on


def test_blocks_and_payments_go_on_after_the_daemon_restart(faulted):
    kill, restart = faulted.marks["daemon_kill"], faulted.marks["daemon_restart"]
    assert restart.info["count"] >= kill.info["count"]   # the chain survived SIGKILL
    heights = [r["height"] for r in restart.after(faulted.world, "pool-0", "block_mined")]
    assert heights and heights == sorted(heights) and heights[-1] >= kill.info["mined"] + 3
    assert len(set(heights)) == len(heights)
    for user in USERS:
        assert restart.after(faulted.world, user, "payment_sent"), user


def test_every_signed_order_is_paid_with_its_txid_or_never_reached_the_shop(faulted):
    """Two-phase SendTx: every payment sent was signed first (`order_signed`), with that txid;
    a signed order that was cancelled never reached the marketplace's wallet."""
    received = {t["txid"] for t in faulted.shop_transfers}
    for user in USERS:
        book = ipc.read_journal(faulted.world.order_book(user))
        signed = {r["payment_id"]: r["txid"] for r in book if r["event"] == "order_signed"}
        paid = {r["payment_id"]: r["txid"] for r in book if r["event"] == "order_paid"}
        cancelled = set(payment_ids(book, "order_cancelled"))
        assert paid and {p: signed.get(p) for p in paid} == paid, user
        assert not {signed[p] for p in cancelled if p in signed} & received, user
