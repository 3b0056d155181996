"""Whole runs on a real regtest chain: the shipped small scenario (`make run`) and a role no
shipped tree has.

Everything is asserted from the run directory the launcher leaves: journals, order books,
run.json. Each run is a real `monerosim run` process on the lockstep clock. The small scenario
runs twice with the same seed, the second time while another process burns a core: the
outcome, and every agent's sequence of decisions, must not change.
"""
from __future__ import annotations

import collections
import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


# A bound, never a speed requirement: a lockstep run takes longer on a busy machine.
RUN_TIMEOUT = 1800
# What a run decides, per agent: everything journaled except what Monero makes at random.
NOT_DECIDED = {"txid", "txids", "address", "addresses", "fee", "hash", "block_hash", "tx_key"}


def run_scenario(scenario: Path, out: Path, timeout: float = RUN_TIMEOUT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sim.cli", "run", str(scenario), "--out",
                           str(out), "--quiet"], capture_output=True, text=True, timeout=timeout,
                          cwd=ROOT)


def decisions(run_dir: Path) -> dict[str, list[dict]]:
    """Per agent, its journal without txids, addresses, keys and fees: event names, simulated
    times, amounts, payment IDs, chosen shops and pools."""
    return {agent: [{k: v for k, v in r.items() if k not in NOT_DECIDED} for r in records]
            for agent, records in journals(run_dir).items()}


def first_difference(a: list[dict], b: list[dict]) -> str:
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return f"entry {i}:\n  {x}\n  {y}"
    return f"lengths {len(a)} and {len(b)}"


def journals(run_dir: Path) -> dict[str, list[dict]]:
    """Every agent's journal; every line must parse (a torn line fails the test)."""
    found = {}
    for path in sorted((run_dir / "journals").glob("*.jsonl")):
        text = path.read_text()
        assert text.endswith("\n"), f"{path.name}: last line is torn"
        found[path.stem] = [json.loads(line) for line in text.splitlines()]
    return found


def events(records: list[dict], name: str) -> list[dict]:
    return [r for r in records if r["event"] == name]


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    out = tmp_path_factory.mktemp("small") / "run"
    done = run_scenario(ROOT / "scenarios" / "small.yaml", out)
    return out, done


@pytest.fixture(scope="module")
def small_loaded(tmp_path_factory, small):
    """The same scenario and seed again, while another process keeps a core busy."""
    out = tmp_path_factory.mktemp("small-loaded") / "run"
    burner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        done = run_scenario(ROOT / "scenarios" / "small.yaml", out)
        assert burner.poll() is None, "the load ended before the run did"
    finally:
        burner.kill()
        burner.wait()
    return out, done


def test_small_run_exits_cleanly_and_every_agent_stopped(small):
    run_dir, done = small
    assert done.returncode == 0, done.stdout + done.stderr
    run = json.loads((run_dir / "run.json").read_text())
    assert run["status"] == "stopped" and not run["crashed"]
    assert run["verdict"] == "ok", json.loads((run_dir / "summary.json").read_text())["verdict"]
    assert done.stderr.strip().splitlines()[-1] == "verdict: OK"
    agents = journals(run_dir)
    assert len(agents) == 15
    for agent, records in agents.items():
        assert records[0]["event"] == "agent_started", agent
        assert records[-1]["event"] == "agent_stopped", agent
        assert not events(records, "leaf_failed"), agent


def test_small_run_every_user_funded_and_paying_in_the_steady_state(small):
    agents = journals(small[0])
    users = [a for a in agents if a.startswith("user-")]
    assert len(users) == 10
    for user in users:
        assert len(events(agents[user], "funded")) == 1, user
        assert len(events(agents[user], "payment_sent")) >= 10, user
        assert not events(agents[user], "payment_failed"), user
    funded = [p for pool in ("pool-0", "pool-1") for e in events(agents[pool], "peers_funded")
              for p in e["peers"]]
    assert sorted(funded) == sorted(users)  # each user funded once, by one pool


