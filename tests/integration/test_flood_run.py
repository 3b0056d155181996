"""A whole flood run at a small size (tests/sim_fixtures/scenarios/flood-small.yaml): a spammer
funded by flood pools, users at fee priority 1 and 3, a monitor, one real regtest daemon.

Checks the mechanics, not the effect (its blocks stay far from full; scenarios/flood.yaml and
bench/flood_bench.py show the effect): the monitor's reads come every `every` of simulated time,
the spam at exactly its `interval` for its `duration`, every spam transaction lands in a block
read, and the report's tier table equals what the journals give when recomputed here. All times
are simulated (lockstep), so nothing depends on the machine's speed.
"""
from __future__ import annotations

import json
import statistics
from pathlib import Path

import pytest

from sim.report import build_report
from tests.integration.test_scenarios import events, journals, run_scenario

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = ROOT / "tests" / "sim_fixtures" / "scenarios" / "flood-small.yaml"
EVERY, INTERVAL, DURATION, START = 5.0, 2.0, 60.0, 240.0     # as the scenario sets them


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("flood") / "run"
    done = run_scenario(SCENARIO, out)
    assert done.returncode == 0, done.stdout + done.stderr
    page = build_report(out)
    return out, journals(out), json.loads((page.parent / "report.json").read_text())


def test_the_run_is_ok_and_every_agent_did_its_part(run):
    run_dir, agents, report = run
    assert report["verdict"]["verdict"] == "ok", report["verdict"]
    assert set(agents) == {"monitor", "controller", "pool-0", "pool-1", "shop", "low", "high", "spammer"}
    funded = [p for pool in ("pool-0", "pool-1") for e in events(agents[pool], "peers_funded")
              for p in e["peers"]]
    assert funded.count("spammer") == 4                       # 2 rounds by each pool
    assert sorted(p for p in funded if p != "spammer") == ["high", "low"]
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["flood"]["spam"]["sent"] == report["flood"]["spam"]["sent"]


def test_the_monitor_reads_the_pool_every_interval_of_simulated_time(run):
    _, agents, report = run
    reads = events(agents["monitor"], "mempool_read")
    times = [r["t"] for r in reads]
    assert len(reads) >= 80
    assert {round(b - a, 6) for a, b in zip(times, times[1:])} == {EVERY}
    assert len({r["daemon"] for r in reads}) == 1
    heights = [r["height"] for r in reads]
    assert heights == sorted(heights) and heights[-1] > 150
    flood = report["flood"]
    start, end = (flood["window"][k] + report["run"]["origin"] for k in ("start", "end"))
    assert max(r["txs"] for r in reads if start <= r["t"] <= end + EVERY) > 0
    assert all(r["txs"] >= 0 and (r["txs"] == 0) == (r["bytes"] == 0) for r in reads)
    (daemon, row), = flood["mempool"].items()
    assert (daemon, row["agents"], row["reads"]) == (reads[0]["daemon"], ["monitor"], len(reads))
    assert row["peak_txs"] == max(r["txs"] for r in reads)


def test_spam_goes_out_at_its_interval_for_its_duration_and_all_lands_in_blocks(run):
    _, agents, report = run
    sent = events(agents["spammer"], "spam_sent")
    times = [s["t"] for s in sent]
    assert {round(b - a, 6) for a, b in zip(times, times[1:])} == {INTERVAL}
    assert len(sent) == DURATION / INTERVAL + 1                # both ends of the minute
    assert times[0] - agents["spammer"][0]["t"] >= START
    assert not events(agents["spammer"], "spam_failed")
    assert {s["priority"] for s in sent} == {1}
    read = {h: b["height"] for b in events(agents["monitor"], "block_read") for h in b["tx_hashes"]}
    assert all(s["txid"] in read for s in sent)
    spam = report["flood"]["spam"]
    assert (spam["sent"], spam["mined"], spam["unmined"], spam["failed"]) == (len(sent), len(sent), 0, 0)
    assert spam["agents"]["spammer"]["rate"] == spam["agents"]["spammer"]["interval"] ** -1 == 1 / INTERVAL
    assert spam["fees"] == sum(s["fee"] for s in sent)


def _recomputed_tiers(agents: dict, origin: float, window: dict) -> dict:
    """Per (priority, phase): every payment's time to its block, from the journals alone."""
    priority = {a: r[0]["params"].get("priority") for a, r in agents.items()}
    holding = {h: b["height"] for b in events(agents["monitor"], "block_read") for h in b["tx_hashes"]}
    mined = {}
    for pool in ("pool-0", "pool-1"):
        for b in events(agents[pool], "block_mined"):
            mined.setdefault(b["height"], []).append(b["t"])
    found: dict = {}
    for user in ("low", "high"):
        for p in events(agents[user], "payment_sent"):
            at = p["t"] - origin
            phase = "before" if at < window["start"] else "during" if at <= window["end"] else "after"
            came = min(t for t in mined[holding[p["txid"]]] if t >= p["t"])
            found.setdefault((str(priority[user]), phase), []).append(came - p["t"])
    return found


def test_the_tier_table_is_what_the_journals_say(run):
    _, agents, report = run
    flood = report["flood"]
    tiers = flood["tiers"]
    assert set(tiers) == {"1", "3"}
    assert (tiers["1"]["agents"], tiers["3"]["agents"]) == (["low"], ["high"])
    recomputed = _recomputed_tiers(agents, report["run"]["origin"], flood["window"])
    assert sum(len(v) for v in recomputed.values()) == len(flood["payments"]) >= 6
    assert any(phase == "during" for _tier, phase in recomputed)
    for tier, row in tiers.items():
        assert row["payments"] == sum(len(v) for (t, _p), v in recomputed.items() if t == tier)
        for phase, stats in row["phases"].items():
            waits = recomputed.get((tier, phase), [])
            assert stats["unmined"] == 0
            if not waits:
                assert stats["to_block"] is None
                continue
            assert stats["to_block"]["n"] == len(waits)
            assert stats["to_block"]["median"] == pytest.approx(statistics.median(waits), abs=1e-3)
            assert stats["to_block"]["max"] == pytest.approx(max(waits), abs=1e-3)
            assert stats["blocks"]["max"] <= 3          # blocks far from full: the next one or so


def test_the_page_and_the_export_have_the_flood(run, tmp_path):
    run_dir, _agents, report = run
    page = (run_dir / "report" / "report.html").read_text()
    assert "<h2>Flood</h2>" in page and "Time to a block by fee tier" in page
    assert {"flood_mempool", "flood_tiers"} <= set(report["plots"])
    from sim.report.export import export
    written = {path.name: rows for path, rows in export(run_dir, tmp_path / "export").items()}
    assert written["spam.csv"] == report["flood"]["spam"]["sent"]
    assert written["mempool.csv"] == report["flood"]["mempool"][next(iter(report["flood"]["mempool"]))]["reads"]
    assert written["fee_tiers.csv"] == len(report["flood"]["payments"])
    assert written["block_fill.csv"] == report["flood"]["blocks"]["read"]
