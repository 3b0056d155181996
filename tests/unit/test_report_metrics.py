"""report.json's numbers on the hand-made run directories in tests/report_fixtures/.

run-local (a local run: run.json + scenario.yaml; origin = controller's agent_started at 100):
- blocks: heights 1-3 and 5-6 bootstrapped to pool-0, 4 to pool-1 (at 110-112). Pool blocks:
  pool-0 h7@121, h8@181, h9@302, h12@421; pool-1 h10-11@361 (2 blocks) → 4 + 2 = 6 on 6
  signals (1 late). Hashrate 30/10 → share .75/.25, expected 4.5/1.5, sd √(6·.75·.25) = 1.0607,
  z ∓0.4714; binomial P(k) for n=6, p=.75: k=5 (.3560) is the only likelier outcome than k=4,
  so p = 1 - .35596 = .6440 for both pools. Block intervals 60, 121, 59, 60 → mean 75.
- payments (sent, relative): a1 user-0→shop-0 1000 @110; a2 user-0→shop-1 2000 @150;
  b1 user-1→shop-0 1500 @120; b2 user-1→shop-1 2500 @170; b3 user-1→shop-1 700 @230;
  c1 user-2→shop-0 800 @195; c2 user-2→shop-1 600 @240. p03 failed (-37); p04 is an open order;
  user-2's last line (p23) is torn, user-1 has one corrupt line.
  a1 seen @115 (a second sighting @210 in block 9 is ignored), confirmed @320, height 9;
  a2 seen @155, confirmed @325, h9; b1 seen @125, confirmed @320, h9; b2 seen @180 only;
  b3 never seen → missing; c1 first seen already in block 9 @220 (750 instead of 800: amount
  mismatch), confirmed @330; c2 seen @250 as unknown → unmatched (and counted unknown).
  Block 9 was mined @202 → mined latency a1 92, a2 52, b1 82, c1 7.
  unknown: shop-0 z1 (unknown), shop-1 w1 (wrong_shop, p01 was not sent to shop-1), shop-1 c2.
  sent→seen 5,5,5,10,25,10; sent→mined 92,52,82,7; sent→confirmed 210,175,200,135.
- per minute (bins of 60 s from 100 to 600 → 9): sent = payments + funding txids (f1 f2 @30,
  f3 @35 → bin 0).
- errors: pool-1 rpc -9; shop-0 leaf_failed without code; user-0 rpc -37; user-1 rpc RpcTimeout.

run-shadow (journals/ + shared/ only, Shadow clock from 2000-01-01; origin = 946684860):
- pool-a mines h6@41, h7@101, h8@161; pool-b mines h7 again @105 (a fork). 3 + 1 of 4, 50/50
  → expected 2, sd 1, z ±1, p = (1+4+4+1)/16 = .625.
- q1 sent @102, seen already in block 7 @110, confirmed @170: block 7 was journaled @101
  (before the payment) and @105 → mined @105: latencies 8, 3, 68. A funding-like transfer t9
  with an all-zero payment id is unknown. user-b's journal is empty.
"""
from pathlib import Path

import pytest

from sim.report.load import read_run
from sim.report.metrics import binomial_check, build_metrics, latency_stats

FIXTURES = Path(__file__).resolve().parent.parent / "report_fixtures"
SHADOW_EPOCH = 946684800.0


@pytest.fixture(scope="module")
def local():
    return build_metrics(read_run(FIXTURES / "run-local"))


@pytest.fixture(scope="module")
def shadow():
    return build_metrics(read_run(FIXTURES / "run-shadow"))


def test_run_and_journals(local):
    run = dict(local["run"])
    assert run.pop("dir").endswith("run-local")
    assert run == {"kind": "local", "name": "fixture",
                   "description": "Hand-made: 2 pools, 2 marketplaces, 3 users.", "seed": 5,
                   "status": "stopped", "duration": 450.0, "drain": 50.0, "time_scale": 10.0, "clock": None, "max_speed": None,
                   "shadow": None,
                   "height": 12, "origin": 100.0, "span": 500.0, "agents": 8,
                   "roles": {"controller": 1, "marketplace": 2, "pool": 2, "user": 3},
                   "files": {"run.json": True, "summary.json": False, "scenario.yaml": True}}
    assert local["journals"] == {"files": 8, "records": 71, "corrupt": {"user-1": 1},
                                 "corrupt_total": 1, "torn": ["user-2"]}
    assert local["schema"] == 1


