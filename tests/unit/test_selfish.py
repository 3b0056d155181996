"""Selfish mining without daemons: the theory and the test the report uses, the section's
counting on a run directory written by hand, the signal acknowledgement file, and a scenario
whose tree needs a private daemon its group does not ask for (refused, exit 2)."""
from __future__ import annotations

import json
import math
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

import ipc
from sim.report.selfish import binomial_tail, expected_revenue, replay_classic, selfish_mining
from sim.report.summary import load_run

ROOT = Path(__file__).resolve().parents[2]


# ------------------------------------------------------------------ theory and test

@pytest.mark.parametrize("alpha, share", [(0.1, 0.0356), (0.25, 0.1951), (0.4, 0.4837), (0.45, 0.6518)])
def test_eyal_sirer_revenue_with_gamma_zero(alpha, share):
    assert expected_revenue(alpha) == pytest.approx(share, abs=5e-5)


def _classic(finders: list[bool]) -> tuple[int, int]:
    """The classic strategy as trees/selfish-pool.yaml plays it (gamma 0), block by block
    (True: the selfish pool found it): the selfish and the honest blocks that end in the main
    chain once every race is settled."""
    private = public = ours = theirs = 0        # branch lengths since the fork; main-chain blocks
    for selfish in finders:
        if selfish:
            private += 1
            if private - public == 1 and public:            # a tie won: publish all
                ours, private, public = ours + private, 0, 0
        else:
            public += 1
            if private < public:                            # behind: adopt
                theirs, private, public = theirs + public, 0, 0
            elif private - public == 1 and public:          # close: publish all, win
                ours, private, public = ours + private, 0, 0
    return ours, theirs


@pytest.mark.parametrize("alpha", [0.1, 0.4])
def test_the_formula_is_what_the_strategy_earns(alpha):
    rng = random.Random(7)
    ours, theirs = _classic([rng.random() < alpha for _ in range(200_000)])
    assert ours / (ours + theirs) == pytest.approx(expected_revenue(alpha), abs=0.01)


def test_the_reports_replay_plays_the_same_strategy():
    rng = random.Random(11)
    for _ in range(200):
        finders = [rng.random() < 0.45 for _ in range(rng.randrange(1, 80))]
        replay = replay_classic(finders)
        ours, theirs = _classic(finders)
        assert (replay["main"], replay["honest"] - replay["open"]["public"]) == (ours, theirs)
        orphaned_honest = sum(int(depth) * times for depth, times in replay["reorgs"].items())
        assert orphaned_honest == finders.count(False) - replay["honest"]     # a reorg replaces honest blocks
    assert replay_classic([True, True, False]) == {"main": 2, "honest": 0, "n": 2, "share": 1.0,
                                                   "reorgs": {"1": 1}, "open": {"private": 0, "public": 0}}
    assert replay_classic([True, False, False])["reorgs"] == {} and replay_classic([False])["honest"] == 1


def test_the_profit_threshold_is_a_third_with_gamma_zero_and_zero_with_gamma_one():
    assert expected_revenue(1 / 3) == pytest.approx(1 / 3)
    assert expected_revenue(0.3) < 0.3 < 0.35 < expected_revenue(0.35)
    assert all(expected_revenue(a, gamma=1.0) > a for a in (0.05, 0.1, 0.3))


def _brute(k: int, n: int, p: float, above: bool) -> float:
    pmf = [math.comb(n, i) * p ** i * (1 - p) ** (n - i) for i in range(n + 1)]
    return sum(pmf[k:]) if above else sum(pmf[:k + 1])


@pytest.mark.parametrize("k, n, p", [(0, 10, 0.4), (7, 10, 0.4), (10, 10, 0.4), (30, 60, 0.4), (2, 50, 0.1)])
def test_binomial_tails_are_exact(k, n, p):
    assert binomial_tail(k, n, p, above=True) == pytest.approx(_brute(k, n, p, True), rel=1e-12)
    assert binomial_tail(k, n, p, above=False) == pytest.approx(_brute(k, n, p, False), rel=1e-12)
    assert binomial_tail(k, n, p, True) + binomial_tail(k - 1, n, p, False) == pytest.approx(1.0)


