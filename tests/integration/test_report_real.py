"""`monerosim report` on a real run: tests/report_fixtures/tiny-real.yaml (≈1 minute; the
`reported` fixture in conftest.py, shared with test_report_replay.py).

Every number checked here is recomputed straight from the journals, independently of
sim.report.summary / sim.report.
"""
from __future__ import annotations

import collections
import json
import re
import statistics
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def monerosim(*args: str, timeout: float) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sim.cli", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT)


def events(records: list[dict], name: str) -> list[dict]:
    return [r for r in records if r["event"] == name]


def test_run_agents_and_origin(reported):
    run_dir, report, agents = reported
    assert report["run"]["kind"] == "local" and report["run"]["name"] == "tiny-real"
    assert sorted(report["agents"]) == sorted(agents) == ["controller", "pool", "shop", "user-0", "user-1"]
    origin = min(r[0]["t"] for r in agents.values())
    assert report["run"]["origin"] == origin
    assert report["run"]["span"] == pytest.approx(max(r[-1]["t"] for r in agents.values()) - origin, abs=1e-3)
    for agent, records in agents.items():
        row = report["agents"][agent]
        assert row["role"] == records[0]["role"] and row["records"] == len(records)
        assert row["ticks"] == records[-1]["ticks"]
    assert report["problems"] == [] and report["journals"]["corrupt_total"] == 0


def test_payments_agree_with_journals(reported):
    _run, report, agents = reported
    sent = {e["txid"]: e for u in ("user-0", "user-1") for e in events(agents[u], "payment_sent")}
    seen = {e["txid"]: e for e in events(agents["shop"], "payment_seen")}
    assert len(sent) >= 1, "no payment in the real run"
    p = report["payments"]
    assert (p["sent"], p["matched"], p["missing"], p["mismatched"], p["unknown"]) == \
        (len(sent), sum(seen[t]["status"] == "matched" for t in sent if t in seen),
         sum(t not in seen for t in sent), 0, sum(t not in sent for t in seen))
    assert p["shops"]["shop"]["received"] == sum(e["amount"] for e in seen.values())
    assert sum(report["transactions"]["per_minute"]["payments"]) == len(sent)


def test_latencies_agree_with_journals(reported):
    _run, report, agents = reported
    block_at = {e["height"]: e["t"] for e in events(agents["pool"], "block_mined")}
    seen = {e["txid"]: e for e in events(agents["shop"], "payment_seen")}
    confirmed = {e["txid"]: e for e in events(agents["shop"], "payment_confirmed")}
    expected = collections.defaultdict(list)
    for user in ("user-0", "user-1"):
        for e in events(agents[user], "payment_sent"):
            if e["txid"] in seen:
                expected["sent_to_seen"].append(seen[e["txid"]]["t"] - e["t"])
            if e["txid"] in confirmed:
                expected["sent_to_confirmed"].append(confirmed[e["txid"]]["t"] - e["t"])
                if confirmed[e["txid"]]["height"] in block_at:
                    expected["sent_to_mined"].append(block_at[confirmed[e["txid"]]["height"]] - e["t"])
    for name, values in expected.items():
        stats = report["transactions"]["latency"][name]
        assert stats["n"] == len(values), name
        assert stats["median"] == pytest.approx(statistics.median(values), abs=2e-3), name
        assert stats["max"] == pytest.approx(max(values), abs=2e-3), name
        assert stats["min"] >= 0, name


def test_blocks_and_errors_agree_with_journals(reported):
    _run, report, agents = reported
    mined = sum(e["blocks"] for e in events(agents["pool"], "block_mined"))
    pool = report["blocks"]["pools"]["pool"]
    assert (report["blocks"]["total"], pool["blocks"], pool["share"], pool["plausible"]) == \
        (mined, mined, 1.0, True)
    assert report["blocks"]["signals"] == len(events(agents["controller"], "signal_issued"))
    assert report["blocks"]["bootstrap"] == sum(e["blocks"] for e in events(agents["controller"],
                                                                           "bootstrap_mined"))
    errors = sum(len(events(r, "rpc_failed")) + len(events(r, "leaf_failed")) for r in agents.values())
    assert report["errors"]["total"] == errors


def test_page_and_plots(reported):
    run_dir, report, _agents = reported
    out = run_dir / "report"
    for files in report["plots"].values():
        assert (out / files["png"]).read_bytes().startswith(b"\x89PNG")
        assert (out / files["svg"]).stat().st_size > 10_000
    html = (out / "report.html").read_text()
    assert not re.search(r"https?://", html)
    assert f"<b>{report['payments']['matched']}/{report['payments']['sent']}</b>" in html


def test_the_clean_run_says_ok(reported):
    run_dir, report, agents = reported
    assert report["verdict"]["verdict"] == "ok", report["verdict"]
    assert json.loads((run_dir / "run.json").read_text())["verdict"] == "ok"


def test_a_degraded_report_shows_amber_at_the_top(reported, tmp_path):
    """The same real run judged against a raised expectation (each user pays 1000 times):
    every user paid, fewer times than expected, so degraded, not failed."""
    import shutil

    import yaml

    from tests.integration.test_verdict_runs import rendered

    run_dir, _, agents = reported
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy, ignore=shutil.ignore_patterns("report", "*.sock"))
    scenario = yaml.safe_load((copy / "scenario.yaml").read_text())
    scenario["expect"] = {"payments": {"user": 1000}}
    (copy / "scenario.yaml").write_text(yaml.safe_dump(scenario))
    done = monerosim("report", str(copy), timeout=300)
    assert done.returncode == 0, done.stderr
    report = json.loads((copy / "report" / "report.json").read_text())
    assert report["verdict"]["verdict"] == "degraded", report["verdict"]
    dom = rendered(Path(done.stdout.strip()), tmp_path / "profile")
    main = dom[dom.index("<main>"):]
    assert main.index('id="verdict"') < main.index("<h2>Blocks per pool</h2>")
    assert 'class="verdict degraded"' in main and "Verdict: DEGRADED" in main
    assert "degraded: 2 of 2 users paid fewer than 1000 times (user-0, user-1)" in main


def test_steady_state_starts_when_every_user_is_funded(reported):
    """Recomputed from the journals: funding ends with the last user's `funded`; the steady
    figures count the payments sent in whole minutes from then to the end of `duration`."""
    run_dir, report, agents = reported
    origin = report["run"]["origin"]
    steady = report["steady"]
    funded = max(events(agents[u], "funded")[0]["t"] for u in ("user-0", "user-1")) - origin
    phases = steady["phases"]
    assert phases["wallets"] <= phases["bootstrap"] <= phases["funding"] == pytest.approx(funded)
    assert steady["from"] == phases["funding"]
    first = int(funded // 60) + 1
    last = int(json.loads((run_dir / "run.json").read_text())["duration"] // 60)
    sent = [r["t"] - origin for u in ("user-0", "user-1") for r in events(agents[u], "payment_sent")]
    assert steady["payments"] == sum(1 for t in sent if first * 60 <= t < last * 60)
    assert steady["minutes"] == last - first
    assert steady["per_minute"] > report["transactions"]["per_minute"]["mean_sent"]