def test_small_run_every_payment_seen_matched_and_confirmed(small):
    agents = journals(small[0])
    sent = {e["txid"]: (user, e) for user, records in agents.items()
            for e in events(records, "payment_sent")}
    assert len(sent) >= 20
    seen, confirmed = {}, {}
    for shop in ("shop-0", "shop-1"):
        for e in events(agents[shop], "payment_seen"):
            assert e["txid"] not in seen, "a payment journaled twice"
            seen[e["txid"]] = (shop, e)
        for e in events(agents[shop], "payment_confirmed"):
            confirmed[e["txid"]] = (shop, e)
    assert set(seen) == set(sent), "every payment seen, nothing unknown seen"
    for txid, (user, payment) in sent.items():
        shop, sighting = seen[txid]
        assert shop == payment["shop"]
        assert (sighting["payment_id"], sighting["amount"], sighting["user"]) == \
            (payment["payment_id"], payment["amount"], user)
        assert sighting["status"] == "matched"
        assert confirmed[txid][0] == shop and confirmed[txid][1]["confirmations"] >= 3


def test_small_run_both_pools_mined_on_signals(small):
    agents = journals(small[0])
    mined = collections.Counter()
    for pool in ("pool-0", "pool-1"):
        blocks = events(agents[pool], "block_mined")
        assert blocks, f"{pool} mined nothing"
        mined[pool] = len(blocks)
    signals = events(agents["controller"], "signal_issued")
    assert sum(mined.values()) >= len(signals) - len(events(agents["controller"], "block_late")) - 1
    heights = [e["height"] for pool in mined for e in events(agents[pool], "block_mined")]
    assert len(set(heights)) == len(heights)
    assert sum(e["blocks"] for e in events(agents["controller"], "bootstrap_mined")) >= 75


def test_small_run_summary_agrees_with_journals(small):
    run_dir, done = small
    summary = json.loads((run_dir / "summary.json").read_text())
    agents = journals(run_dir)
    sent = sum(len(events(r, "payment_sent")) for r in agents.values())
    assert summary["payments"]["sent"] == sent
    assert summary["payments"]["matched"] == sent
    assert summary["payments"]["missing"] == 0 and summary["payments"]["unknown"] == 0
    assert summary["errors"]["total"] == 0, summary["errors"]


def test_small_run_on_a_loaded_machine_makes_the_same_decisions(small, small_loaded):
    """Same seed, a core busy with other work: the same run, decision for decision."""
    (quiet, _), (loaded, done) = small, small_loaded
    assert done.returncode == 0, done.stdout + done.stderr
    a, b = decisions(quiet), decisions(loaded)
    assert sorted(a) == sorted(b)
    differing = {agent: first_difference(a[agent], b[agent]) for agent in a if a[agent] != b[agent]}
    assert not differing, differing
    sent = sum(len(events(r, "payment_sent")) for r in a.values())
    assert sent >= 100, "the comparison covered too little"
    run = json.loads((loaded / "run.json").read_text())
    assert run["clock"]["kind"] == "lockstep"


def test_a_fifth_role_runs_through_the_same_tree_runner(tmp_path):
    run_dir = tmp_path / "run"
    done = run_scenario(ROOT / "tests" / "roles" / "fifth-role.yaml", run_dir)
    assert done.returncode == 0, done.stdout + done.stderr
    agents = journals(run_dir)
    tippers = sorted(a for a in agents if a.startswith("tipper-"))
    assert len(tippers) == 3
    sent = {e["txid"]: (t, e) for t in tippers for e in events(agents[t], "payment_sent")}
    for tipper in tippers:
        assert agents[tipper][0]["role"] == "tipper"
        assert len(events(agents[tipper], "payment_sent")) >= 1, tipper
        assert all(e["shop"] != tipper and e["shop"] in tippers
                   for e in events(agents[tipper], "payment_sent"))
    seen = [(t, e) for t in tippers for e in events(agents[t], "payment_seen")]
    assert seen, "no tip was seen by its recipient"
    for receiver, e in seen:
        if e["status"] == "unknown":   # the pool's funding transfer carries no order
            assert e["payment_id"].strip("0") == ""
            continue
        assert e["status"] == "matched"
        sender, payment = sent[e["txid"]]
        assert payment["shop"] == receiver and e["user"] == sender