def test_a_tail_far_out_does_not_underflow_to_nothing():
    assert 0 < binomial_tail(0, 2000, 0.1, above=False) < 1e-90


# ------------------------------------------------------------------ the section on a hand-made run

REORG = ("2026-12-01 01:20:00.000\t[RPC1]\tINFO\tglobal\tsrc/cryptonote_core/blockchain.cpp:2105\t"
         "###### REORGANIZE on height: {h} of {top} with cum_difficulty 20\n"
         "2026-12-01 01:20:00.100\t[RPC1]\tINFO\tglobal\tsrc/cryptonote_core/blockchain.cpp:1265\t"
         "REORGANIZE SUCCESS! on height: {h}, new blockchain size: {size}\n")


def _write_run(root: Path, with_chain: bool = True) -> Path:
    """Bootstrap to height 2; then: h1 (honest, main), s1 s2 (selfish, main after a reorg that
    orphaned h2), s3 (selfish, released, lost a tie to h3), h3 h4 (main), s4 (still withheld)."""
    h = {name: name.ljust(64, "0") for name in ("b1", "b2", "h1", "h2", "s1", "s2", "s3", "h3", "h4", "s4")}
    records = {
        "controller": [{"event": "bootstrap_mined", "pool": "honest", "blocks": 2, "height": 2}],
        "honest": [{"event": "pool_registered", "hashrate": 60, "address": "x"}] +
                  [{"event": "block_mined", "seq": i, "blocks": 1, "height": 0, "hash": h[b]}
                   for i, b in enumerate(("h1", "h2", "h3", "h4"))],
        "selfish": [{"event": "pool_registered", "hashrate": 40, "address": "y"}] +
                   [{"event": "block_withheld", "seq": 9, "height": 0, "hash": h[b]} for b in ("s1", "s2", "s3", "s4")] +
                   [{"event": "blocks_released", "blocks": 2, "hashes": [h["s1"], h["s2"]], "heights": [4, 5],
                     "mode": "all", "lead": 1},
                    {"event": "blocks_released", "blocks": 1, "hashes": [h["s3"]], "heights": [6], "mode": "all",
                     "lead": 0}],
    }
    for agent, lines in records.items():
        path = root / "journals" / f"{agent}.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(json.dumps({"t": 1.0, "agent": agent, **r}) + "\n" for r in lines))
    chain = ["genesis".ljust(64, "0")] + [h[b] for b in ("b1", "b2", "h1", "s1", "s2", "h3", "h4")]
    if with_chain:
        (root / "chain.json").write_text(json.dumps({"daemon": "daemon", "height": len(chain), "hashes": chain}))
    log = root / "daemons" / "daemon" / "monerod.log"
    log.parent.mkdir(parents=True)
    log.write_text(REORG.format(h=4, top=4, size=6))
    return root


def test_the_section_counts_main_chain_blocks_per_pool(tmp_path):
    tally, _ = load_run(_write_run(tmp_path))
    s = selfish_mining(tmp_path, tally)
    assert s["chain"] == {"source": "chain.json", "daemon": "daemon", "from_height": 3, "top": 7, "blocks": 5,
                          "unattributed": 0}
    honest, selfish = s["pools"]["honest"], s["pools"]["selfish"]
    assert (honest["mined"], honest["main"], honest["orphaned"], honest["share"]) == (4, 3, 1, 0.6)
    assert (selfish["mined"], selfish["main"], selfish["orphaned"], selfish["unreleased"]) == (4, 2, 2, 1)
    assert selfish["main_share"] == 0.4 and not honest["selfish"] and selfish["selfish"]
    assert s["orphaned"] == {"honest": 1, "selfish": 2}
    assert s["reorgs"] == {"daemon": "daemon", "count": 1, "depths": {"1": 1}, "max": 1}
    (test,) = s["tests"]
    assert (test["pool"], test["n"], test["k"], test["direction"]) == ("selfish", 5, 2, "above")
    assert test["p_value"] == pytest.approx(binomial_tail(2, 5, 0.4, above=True))
    assert test["expected_gamma0"] == pytest.approx(0.4837, abs=1e-4)


