"""Whole runs on a real regtest chain: the shipped small scenario and a role no shipped tree has.

Everything is asserted from the run directory the launcher leaves: journals, order books,
run.json. Each run is a real `monerosim run` process (time-compressed).
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


def run_scenario(scenario: Path, out: Path, timeout: float) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sim.cli", "run", str(scenario), "--out",
                           str(out), "--quiet"], capture_output=True, text=True, timeout=timeout,
                          cwd=ROOT)


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
    done = run_scenario(ROOT / "scenarios" / "small.yaml", out, timeout=540)
    return out, done


def test_small_run_exits_cleanly_and_every_agent_stopped(small):
    run_dir, done = small
    assert done.returncode == 0, done.stdout + done.stderr
    run = json.loads((run_dir / "run.json").read_text())
    assert run["status"] == "stopped" and not run["crashed"]
    agents = journals(run_dir)
    assert len(agents) == 15
    for agent, records in agents.items():
        assert records[0]["event"] == "agent_started", agent
        assert records[-1]["event"] == "agent_stopped", agent
        assert not events(records, "leaf_failed"), agent


def test_small_run_every_user_funded_and_paid_at_least_twice(small):
    agents = journals(small[0])
    users = [a for a in agents if a.startswith("user-")]
    assert len(users) == 10
    for user in users:
        assert len(events(agents[user], "funded")) == 1, user
        assert len(events(agents[user], "payment_sent")) >= 2, user
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


def test_a_fifth_role_runs_through_the_same_tree_runner(tmp_path):
    run_dir = tmp_path / "run"
    done = run_scenario(ROOT / "tests" / "roles" / "fifth-role.yaml", run_dir, timeout=300)
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
