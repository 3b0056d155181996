"""`monerosim export`: the CSV tables of the recorded run tests/report_fixtures/run-local, a role
the code does not know, and bad input (one-line message, exit 2, nothing already written lost).

The real-run counterpart (and the docs/report.md snippet) is
tests/integration/test_report_real_export.py.
"""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from sim import cli
from sim.report.export import TABLES, export
from sim.report.load import read_run
from sim.report.metrics import build_metrics

ROOT = Path(__file__).resolve().parents[2]
RUN = ROOT / "tests" / "report_fixtures" / "run-local"
IDS = {"payment_id": str, "txid": str, "hash": str}
ORIGIN = 100.0           # the controller's agent_started


@pytest.fixture(scope="module")
def tables(tmp_path_factory) -> dict[str, pd.DataFrame]:
    out = tmp_path_factory.mktemp("export") / "csv"
    written = export(RUN, out)
    assert written == {out / f"{name}.csv": n for name, n in
                       (("payments", 9), ("blocks", 12), ("events", 71), ("agents", 8))}
    return {name: pd.read_csv(out / f"{name}.csv", dtype=IDS) for name in TABLES}


def test_payments_one_row_per_payment_or_order(tables):
    p = tables["payments"].set_index("payment_id")
    assert list(p.index) == ["p01", "p11", "p02", "p12", "p03", "p21", "p04", "p13", "p22"]  # placed
    assert dict(p.outcome) == {"p01": "matched", "p11": "matched", "p02": "matched", "p12": "matched",
                               "p03": "failed", "p21": "mismatched", "p04": "open", "p13": "missing",
                               "p22": "unmatched"}
    row = p.loc["p01"]
    assert (row.user, row.shop, row.txid, row.amount, row.amount_xmr, row.fee, row.height) == \
        ("user-0", "shop-0", "a1", 1000, 1e-9, 10, 9)
    times = [row[f"{w}_t"] for w in ("placed", "sent", "seen", "mined", "confirmed")]
    assert times == [209.0, 210.0, 215.0, 302.0, 420.0]     # mined: pool-0's block 9 at 302
    assert [row[f"{w}_s"] for w in ("placed", "sent", "seen", "mined", "confirmed")] == \
        [t - ORIGIN for t in times]
    assert (row.sent_to_seen, row.sent_to_mined, row.sent_to_confirmed) == (5.0, 92.0, 210.0)
    assert (p.loc["p21", "seen_amount"], p.loc["p21", "shop_statuses"]) == (750, "amount_mismatch")
    assert (p.loc["p03", "code"], p.loc["p03", "error"], p.loc["p03", "failed_s"]) == (-37, "JsonRpcError", 190.0)
    assert p.loc["p03", ["sent_t", "txid"]].isna().all() and p.loc["p04", ["sent_t", "failed_t"]].isna().all()
    assert p.loc["p13", ["seen_t", "mined_t", "confirmed_t", "sent_to_seen"]].isna().all()


def test_counts_and_times_agree_with_the_report(tables):
    report = build_metrics(read_run(RUN))
    p, b, pay = tables["payments"], tables["blocks"], report["payments"]
    assert (p.sent_s.notna().sum(), p.seen_s.notna().sum(), p.confirmed_s.notna().sum()) == \
        (pay["sent"], pay["seen"], pay["confirmed"])
    assert ((p.outcome == "failed").sum(), (p.outcome == "open").sum()) == (pay["failed"], pay["orders_open"])
    for item in report["transactions"]["items"]:
        row = p[p.payment_id == item["payment_id"]].iloc[0]
        for what in ("sent", "seen", "mined", "confirmed"):
            assert (None if pd.isna(row[f"{what}_s"]) else row[f"{what}_s"]) == item[what], what
    assert ((b.kind == "pool").sum(), (b.kind == "bootstrap").sum()) == \
        (report["blocks"]["total"], report["blocks"]["bootstrap"])
    assert b.groupby("pool").size().to_dict() == {
        pool: row["blocks"] + row["bootstrap"] for pool, row in report["blocks"]["pools"].items()}


def test_blocks_one_row_per_height(tables):
    b = tables["blocks"]
    assert list(b.height) == list(range(1, 13))
    assert list(b.kind) == ["bootstrap"] * 6 + ["pool"] * 6
    late = b.set_index("height").loc[9]      # seq 3 went late; pool-0 mined on seq 4 (signal at 301)
    assert (late.pool, late.agent, late.seq, late.hash, late.t, late.signal_t, late.signal_to_block) == \
        ("pool-0", "pool-0", 4, "b09", 302.0, 301.0, 1.0)
    two = b[b.seq == 5]                      # one record of 2 blocks at height 11 covers 10 and 11
    assert list(two.height) == [10, 11] and two.hash.isna().tolist() == [True, False]
    assert b[b.kind == "bootstrap"].seq.isna().all() and list(b.pool[:6]) == ["pool-0"] * 3 + ["pool-1"] + ["pool-0"] * 2