def test_latencies(local):
    tx = local["transactions"]
    assert (tx["sent"], tx["payments"], tx["funding"]) == (10, 7, 3)
    assert tx["latency"] == {
        "sent_to_seen": {"n": 6, "min": 5.0, "mean": 10.0, "median": 7.5, "p90": 25.0, "max": 25.0},
        "sent_to_mined": {"n": 4, "min": 7.0, "mean": 58.25, "median": 67.0, "p90": 92.0, "max": 92.0},
        "sent_to_confirmed": {"n": 4, "min": 135.0, "mean": 180.0, "median": 187.5, "p90": 210.0,
                              "max": 210.0}}
    by_tx = {i["txid"]: (i["outcome"], i["height"], i["sent"], i["seen"], i["mined"], i["confirmed"])
             for i in tx["items"]}
    assert by_tx == {"a1": ("matched", 9, 110.0, 115.0, 202.0, 320.0),
                     "a2": ("matched", 9, 150.0, 155.0, 202.0, 325.0),
                     "b1": ("matched", 9, 120.0, 125.0, 202.0, 320.0),
                     "b2": ("matched", None, 170.0, 180.0, None, None),
                     "b3": ("missing", None, 230.0, None, None, None),
                     "c1": ("mismatched", 9, 195.0, 220.0, 202.0, 330.0),
                     "c2": ("unmatched", None, 240.0, 250.0, None, None)}


def test_transactions_per_minute(local):
    assert local["transactions"]["per_minute"] == {
        "minutes": 9, "sent": [3, 1, 3, 2, 1, 0, 0, 0, 0], "payments": [0, 1, 3, 2, 1, 0, 0, 0, 0],
        "seen": [0, 1, 2, 2, 1, 0, 0, 0, 0], "mined": [0, 0, 0, 4, 0, 0, 0, 0, 0],
        "confirmed": [0, 0, 0, 0, 0, 4, 0, 0, 0], "blocks": [1, 1, 0, 1, 2, 1, 0, 0, 0],
        "mean_sent": 1.1111, "peak_sent": 3}


def test_payments(local):
    p = local["payments"]
    assert {k: p[k] for k in ("orders", "sent", "failed", "seen", "confirmed", "matched", "mismatched",
                              "missing", "unknown", "unmatched", "orders_open", "seen_records",
                              "confirmed_records", "failure_codes")} == {
        "orders": 9, "sent": 7, "failed": 1, "seen": 6, "confirmed": 4, "matched": 4, "mismatched": 1,
        "missing": 1, "unknown": 3, "unmatched": 1, "orders_open": 1, "seen_records": 8,
        "confirmed_records": 4, "failure_codes": {"-37": 1}}
    assert p["shops"] == {
        "shop-0": {"sent": 3, "matched": 2, "mismatched": 1, "missing": 0, "unmatched": 0, "unknown": 1,
                   "seen_records": 4, "confirmed_records": 3, "received": 3300, "matched_amount": 2500},
        "shop-1": {"sent": 4, "matched": 2, "mismatched": 0, "missing": 1, "unmatched": 1, "unknown": 2,
                   "seen_records": 4, "confirmed_records": 1, "received": 6099, "matched_amount": 4500}}
    assert [(m["txid"], m["amount"], m["seen_amount"]) for m in p["mismatches"]] == [("c1", 800, 750)]
    assert [m["txid"] for m in p["missing_items"]] == ["b3"]
    assert [(u["shop"], u["txid"], u["status"], u["seen"]) for u in p["unknown_items"]] == [
        ("shop-0", "z1", "unknown", 230.0), ("shop-1", "w1", "wrong_shop", 190.0),
        ("shop-1", "c2", "unknown", 250.0)]


def test_blocks(local):
    b = local["blocks"]
    assert {k: b[k] for k in ("total", "bootstrap", "signals", "late", "interval", "first", "last")} == {
        "total": 6, "bootstrap": 6, "signals": 6, "late": 1, "interval": 75.0, "first": 21.0, "last": 321.0}
    pool0, pool1 = b["pools"]["pool-0"], b["pools"]["pool-1"]
    assert {k: pool0[k] for k in ("hashrate", "share", "blocks", "expected", "bootstrap", "sd", "z",
                                  "p_value", "plausible")} == {
        "hashrate": 30.0, "share": 0.75, "blocks": 4, "expected": 4.5, "bootstrap": 5, "sd": 1.0607,
        "z": -0.4714, "p_value": 0.644, "plausible": True}
    assert (pool1["blocks"], pool1["expected"], pool1["z"], pool1["p_value"], pool1["bootstrap"]) == \
        (2, 1.5, 0.4714, 0.644, 1)
    assert pool0["actual_share"] == pytest.approx(2 / 3)
    assert pool0["comment"] == "z = -0.47, binomial p = 0.644: plausible by chance"


def test_errors(local):
    e = local["errors"]
    assert {k: e[k] for k in ("total", "leaf_failed", "rpc_failed", "by_code", "payment_failures")} == {
        "total": 4, "leaf_failed": 1, "rpc_failed": 3,
        "by_code": {"-37": 1, "-9": 1, "RpcTimeout": 1}, "payment_failures": {"-37": 1}}
    assert {a: (r["leaf_failed"], r["rpc_failed"], r["codes"]) for a, r in e["by_agent"].items()} == {
        "pool-1": (0, 1, {"-9": 1}), "shop-0": (1, 0, {}), "user-0": (0, 1, {"-37": 1}),
        "user-1": (0, 1, {"RpcTimeout": 1})}
    assert e["by_agent"]["shop-0"]["last_error"] == "check: wallet busy"


