"""The report's Flood figures (sim/report/flood*.py) on a hand-made run directory.

Origin: the controller's agent_started at 1000; bootstrap to height 10 at 1001; pool p0 mines
h11 @1060, h12 @1120, h13 @1180. The monitor reads daemon d:1's pool at 1050, 1110, 1170, 1230
(0, 3, 5, 2 txs) and daemon d:2's at 1110 (1 tx), and blocks h11 [u1a], h12 [s1, h1a] (280 kB:
full), h13 [s2, s3, u1b]. The spammer (interval 30s) sends s1 @1100, s2 @1130, s3 @1160 and
fails once (-37) @1190: the flood is 100..160 (relative), rate 2 / 60 s. Spam to a block: s1 20,
s2 50, s3 20. User low (priority 1) pays u1a @1030 (before: 30 s, 1 block), u1b @1140 (during:
40 s, top then 12 → 1 block), u1c @1200 (after: in no block); user high (priority 3) pays h1a
@1110 (during: 10 s, 1 block).
"""
import json
from pathlib import Path

import pytest

from sim.report import build_report
from sim.report.export import export
from sim.report.flood import flood_brief, flood_figures, run_flood
from sim.report.load import read_run
from sim.report.metrics import build_metrics
from sim.report.summary import format_summary, summarize, tally_journals


def _write(run: Path, agent: str, records: list[dict]) -> None:
    path = run / "journals" / f"{agent}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps({"agent": agent, **r}) + "\n" for r in records))


def _started(role: str, t: float = 1000.0, **params) -> dict:
    return {"t": t, "event": "agent_started", "role": role, "tree": f"{role}.yaml", "seed": 1,
            "clock": "virtual", "params": params}


def _stopped(t: float = 1300.0) -> dict:
    return {"t": t, "event": "agent_stopped", "reason": "SIGTERM", "ticks": 9, "status": "RUNNING"}


def _pay(t: float, txid: str) -> dict:
    return {"t": t, "event": "payment_sent", "payment_id": txid * 4, "shop": "shop", "amount": 5,
            "fee": 1, "txid": txid}


def _block(t: float, height: int, hashes: list[str], weight: int = 4000, daemon: str = "d:1") -> dict:
    return {"t": t, "event": "block_read", "daemon": daemon, "height": height, "hash": f"b{height}",
            "txs": len(hashes), "weight": weight, "tx_hashes": hashes}


def _mempool(t: float, txs: int, daemon: str = "d:1") -> dict:
    return {"t": t, "event": "mempool_read", "daemon": daemon, "txs": txs, "bytes": 1500 * txs,
            "fees": 10 * txs, "height": 11}


def _spam(t: float, txid: str) -> dict:
    return {"t": t, "event": "spam_sent", "txid": txid, "amount": 100, "fee": 10, "weight": 1500,
            "priority": 1}


@pytest.fixture
def run(tmp_path) -> Path:
    run = tmp_path / "run"
    _write(run, "controller", [_started("controller"), {"t": 1001.0, "event": "bootstrap_mined",
                                                        "pool": "p0", "blocks": 10, "height": 10},
                               _stopped()])
    _write(run, "p0", [_started("pool")] + [
        {"t": t, "event": "block_mined", "seq": n, "blocks": 1, "height": h, "hash": f"b{h}"}
        for n, (t, h) in enumerate([(1060.0, 11), (1120.0, 12), (1180.0, 13)])] + [_stopped()])
    _write(run, "mon", [_started("monitor"), _mempool(1050.0, 0), _block(1065.0, 11, ["u1a"]),
                        _mempool(1110.0, 3), _mempool(1110.0, 1, daemon="d:2"),
                        _block(1125.0, 12, ["s1", "h1a"], weight=280_000),
                        _mempool(1170.0, 5), _block(1185.0, 13, ["s2", "s3", "u1b"]),
                        _mempool(1230.0, 2), _stopped()])
    _write(run, "spammer", [_started("spammer", interval="30s"), _spam(1100.0, "s1"),
                            _spam(1130.0, "s2"), _spam(1160.0, "s3"),
                            {"t": 1190.0, "event": "spam_failed", "amount": 100, "priority": 1,
                             "code": -37, "error": "NotEnoughUnlockedMoney"}, _stopped()])
    _write(run, "low", [_started("user", priority=1), _pay(1030.0, "u1a"), _pay(1140.0, "u1b"),
                        _pay(1200.0, "u1c"), _stopped()])
    _write(run, "high", [_started("user", priority=3), _pay(1110.0, "h1a"), _stopped()])
    return run


def figures(run: Path) -> dict:
    files = read_run(run)
    return flood_figures(files, tally_journals(files.journals), 1000.0)


