"""`monerosim compare` on a hand-made sweep: known figures per run, so known means and intervals.

Two points of three seeds each. Point users=2: 2, 4, 6 payments (mean 4, s = 2, 95 % t-interval
4 ± t(0.975, 2) · 2/√3 = 4 ± 4.9683), each confirmed 10, 20, 30 s after it was sent (median
latency: mean 20 ± 24.8415). Point users=5: 5 payments in every seed (interval [5, 5]); seed 3
of it failed, so it is listed and left out (n = 2).
"""
from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pytest

from sim.compare import compare
from sim.compare.stats import cdf_band, interval

T_975_2 = 4.302652729911275        # Student's t, 0.975 quantile, 2 degrees of freedom (tables)
T_975_1 = 12.706204736174704


def _journal(path: Path, agent: str, role: str, records: list[dict], end: float = 500.0) -> None:
    lines = [{"t": 100.0, "event": "agent_started", "agent": agent, "role": role, "seed": 1,
              "tree": f"/t/{role}.yaml", "clock": "lockstep", "params": {}}, *records,
             {"t": end, "event": "agent_stopped", "agent": agent, "reason": "SIGTERM", "ticks": 9,
              "status": "RUNNING"}]
    path.write_text("".join(json.dumps({"agent": agent, **r}) + "\n" for r in lines))


def _run(run_dir: Path, seed: int, payments: int, confirm_after: float) -> None:
    journals = run_dir / "journals"
    journals.mkdir(parents=True)
    sent, seen = [], []
    for i in range(payments):
        t = 200.0 + 10 * i
        pay = {"payment_id": f"p{i}", "shop": "shop-0", "amount": 1000, "txid": f"tx{i}"}
        sent += [{"t": t - 1, "event": "order_placed", **{k: pay[k] for k in ("payment_id", "shop", "amount")}},
                 {"t": t, "event": "payment_sent", "fee": 10, **pay}]
        row = {"txid": f"tx{i}", "payment_id": f"p{i}", "amount": 1000, "user": "user-0"}
        seen += [{"t": t + 1, "event": "payment_seen", "status": "matched", "height": 0, **row},
                 {"t": t + confirm_after, "event": "payment_confirmed", "confirmations": 1, "height": 3, **row}]
    _journal(journals / "user-0.jsonl", "user-0", "user", sent)
    _journal(journals / "shop-0.jsonl", "shop-0", "marketplace", sorted(seen, key=lambda r: r["t"]))
    _journal(journals / "pool-0.jsonl", "pool-0", "pool",
             [{"t": 150.0 + 60 * k, "event": "block_mined", "seq": k + 1, "blocks": 1, "height": k + 1,
               "hash": f"b{k}"} for k in range(5)])
    (run_dir / "run.json").write_text(json.dumps({"scenario": "fixture", "seed": seed}))