def test_agents_and_problems(local):
    agents = local["agents"]
    assert list(agents) == ["controller", "pool-0", "pool-1", "shop-0", "shop-1", "user-0", "user-1",
                            "user-2"]
    assert agents["user-1"] == {
        "role": "user", "tree": "user.yaml", "ticks": 31, "status": "RUNNING", "started": True,
        "stopped": True, "stop_reason": "SIGTERM", "outcome": "ok", "start": 0.7, "stop": 490.0,
        "last": 490.0, "records": 10, "payments_sent": 3, "payments_failed": 0, "payments_seen": 0,
        "blocks": 0, "errors": 1, "corrupt_lines": 1}
    assert (agents["user-0"]["payments_sent"], agents["user-0"]["payments_failed"]) == (2, 1)
    assert (agents["shop-0"]["payments_seen"], agents["pool-1"]["blocks"]) == (4, 2)
    assert (agents["user-2"]["stop"], agents["user-2"]["last"], agents["user-2"]["outcome"]) == \
        (None, 240.0, "killed")
    assert local["problems"][:2] == ["user-2: did not stop within 10 s of SIGTERM; killed",
                                     "user-2: never journaled agent_stopped"]
    assert local["verdict"]["verdict"] == "failed"
    assert local["payments"]["in_flight"] == {"missing": 1, "unconfirmed": 1}
    assert "1 of 6 payments seen were not confirmed by the end (and 1 sent in the last 5 min " \
           "before their payee stopped)" in local["problems"]


def test_shadow_directory(shadow):
    run = shadow["run"]
    assert (run["kind"], run["name"], run["seed"], run["time_scale"], run["status"]) == \
        ("journals", "run-shadow", None, None, None)
    assert run["files"] == {"run.json": False, "summary.json": False, "scenario.yaml": False}
    assert (run["origin"], run["span"], run["height"], run["agents"]) == \
        (SHADOW_EPOCH + 60, 340.0, 8, 6)
    lat = shadow["transactions"]["latency"]
    assert [lat[k]["median"] for k in ("sent_to_seen", "sent_to_mined", "sent_to_confirmed")] == \
        [8.0, 3.0, 68.0]
    assert shadow["transactions"]["per_minute"]["blocks"] == [1, 2, 1, 0, 0, 0]
    pools = shadow["blocks"]["pools"]
    assert [(p["blocks"], p["expected"], p["sd"], p["z"], p["p_value"]) for p in pools.values()] == \
        [(3, 2.0, 1.0, 1.0, 0.625), (1, 2.0, 1.0, -1.0, 0.625)]
    assert shadow["blocks"]["interval"] == 40.0
    p = shadow["payments"]
    assert (p["sent"], p["matched"], p["unknown"], p["missing"], p["mismatched"]) == (1, 1, 1, 0, 0)
    assert shadow["agents"]["user-b"]["records"] == 0
    assert shadow["problems"][-2:] == ["user-b: never journaled agent_started",
                                       "shops saw 1 payment that no order accounts for"]


def test_binomial_check():
    assert binomial_check(10, 10, 0.5) == {
        "sd": 1.5811, "z": 3.1623, "p_value": 0.002, "plausible": False,
        "comment": "z = +3.16, binomial p = 0.002: unlikely by chance (p < 0.05)"}
    assert binomial_check(0, 0, 0.5)["comment"] == "no blocks to compare"
    assert binomial_check(3, 5, None)["comment"] == "hashrate unknown"
    assert binomial_check(5, 5, 1.0) == {"sd": 0.0, "z": None, "p_value": 1.0, "plausible": True,
                                         "comment": "hashrate share 100%: exactly 5 expected"}
    assert binomial_check(1, 5, 0.0)["plausible"] is False


def test_latency_stats():
    assert latency_stats([]) is None
    assert latency_stats([3.0]) == {"n": 1, "min": 3.0, "mean": 3.0, "median": 3.0, "p90": 3.0, "max": 3.0}
    assert latency_stats(list(range(1, 21)))["p90"] == 18      # nearest rank: ceil(0.9 * 20) = 18th


def test_empty_run(tmp_path):
    (tmp_path / "journals").mkdir()
    report = build_metrics(read_run(tmp_path))
    assert report["run"]["agents"] == 0 and report["run"]["span"] == 0.0
    assert report["transactions"]["latency"] == dict.fromkeys(("sent_to_seen", "sent_to_mined",
                                                               "sent_to_confirmed"))
    assert report["transactions"]["per_minute"]["minutes"] == 1
    assert report["blocks"]["pools"] == {} and report["errors"]["total"] == 0