def test_agents_table(tables):
    a = tables["agents"].set_index("agent")
    assert list(a.index) == ["controller", "pool-0", "pool-1", "shop-0", "shop-1", "user-0", "user-1", "user-2"]
    killed = a.loc["user-2"]
    assert (killed.role, killed.outcome, killed.exit_code, killed.stopped, killed.torn) == \
        ("user", "killed", -9, False, True)
    assert killed.detail.startswith("did not stop") and pd.isna(killed.stop_s)
    assert (a.loc["pool-0", "start_s"], a.loc["pool-0", "stop_s"], a.loc["pool-0", "blocks"]) == (0.5, 500.0, 4)
    assert (a.loc["user-1", "corrupt_lines"], a.loc["user-0", "payments_sent"], a.loc["pool-1", "rpc_failed"]) == (1, 2, 1)


def test_events_hold_every_record_of_an_unknown_role(tmp_path):
    run = tmp_path / "run"
    shutil.copytree(RUN, run)
    records = [{"t": 150.0, "event": "agent_started", "agent": "saver-0", "role": "saver"},
               {"t": 160.5, "event": "saved", "agent": "saver-0", "amount": 7, "note": "first",
                "ok": True, "tags": ["a", "b"], "role": "piggy", "data": {"x": 1}},
               {"t": 170.0, "event": "saved", "agent": "saver-0", "amount": 8}]
    (run / "journals" / "saver-0.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    export(run, tmp_path / "out")
    events = pd.read_csv(tmp_path / "out" / "events.csv", dtype=IDS, low_memory=False)
    assert len(events) == 71 + 3
    saved = events[events.event == "saved"]
    assert list(saved.role) == ["saver", "saver"] and list(saved.time_s) == [60.5, 70.0]
    assert list(saved.amount) == [7, 8] and saved.note.iloc[0] == "first" and saved.record.tolist() == [1, 2]
    assert json.loads(saved.data.iloc[0]) == {"amount": 7, "note": "first", "ok": True, "tags": ["a", "b"],
                                              "role": "piggy", "data": {"x": 1}}
    agents = pd.read_csv(tmp_path / "out" / "agents.csv").set_index("agent")
    assert (agents.loc["saver-0", "role"], agents.loc["saver-0", "records"]) == ("saver", 3)


def test_default_out_and_printed_lines(tmp_path, capsys):
    run = tmp_path / "run"
    shutil.copytree(RUN, run)
    assert cli.main(["export", str(run)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines == [f"{run / 'export' / name}.csv: {n} rows"
                     for name, n in zip(TABLES, (9, 12, 71, 8))]
    assert sorted(p.name for p in (run / "export").iterdir()) == sorted(f"{n}.csv" for n in TABLES)
    (run / "export" / "payments.csv").write_text("stale\n")
    assert cli.main(["export", str(run), "-o", str(run / "export")]) == 0      # a second export replaces
    assert (run / "export" / "payments.csv").read_text().startswith("user,shop,payment_id,")
    assert sorted(p.name for p in (run / "export").iterdir()) == sorted(f"{n}.csv" for n in TABLES)


def monerosim(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sim.cli", "export", *args], capture_output=True,
                          text=True, timeout=60, cwd=ROOT)


def test_bad_input_one_line_exit_2_nothing_lost(tmp_path):
    (tmp_path / "a-file").write_text("x")
    (tmp_path / "no-journals").mkdir()
    old = tmp_path / "old"
    old.mkdir()
    for name in TABLES:
        (old / f"{name}.csv").write_text(f"old {name}\n")
    (old / "blocks.csv").unlink()
    (old / "blocks.csv").mkdir()             # cannot be replaced by a file
    cases = [((str(tmp_path / "missing"), "-o", str(tmp_path / "o1")), "missing: no such directory"),
             ((str(tmp_path / "no-journals"), "-o", str(tmp_path / "o2")), "not a run directory (no journals/)"),
             ((str(tmp_path / "a-file"), "-o", str(tmp_path / "o3")), "a-file: not a directory"),
             ((str(RUN), "-o", str(tmp_path / "a-file")), "a-file: not a directory"),
             ((str(RUN), "-o", str(tmp_path / "a-file" / "sub")), "a-file/sub: cannot write (Not a directory)"),
             ((str(RUN), "-o", str(old)), "old/blocks.csv: cannot write (Is a directory)")]
    for args, message in cases:
        done = monerosim(*args)
        assert (done.returncode, done.stdout) == (2, ""), (args, done.stderr)
        assert done.stderr.startswith("monerosim: ") and done.stderr.count("\n") == 1, done.stderr
        assert message in done.stderr and "Traceback" not in done.stderr
    assert not any((tmp_path / f"o{i}").exists() for i in (1, 2, 3))
    assert (tmp_path / "a-file").read_text() == "x"
    assert sorted(p.name for p in old.iterdir()) == sorted(f"{n}.csv" for n in TABLES)   # no temp files
    assert [(old / f"{n}.csv").read_text() for n in TABLES if n != "blocks"] == \
        [f"old {n}\n" for n in TABLES if n != "blocks"]          # none replaced: all or nothing