@pytest.fixture(scope="module")
def sweep(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("sweep")
    points = []
    for users, runs in ((2, [(1, 2, 10.0), (2, 4, 20.0), (3, 6, 30.0)]),
                        (5, [(1, 5, 10.0), (2, 5, 10.0), (3, 5, 99.0)])):
        for seed, payments, after in runs:
            name = f"users={users},seed={seed}"
            _run(root / "runs" / name, seed, payments, after)
            verdict = "failed" if (users, seed) == (5, 3) else "ok"
            (root / "points").mkdir(exist_ok=True)
            (root / "points" / f"{name}.json").write_text(json.dumps(
                {"name": name, "final": True, "verdict": verdict, "exit_code": 0 if verdict == "ok" else 1}))
            points.append({"name": name, "seed": seed, "values": {"users": users}})
    (root / "sweep.json").write_text(json.dumps({"schema": 1, "points": points}))
    compare([root], root / "compare")
    return root


def _intervals(sweep: Path) -> dict:
    with open(sweep / "compare" / "intervals.csv") as f:
        return {(r["point"], r["figure"]): r for r in csv.DictReader(f)}


def test_payments_interval(sweep):
    row = _intervals(sweep)[("users=2", "payments.sent")]
    half = T_975_2 * 2 / math.sqrt(3)
    assert int(row["n"]) == 3 and float(row["mean"]) == pytest.approx(4.0)
    assert float(row["sd"]) == pytest.approx(2.0)
    assert float(row["low"]) == pytest.approx(4 - half) and float(row["high"]) == pytest.approx(4 + half)


def test_latency_interval(sweep):
    row = _intervals(sweep)[("users=2", "latency.sent_to_confirmed.median")]
    half = T_975_2 * 10 / math.sqrt(3)
    assert float(row["mean"]) == pytest.approx(20.0)
    assert (float(row["low"]), float(row["high"])) == (pytest.approx(20 - half), pytest.approx(20 + half))


def test_failed_run_left_out(sweep):
    rows = _intervals(sweep)
    sent = rows[("users=5", "payments.sent")]
    assert (int(sent["runs"]), int(sent["counted"]), int(sent["n"])) == (3, 2, 2)
    assert (float(sent["mean"]), float(sent["low"]), float(sent["high"])) == (5.0, 5.0, 5.0)
    latency = rows[("users=5", "latency.sent_to_confirmed.median")]
    assert float(latency["mean"]) == pytest.approx(10.0)        # the failed seed's 99 s is not in it
    page = (sweep / "compare" / "compare.html").read_text()
    assert "Runs left out" in page and "users=5,seed=3" in page


def test_every_run_in_figures_csv(sweep):
    with open(sweep / "compare" / "figures.csv") as f:
        sent = [r for r in csv.DictReader(f) if r["figure"] == "payments.sent"]
    assert sorted((r["point"], r["seed"], float(r["value"]), r["verdict"]) for r in sent) == [
        ("users=2", "1", 2.0, "ok"), ("users=2", "2", 4.0, "ok"), ("users=2", "3", 6.0, "ok"),
        ("users=5", "1", 5.0, "ok"), ("users=5", "2", 5.0, "ok"), ("users=5", "3", 5.0, "failed")]
    assert (sweep / "compare" / "cdf-sent_to_confirmed.png").stat().st_size > 1000


def test_interval_by_hand():
    assert interval([]).mean is None and interval([3.0]).low is None
    two = interval([1.0, 3.0])
    assert (two.mean, two.sd) == (2.0, pytest.approx(math.sqrt(2)))
    assert two.high - two.mean == pytest.approx(T_975_1 * math.sqrt(2) / math.sqrt(2))


def test_cdf_band_by_hand():
    import numpy as np
    grid = np.array([0.0, 1.0, 2.0, 3.0])
    mean, low, high = cdf_band([[1.0, 2.0], [2.0, 3.0], [1.0, 1.0]], grid)
    # at x = 1: 1/2, 0, 1 -> mean 1/2, s = 1/2; at x = 3 every run is at 1: no spread
    assert mean.tolist() == pytest.approx([0.0, 0.5, 2.5 / 3, 1.0])
    assert high[1] == pytest.approx(min(1.0, 0.5 + T_975_2 * 0.5 / math.sqrt(3)))
    assert low[1] == 0.0 and low[3] == high[3] == 1.0


def test_lone_runs_group_by_their_overrides_and_bring_their_sections(tmp_path):
    """Run directories given one by one: runs of one scenario with the same --param values (the
    seed aside) are one point; a research section's numbers come along (spies here)."""
    import shutil
    fixtures = Path(__file__).resolve().parents[1] / "report_fixtures"
    for seed in (1, 2):
        run = tmp_path / f"local-{seed}"
        shutil.copytree(fixtures / "run-local", run)
        record = json.loads((run / "run.json").read_text())
        (run / "run.json").write_text(json.dumps({**record, "overrides": {"seed": seed, "user.count": 3}}))
    page = compare([tmp_path / "local-1", tmp_path / "local-2", fixtures / "run-spies"], tmp_path / "cmp")
    with open(tmp_path / "cmp" / "intervals.csv") as f:
        points = {r["point"] for r in csv.DictReader(f)}
    assert points == {"fixture: user.count=3", "spies-fixture"}
    with open(tmp_path / "cmp" / "figures.csv") as f:
        rows = list(csv.DictReader(f))
    sent = [(r["seed"], r["value"]) for r in rows if r["point"] == "fixture: user.count=3"
            and r["figure"] == "payments.sent"]
    assert sent == [("5", "7"), ("5", "7")]      # the fixture's 7 payments, twice (its run.json: seed 5)
    accuracy = [float(r["value"]) for r in rows if r["figure"] == "spies.accuracy"]
    assert len(accuracy) == 1 and 0 <= accuracy[0] <= 1
    assert "<h2 style='display:inline'>spies</h2>" in page.read_text()
