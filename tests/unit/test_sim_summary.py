"""The run summary on the hand-made run directory tests/sim_fixtures/run-small.

Worked out by hand from its journals:
- pools: pool-0 journals pool_registered hashrate 75 (its registry record says 10: the journal
  wins); pool-1 journals none, its registry record says 25. Blocks: pool-0 3 events x 1,
  pool-1 1 event x 2 → 5 in all; shares 0.75 / 0.25 → expected 3.75 / 1.25. Bootstrap 75 blocks
  credited to pool-0; 5 signals, 1 late. Height: highest block_mined height, 81.
- payments sent: p1, p2 (user-0, shop-0), p4, p5 (user-1, shop-1), p6 (user-1, shop-0); p7 is a
  torn last line and does not count; p3 failed (-37).
  p1 seen matched (twice: one record) and confirmed → matched; p2 seen "matched" with 1999
  instead of 2000 → mismatched; p4 seen amount_mismatch, confirmed → mismatched; p5 never seen
  → missing; p6 seen, but shop-0 marked it unknown.
  unknown: shop-0 t6/p6 and t9/p9 (status unknown), shop-1 tx/p1 (no payment p1 went to shop-1) → 3.
  Latency to seen: 10, 5, 20, 1 → median 7.5, mean 9; to confirmed: 100, 120 → median 110.
- transactions: t1 t2 t4 t5 t6 + funding f1 f2 → 7.
- errors: pool-1 rpc_failed -9 and a leaf_failed without code; user-1 rpc_failed -37 twice → 4.
"""
import json
import shutil
from pathlib import Path

import pytest

from ipc import JournalWriter
from sim import cli
from sim.report.summary import Tally, format_summary, short_duration, summarize

RUN = Path(__file__).resolve().parent.parent / "sim_fixtures" / "run-small"


@pytest.fixture(scope="module")
def summary():
    return summarize(RUN)


def test_blocks(summary):
    assert summary["blocks"] == {
        "total": 5, "bootstrap": 75, "signals": 5, "late": 1,
        "pools": {
            "pool-0": {"hashrate": 75.0, "share": 0.75, "blocks": 3, "actual_share": 0.6,
                       "expected": 3.75, "bootstrap": 75},
            "pool-1": {"hashrate": 25.0, "share": 0.25, "blocks": 2, "actual_share": 0.4,
                       "expected": 1.25, "bootstrap": 0},
        }}
    assert summary["run"]["height"] == 81


def test_payments(summary):
    p = summary["payments"]
    assert {k: p[k] for k in ("orders", "sent", "failed", "seen", "confirmed", "matched",
                              "mismatched", "missing", "unknown", "seen_records",
                              "confirmed_records")} == {
        "orders": 2, "sent": 5, "failed": 1, "seen": 4, "confirmed": 2, "matched": 1,
        "mismatched": 2, "missing": 1, "unknown": 3, "seen_records": 6, "confirmed_records": 2}
    assert p["failure_codes"] == {"-37": 1}
    assert p["latency"] == {"seen": {"n": 4, "mean": 9.0, "median": 7.5, "max": 20.0},
                            "confirmed": {"n": 2, "mean": 110.0, "median": 110.0, "max": 120.0}}


def test_transactions(summary):
    assert summary["transactions"] == {"sent": 7, "payments": 5, "funding": 2}


def test_errors_and_agents(summary):
    assert summary["errors"] == {"total": 4, "agents": {
        "pool-1": {"leaf_failed": 1, "rpc_failed": 1, "error_codes": {"-9": 1},
                   "last_error": "mine: no answer"},
        "user-1": {"leaf_failed": 0, "rpc_failed": 2, "error_codes": {"-37": 2},
                   "last_error": "transfer: not enough unlocked money"}}}
    assert sorted(summary["agents"]) == ["controller", "pool-0", "pool-1", "shop-0", "shop-1",
                                         "user-0", "user-1"]
    assert summary["agents"]["shop-0"]["role"] == "marketplace"
    assert summary["agent_problems"] == ["user-1: never journaled agent_stopped"]