def test_without_chain_json_the_daemon_log_gives_the_chain_or_nothing(tmp_path):
    tally, _ = load_run(_write_run(tmp_path, with_chain=False))
    s = selfish_mining(tmp_path, tally)
    assert s["chain"]["source"] == "none" and s["chain"]["blocks"] == 0 and s["tests"] == []
    assert s["pools"]["selfish"]["orphaned"] == 4          # nothing is known to be in a main chain


def test_no_withheld_block_no_section(tmp_path):
    _write_run(tmp_path)
    (tmp_path / "journals" / "selfish.jsonl").unlink()
    tally, _ = load_run(tmp_path)
    assert selfish_mining(tmp_path, tally) is None


# ------------------------------------------------------------------ signal acknowledgements

def test_an_acknowledgement_is_one_pools_own_file(tmp_path):
    assert ipc.read_signal_ack(tmp_path, "selfish") is None
    ack = ipc.write_signal_ack(tmp_path, "selfish", seq=4, at=12.5)
    assert ack == {"seq": 4, "pool": "selfish", "at": 12.5}
    assert ipc.ack_path(tmp_path, "selfish") == tmp_path / "signals" / "ack-selfish.json"
    assert ipc.read_signal_ack(tmp_path, "selfish") == ack and ipc.read_signal_ack(tmp_path, "other") is None
    with pytest.raises(ValueError):
        ipc.write_signal_ack(tmp_path, "selfish", seq=-1)
    with pytest.raises(ipc.InvalidAgentId):
        ipc.write_signal_ack(tmp_path, "../x", seq=1)
    ipc.ack_path(tmp_path, "bad").write_text('{"pool": "bad"}')
    with pytest.raises(ipc.CorruptDocument):
        ipc.read_signal_ack(tmp_path, "bad")


# ------------------------------------------------------------------ a private daemon the group lacks

def test_a_tree_calling_a_private_daemon_needs_the_group_key(tmp_path):
    text = (ROOT / "scenarios" / "selfish.yaml").read_text().replace("    private_daemon: true\n", "") \
        .replace("tree: ../trees/", f"tree: {ROOT}/trees/")
    path = tmp_path / "selfish.yaml"
    path.write_text(text)
    done = subprocess.run([sys.executable, "-m", "sim.cli", "run", str(path), "--check"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    line = next(i for i, s in enumerate(text.splitlines(), 1) if "- name: selfish" in s)
    assert done.returncode == 2 and done.stdout == "" and "Traceback" not in done.stderr
    assert done.stderr.strip() == (
        f"{path}:{line}:11: groups[1].name: ReadChains (trees/selfish-pool.yaml:29:15) calls the private "
        "daemon's RPC: give group selfish `private_daemon: true`")


def test_tree_runner_asks_for_the_private_daemon_before_starting(tmp_path):
    done = subprocess.run([sys.executable, "-m", "engine", "run", "trees/selfish-pool.yaml", "--agent", "pool",
                           "--daemon", "http://127.0.0.1:1", "--wallet", "http://127.0.0.1:2",
                           "--shared", str(tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={k: v for k, v in os.environ.items() if not k.startswith("MONEROSIM_")})
    assert done.returncode == 2 and "Traceback" not in done.stderr and not (tmp_path / "registry").exists()
    assert done.stderr.startswith("trees/selfish-pool.yaml:29:15: ") and \
        "ReadChains calls the private daemon RPC: pass --private-daemon URL (or set " \
        "MONEROSIM_PRIVATE_DAEMON)" in done.stderr.splitlines()[0]
