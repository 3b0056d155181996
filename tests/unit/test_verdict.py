"""The verdict of a run (`sim.report.verdict`) from journal records fed through the summary.

Pure bookkeeping: the records are written here; the real runs that must say ok or failed are
in tests/integration/test_verdict_runs.py.
"""
import pytest

from sim.report.summary import Tally, build_summary, format_summary
from sim.report.verdict import DEGRADED, FAILED, OK, Expect, verdict_line


def agent(tally: Tally, agent_id: str, role: str, *records: dict) -> None:
    tally.feed({"event": "agent_started", "role": role, "t": 0}, agent_id)
    for record in records:
        tally.feed(record, agent_id)
    tally.feed({"event": "agent_stopped", "reason": "SIGTERM", "t": 1000}, agent_id)


def paid(n: int, shop: str = "shop-0", start: int = 0) -> list[dict]:
    return [{"event": "payment_sent", "shop": shop, "payment_id": f"p{start + i}",
             "txid": f"t{start + i}", "amount": 10, "t": 10} for i in range(n)]


def seen_by(shop_payments: list[dict], confirmed: bool = True) -> list[dict]:
    out = []
    for p in shop_payments:
        common = {"txid": p["txid"], "payment_id": p["payment_id"], "amount": 10, "t": 20}
        out.append({"event": "payment_seen", "status": "matched", **common})
        if confirmed:
            out.append({"event": "payment_confirmed", **common, "t": 30, "height": 5})
    return out


def world(users: dict[str, int], *, signals: int = 3, pools=None, confirmed=True) -> Tally:
    """A controller, pools {id: (hashrate, blocks)}, one shop, users {id: payments}."""
    tally = Tally()
    agent(tally, "controller", "controller",
          *[{"event": "signal_issued", "t": i} for i in range(signals)])
    for pool, (rate, blocks) in (pools or {"pool-0": (1, signals)}).items():
        agent(tally, pool, "pool", {"event": "pool_registered", "hashrate": rate},
              *[{"event": "block_mined", "blocks": 1, "height": 100 + i} for i in range(blocks)])
    sent, start = [], 0
    for user, n in users.items():
        payments = paid(n, start=start)
        start += n
        sent += payments
        agent(tally, user, "user", *payments)
    agent(tally, "shop-0", "marketplace", *seen_by(sent, confirmed))
    return tally


def judged(tally: Tally, expect: Expect | None = None, run: dict | None = None) -> dict:
    return build_summary("RUN", tally, run or {"status": "stopped"}, expect)


def reasons(summary: dict) -> list[tuple[str, str]]:
    return [(r["level"], r["text"]) for r in summary["verdict"]["reasons"]]


def test_a_clean_run_is_ok_and_says_so():
    summary = judged(world({"user-0": 2, "user-1": 1}))
    assert summary["verdict"]["verdict"] == OK and summary["problems"] == []
    assert format_summary(summary).splitlines()[-1] == "Verdict: OK (every expectation met)"
    assert verdict_line(summary["verdict"]) == "verdict: OK"


def test_users_who_never_paid_fail_the_run_and_are_named():
    users = {f"user-{i}": (3 if i == 0 else 0) for i in range(10)}
    summary = judged(world(users))
    assert reasons(summary) == [
        (FAILED, "9 of 10 users never paid (user-1, user-2, user-3, user-4, user-5, …)")]
    assert summary["verdict"]["verdict"] == FAILED
    assert verdict_line(summary["verdict"]).startswith("verdict: FAILED — 9 of 10 users never paid")
    assert "  failed: 9 of 10 users never paid" in format_summary(summary)


def test_fewer_payments_than_expected_is_degraded():
    summary = judged(world({"user-0": 1, "user-1": 4}), Expect(payments={"user": 2}))
    assert reasons(summary) == [(DEGRADED, "1 of 2 users paid fewer than 2 times (user-0)")]
    assert summary["verdict"]["verdict"] == DEGRADED


def test_expectations_name_any_role():
    tally = world({"user-0": 1})
    agent(tally, "saver-0", "saver")
    expect = Expect.from_mapping({"payments": {"saver": 1, "user": 0}, "errors": 2})
    assert expect.record() == {"payments": {"saver": 1, "user": 0}, "confirmed": True,
                               "errors": 2, "blocks_sigma": 3.0}
    assert reasons(judged(tally, expect)) == [(FAILED, "1 of 1 saver never paid (saver-0)")]