def test_window_spam_and_its_blocks(run):
    flood = figures(run)
    assert flood["window"] == {"start": 100.0, "end": 160.0, "span": 60.0}
    spam = flood["spam"]
    assert {k: spam[k] for k in ("sent", "failed", "failure_codes", "mined", "unmined", "fees", "bytes")} == \
        {"sent": 3, "failed": 1, "failure_codes": {"-37": 1}, "mined": 3, "unmined": 0, "fees": 30,
         "bytes": 4500}
    assert (spam["to_mined"]["n"], spam["to_mined"]["median"], spam["to_mined"]["max"]) == (3, 20.0, 50.0)
    assert spam["agents"]["spammer"] == {"sent": 3, "failed": 1, "first": 100.0, "last": 160.0,
                                         "interval": 30.0, "rate": round(2 / 60, 4),
                                         "priorities": {"1": 3}, "fees": 30, "bytes": 4500}


def test_mempool_per_daemon_and_blocks(run):
    flood = figures(run)
    assert list(flood["mempool"]) == ["d:1", "d:2"]
    d1 = flood["mempool"]["d:1"]
    assert (d1["agents"], d1["reads"], d1["peak_txs"], d1["peak_bytes"], d1["peak_at"]) == \
        (["mon"], 4, 5, 7500, 170.0)
    assert d1["series"] == [[50.0, 0, 0, 11], [110.0, 3, 4500, 11], [170.0, 5, 7500, 11], [230.0, 2, 3000, 11]]
    blocks = flood["blocks"]
    assert [(b["height"], b["t"], b["txs"], b["spam"], b["full"]) for b in blocks["series"]] == \
        [(11, 60.0, 1, 0, False), (12, 120.0, 2, 1, True), (13, 180.0, 3, 2, False)]
    assert (blocks["read"], blocks["full"], blocks["full_by_phase"]) == (3, 1, {"during": 1})


def test_tiers_by_phase(run):
    flood = figures(run)
    low, high = flood["tiers"]["1"], flood["tiers"]["3"]
    assert (low["agents"], low["payments"], high["agents"], high["payments"]) == (["low"], 3, ["high"], 1)
    assert [(p, (s["to_block"] or {}).get("median"), (s["blocks"] or {}).get("max"), s["unmined"])
            for p, s in low["phases"].items()] == [("before", 30.0, 1, 0), ("during", 40.0, 1, 0),
                                                   ("after", None, None, 1)]
    assert high["phases"]["during"]["to_block"]["median"] == 10.0
    assert high["phases"]["before"]["to_block"] is None
    assert [(p["txid"], p["tier"], p["phase"], p["to_block"], p["blocks"]) for p in flood["payments"]] == \
        [("u1a", "1", "before", 30.0, 1), ("h1a", "3", "during", 10.0, 1),
         ("u1b", "1", "during", 40.0, 1), ("u1c", "1", "after", None, None)]


def test_summary_report_page_plots_and_export(run, tmp_path):
    summary = summarize(run)
    assert summary["flood"] == flood_brief(figures(run))
    assert "payments" not in summary["flood"] and "series" not in summary["flood"]["blocks"]
    text = format_summary(summary)
    assert "Flood: 3 spam sent from 1m40s to 2m40s (spammer 0.0333/s (set 0.0333/s)), 3 in blocks" in text
    assert "priority 1 (1 payers), median time to a block before / during / after: 30s / 40s / -" in text
    page = build_report(run)
    report = json.loads((page.parent / "report.json").read_text())
    assert report["flood"] == figures(run)
    assert {"flood_mempool", "flood_tiers"} <= set(report["plots"])
    assert (page.parent / "flood_tiers.svg").is_file()
    html = page.read_text()
    assert "<h2>Flood</h2>" in html and "priority 3" in html and "-37 ×1" in html
    written = {p.name: n for p, n in export(run, tmp_path / "export").items()}
    assert (written["mempool.csv"], written["spam.csv"], written["block_fill.csv"],
            written["fee_tiers.csv"]) == (5, 4, 3, 4)
    spam = (tmp_path / "export" / "spam.csv").read_text().splitlines()
    assert spam[1].startswith("spammer,sent,s1,1,100,10,1500,,,100.0,1100.0,12,20.0")


def test_a_run_without_flood_events_has_no_flood(tmp_path):
    run = tmp_path / "run"
    _write(run, "low", [_started("user", priority=1), _pay(1030.0, "u1a"), _stopped()])
    files = read_run(run)
    tally = tally_journals(files.journals)
    assert flood_figures(files, tally, 1000.0) is None and run_flood(run, tally) is None
    assert "flood" not in build_metrics(files) and "flood" not in summarize(run)


def test_spam_without_a_monitor_says_no_block_was_read(tmp_path):
    run = tmp_path / "run"
    _write(run, "spammer", [_started("spammer", interval="30s"), _spam(1100.0, "s1"),
                            _spam(1130.0, "s2"), _stopped()])
    summary = summarize(run)
    assert (summary["flood"]["spam"]["sent"], summary["flood"]["blocks"]["read"]) == (2, 0)
    assert "Flood: 2 spam sent from 1m40s to 2m10s (spammer 0.0333/s (set 0.0333/s)), no block read, 0 failed" \
        in format_summary(summary)
    assert "No block read (no monitor)" in build_report(run).read_text()