def test_verdict_names_every_reason_worked_out_from_the_journals(summary):
    verdict = summary["verdict"]
    assert verdict["verdict"] == "failed"
    # Every payment here was sent within 5 minutes of its shop's last record: p5 (missing) and
    # the two seen but unconfirmed are in flight, not held against the run.
    assert summary["payments"]["in_flight"] == {"missing": 1, "unconfirmed": 2}
    assert [(r["level"], r["text"]) for r in verdict["reasons"]] == [
        ("failed", "user-1: never journaled agent_stopped"),
        ("failed", "2 of 5 payments seen with another amount than ordered"),     # p2, p4
        ("degraded", "shops saw 3 payments that no order accounts for"),
        ("degraded", "4 errors journaled (allowed 0): pool-1 2, user-1 2"),
        ("degraded", "1 of 5 mining signals got no block in time")]
    assert summary["problems"] == [r["text"] for r in verdict["reasons"]]
    assert summary["payments"]["by_agent"] == {"user-0": 2, "user-1": 3}


def test_format(summary):
    text = format_summary(summary)
    assert "Blocks: 5 mined by pools on 5 signals (1 late), 75 bootstrap" in text
    assert "pool-0                 75   75.0%      3   60.0%     3.75" in text
    assert ("Payments: 2 orders, 5 sent, 1 failed (-37 x1); 4 seen, 2 confirmed; 1 matched, "
            "2 mismatched, 1 missing, 3 unknown") in text
    assert "latency to seen median 7.5s, to confirmed median 1m50s" in text
    assert "user-1           leaf_failed 0, rpc_failed 2 (-37 x2)" in text
    lines = text.splitlines()
    assert lines[-6:-4] == ["Verdict: FAILED", "  failed: user-1: never journaled agent_stopped"]
    assert "Events of user (2): funded 1, order_placed 2, payment_failed 1, payment_sent 5, " \
           "rpc_failed 2" in lines
    assert lines[-1] == "  degraded: 1 of 5 mining signals got no block in time"


def test_run_json_adds_outcomes_and_height(tmp_path):
    run = tmp_path / "run"
    shutil.copytree(RUN, run)
    (run / "run.json").write_text(json.dumps({
        "scenario": "small", "duration": 600.0, "time_scale": 10.0, "final_height": 90,
        "agents": [{"id": "user-1", "exit_code": -9, "outcome": "crashed",
                    "detail": "crashed: killed by SIGKILL"},
                   {"id": "ghost", "exit_code": 2, "outcome": "crashed", "detail": "crashed: exit code 2"}]}))
    s = summarize(run)
    assert s["run"]["height"] == 90 and s["run"]["scenario"] == "small"
    assert s["agents"]["user-1"]["exit_code"] == -9
    assert s["agent_problems"] == ["ghost: crashed: exit code 2", "ghost: never journaled agent_started",
                             "user-1: crashed: killed by SIGKILL", "user-1: never journaled agent_stopped"]
    assert format_summary(s).startswith("Run small (")


def test_empty_run(tmp_path):
    (tmp_path / "journals").mkdir()
    s = summarize(tmp_path)
    assert s["blocks"]["total"] == 0 and s["payments"]["sent"] == 0 and s["agents"] == {}
    assert s["payments"]["latency"] == {"seen": None, "confirmed": None}
    assert "Errors: 0 (none)" in format_summary(s)


def test_tally_is_incremental(tmp_path):
    """Feeding records one at a time gives the counts the progress line shows."""
    tally = Tally()
    with JournalWriter(tmp_path / "pool-0.jsonl", clock=lambda: 5.0, agent="pool-0") as j:
        tally.feed(j.append("block_mined", blocks=1, height=3))
        assert tally.pool_blocks == {"pool-0": 1} and tally.height == 3
        tally.feed(j.append("rpc_failed", method="generateblocks", code=None, error="ConnectError",
                            message="refused"))
        assert tally.errors == 1 and tally.agents["pool-0"].codes == {"ConnectError": 1}
    tally.feed({"event": "block_mined"}, "pool-1")     # no agent field: the file's agent
    assert tally.pool_blocks == {"pool-0": 1, "pool-1": 1}


def test_summary_cli(capsys):
    assert cli.main(["summary", str(RUN)]) == 0
    assert "Transactions: 7 sent (5 payments, 2 funding)" in capsys.readouterr().out
    assert cli.main(["summary", str(RUN), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["payments"]["matched"] == 1


def test_summary_cli_refuses_a_non_run(tmp_path, capsys):
    assert cli.main(["summary", str(tmp_path)]) == 2
    assert capsys.readouterr().err.strip() == f"monerosim: {tmp_path}: not a run directory (no journals/)"


@pytest.mark.parametrize("seconds, text", [(0, "0s"), (0.25, "250ms"), (12.34, "12.3s"), (40.0, "40s"),
                                           (110, "1m50s"), (3725, "1h2m5s"), (-2, "-2s")])
def test_short_duration(seconds, text):
    assert short_duration(seconds) == text