def test_a_controller_that_never_bootstrapped_or_signalled_fails_the_run():
    tally = world({"user-0": 0}, signals=0, pools={"pool-0": (1, 0)})
    assert (FAILED, "no block was mined: the controller never bootstrapped the chain "
                    "(height 0)") in reasons(judged(tally))
    tally.feed({"event": "bootstrap_mined", "pool": "pool-0", "blocks": 5, "height": 5},
               "controller")
    assert (FAILED, "the controller issued no mining signal after its 5 bootstrap blocks "
                    "(height 5)") in reasons(judged(tally))


def test_unconfirmed_payments_degrade_unless_not_expected():
    tally = world({"user-0": 2}, confirmed=False)
    assert reasons(judged(tally)) == [
        (DEGRADED, "2 of 2 payments seen were not confirmed by the end")]
    assert reasons(judged(tally, Expect(confirmed=False))) == []


@pytest.mark.parametrize("blocks, off", [((50, 50), False), ((90, 10), True)])
def test_blocks_far_from_the_hashrate_share_degrade(blocks, off):
    pools = {"pool-0": (50, blocks[0]), "pool-1": (50, blocks[1])}
    found = reasons(judged(world({"user-0": 1}, signals=100, pools=pools)))
    expected = [(DEGRADED, "pool-0 mined 90 of 100 blocks, expected 50.0 ± 5.0 from its "
                           "hashrate share"),
                (DEGRADED, "pool-1 mined 10 of 100 blocks, expected 50.0 ± 5.0 from its "
                           "hashrate share")]
    assert found == (expected if off else [])


def test_an_interrupted_run_and_launcher_failures_fail():
    run = {"status": "interrupted", "interrupted_by": "SIGINT",
           "failures": ["monerod did not answer RPC within 60 s"]}
    assert reasons(judged(world({"user-0": 1}), run=run)) == [
        (FAILED, "the run was interrupted by SIGINT"),
        (FAILED, "monerod did not answer RPC within 60 s")]


def test_errors_beyond_the_allowance_degrade_and_name_the_agents():
    tally = world({"user-0": 1})
    for _ in range(3):
        tally.feed({"event": "rpc_failed", "code": -38, "method": "refresh"}, "user-0")
    assert reasons(judged(tally)) == [
        (DEGRADED, "3 errors journaled (allowed 0): user-0 3")]
    assert reasons(judged(tally, Expect(errors=3))) == []


def test_an_agent_still_waiting_for_half_the_run_is_named_with_what_it_waits_for():
    tally = world({"user-0": 1})
    tally.feed({"event": "waiting", "waiting_for": "2 agents of role pool", "have": 1,
                "waited": 3000.0, "t": 3000}, "controller")
    run = {"status": "stopped", "duration": 3600.0, "drain": 300.0}
    assert reasons(judged(tally, run=run)) == [
        (DEGRADED, "controller was still waiting at the end for 2 agents of role pool (had 1) "
                   "after 50 min")]
    short = {**run, "duration": 7200.0}                     # 3000 s is less than half of 7500 s
    assert reasons(judged(tally, run=short)) == []
    tally.feed({"event": "signal_issued", "t": 3100}, "controller")   # the wait ended
    assert reasons(judged(tally, run=run)) == []


def test_payments_sent_in_the_last_minutes_before_the_payee_stopped_are_in_flight():
    tally = world({"user-0": 1})
    late = {"event": "payment_sent", "shop": "shop-0", "payment_id": "late", "txid": "tl",
            "amount": 10, "t": 900}                       # the shop's last record is at 1000
    tally.feed(late, "user-0")
    summary = judged(tally)
    assert summary["payments"]["in_flight"] == {"missing": 1, "unconfirmed": 0}
    assert reasons(summary) == []
    late.update(payment_id="early", txid="te", t=600)     # 400 s before: it should have shown
    tally.feed(late, "user-0")
    assert reasons(judged(tally)) == [
        (FAILED, "1 of 3 payments never seen by their shop (and 1 sent in the last 5 min "
                 "before their payee stopped)")]


def test_a_pools_funding_seen_by_its_peers_is_not_an_unknown_payment():
    tally = world({"user-0": 1})
    tally.feed({"event": "peers_funded", "txids": ["f1"], "peers": ["user-0"]}, "pool-0")
    tally.feed({"event": "payment_seen", "status": "unknown", "txid": "f1",
                "payment_id": "0" * 16, "amount": 5, "t": 50}, "shop-0")
    tally.feed({"event": "payment_seen", "status": "unknown", "txid": "x9",
                "payment_id": "0" * 16, "amount": 5, "t": 50}, "shop-0")
    assert summary_unknown(tally) == 1


def summary_unknown(tally: Tally) -> int:
    return judged(tally)["payments"]["unknown"]
