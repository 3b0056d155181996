"""scenarios/spies.yaml as a whole run on real daemons (docs/research.md, Spy nodes): seven honest
hosts and two spy nodes that every honest daemon dials, through the link relay.

What must hold whatever the daemons' random choices (Dandelion++ epochs and stems are drawn by
monerod itself):
- the overlay: every honest daemon has a link to each spy, the spies dial no one, and the spies'
  own journals saw a connection from every honest daemon;
- the true origin of every transaction the agents sent (payments and funding) is known: first
  seen in an RPC thread of the sender's own daemon;
- the estimator's figures (summary, report.json, export's spies.csv) are what the spies' logs say,
  read here again line by line: each transaction's earliest spy sighting and the peer it names;
- each transaction's Dandelion++ mode is what its origin did next in its log (stemmed it to one
  peer, or queued it for fluffing).
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pandas as pd
import pytest

from sim.report.daemonlog import parse_time
from tests import background

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
RUN_TIMEOUT = 1800          # a bound, never a speed requirement
LATENCY = 0.05              # the scenario's switch
LOG_TICK = 0.002            # monerod logs whole milliseconds
NOTIFY = re.compile(r"^\[(\S+):\d+ (?:INC|OUT)\] Received NOTIFY_NEW_TRANSACTIONS \(\d+ txes\)")
INCLUDED = re.compile(r"^Including transaction <([0-9a-f]{64})>")
ADDED = re.compile(r"^Transaction added to pool: txid <([0-9a-f]{64})>")


# started with the session, beside the other tests (tests/background.py)
EARLY_RUNS = {"spies": ["run", "scenarios/spies.yaml", "--quiet", "--duration", "4m"]}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out, code, said = background.result("spies", EARLY_RUNS["spies"], tmp_path_factory.mktemp("spies"),
                                        RUN_TIMEOUT)
    assert code == 0, said[-3000:]
    subprocess.run([sys.executable, "-m", "sim.cli", "report", str(out)], cwd=ROOT, check=True,
                   capture_output=True, timeout=600)
    subprocess.run([sys.executable, "-m", "sim.cli", "export", str(out)], cwd=ROOT, check=True,
                   capture_output=True, timeout=600)
    record = json.loads((out / "run.json").read_text())
    return out, record, json.loads((out / "summary.json").read_text())


def journal(out: Path, agent: str) -> list[dict]:
    return [json.loads(line) for line in (out / "journals" / f"{agent}.jsonl").read_text().splitlines()]


def first_sightings(path: Path) -> dict[str, tuple[float, str | None]]:
    """txid -> (time, peer IP or None) of the log's first line about it."""
    seen, pending = {}, {}
    for line in path.read_text(errors="replace").splitlines():
        parts = line.split("\t", 5)
        if len(parts) < 6:
            continue
        thread, text = parts[1].strip("[] "), parts[5]
        if m := NOTIFY.match(text):
            pending[thread] = m[1]
        elif (m := INCLUDED.match(text)) or (m := ADDED.match(text)):
            peer = pending.get(thread) if text.startswith("Including") else None
            seen.setdefault(m[1], (parse_time(parts[0]), peer))
    return seen


def test_every_honest_daemon_dials_every_spy(run):
    out, record, _summary = run
    daemons = {d["name"]: d for d in record["network"]["daemons"]}
    spies = sorted(n for n, d in daemons.items() if d.get("spy"))
    honest = sorted(set(daemons) - set(spies))
    assert spies == ["spy-0", "spy-1"] and len(honest) == 7
    links = {(link["from"], link["to"]) for link in record["network"]["links"]}
    assert {(h, s) for h in honest for s in spies} <= links
    assert not any(a in spies for a, _b in links)
    for spy in spies:           # each look: every honest daemon's address (a reconnect may add one for a while)
        looks = [r for r in journal(out, spy) if r["event"] == "connections_seen"]
        assert looks and all(r["outgoing"] == 0 for r in looks)
        full = [r for r in looks if set(r["peers"]) == {daemons[h]["ip"] for h in honest}]
        assert len(full) >= len(looks) / 2, (spy, looks)


def test_the_true_origin_of_every_transaction_is_known(run):
    out, _record, summary = run
    sent = {}
    for path in (out / "journals").glob("*.jsonl"):
        for r in journal(out, path.stem):
            if r["event"] == "payment_sent":
                sent[r["txid"]] = path.stem
            elif r["event"] == "peers_funded":
                sent.update({txid: path.stem for txid in r["txids"]})
    assert len(sent) >= 10
    rows = pd.read_csv(out / "export" / "propagation.csv", dtype={"hash": str})
    origins = rows[(rows.kind == "tx") & (rows.delay_s == 0)].set_index("hash")
    for txid, agent in sent.items():
        assert origins.loc[txid, "origin"] == agent and bool(origins.loc[txid, "origin_rpc"]), txid
    spied = summary["spies"]
    assert spied["origin_unknown"] == 0 and spied["origin_spy"] == 0
    assert spied["scored"] + spied["in_block"] + spied["unseen"] == len(sent)


def test_the_estimate_is_what_the_spies_logs_say(run):
    out, record, summary = run
    daemons = {d["name"]: d for d in record["network"]["daemons"]}
    owner = {d["ip"]: n for n, d in daemons.items()}
    spies = sorted(n for n, d in daemons.items() if d.get("spy"))
    firsts = {s: first_sightings(out / "daemons" / s / "monerod.log") for s in spies}
    origins = {}
    for name in daemons:
        for line in (out / "daemons" / name / "monerod.log").read_text(errors="replace").splitlines():
            parts = line.split("\t", 5)
            if len(parts) == 6 and parts[1].startswith("[RPC") and (m := ADDED.match(parts[5])):
                origins.setdefault(m[1], (name, parse_time(parts[0])))
    guesses = pd.read_csv(out / "export" / "spies.csv", dtype={"hash": str}).set_index("hash")
    right = 0
    for txid, (origin, at) in origins.items():
        seen = sorted((firsts[s][txid][0], s, firsts[s][txid][1]) for s in spies if txid in firsts[s])
        if not seen:
            assert txid not in guesses.index
            continue
        when, spy, peer = seen[0]
        if peer is None:                    # the first spy saw it inside a block: not scored
            assert txid not in guesses.index
            continue
        guess = owner.get(peer)
        row = guesses.loc[txid]
        assert (row.origin, row.spy) == (origin, spy), txid
        assert (row.guess if isinstance(row.guess, str) else None) == guess, txid
        assert row.delay == pytest.approx(when - at, abs=LOG_TICK)
        assert when - at >= LATENCY - LOG_TICK, txid          # no spy hears it before a link's delay
        right += guess == origin
    spied = summary["spies"]
    assert (spied["scored"], spied["right"]) == (len(guesses), right)
    assert spied["accuracy"] == pytest.approx(right / len(guesses), abs=1e-4)
    assert spied["baseline"] == pytest.approx(1 / 7, abs=1e-4) and spied["share"] == pytest.approx(2 / 9, abs=1e-4)
    report = json.loads((out / "report" / "report.json").read_text())
    assert report["spies"]["right"] == right
    assert "<h2>Spy nodes</h2>" in (out / "report" / "report.html").read_text()


def what_it_did(lines: list[str], i: int, epoch: str) -> str:
    """What the daemon did with the transaction its RPC added at line `i`: its next `Sent ...
    using Dandelion++ stem` or `Unable to send ... via Dandelion++ stem` within a second (other
    transactions' fluffing lines may come between), else its epoch's fluff."""
    start = parse_time(lines[i][:23])
    for later in lines[i + 1:]:
        if parse_time(later[:23]) is not None and parse_time(later[:23]) > start + 1:
            break
        if "using Dandelion++ stem" in later:
            return "stem"
        if "Unable to send transaction(s) via Dandelion++ stem" in later:
            return "fluff"
    assert epoch == "fluff", lines[i]
    return "fluff"


def test_each_mode_is_what_the_origin_did_next(run):
    out, record, _summary = run
    guesses = pd.read_csv(out / "export" / "spies.csv", dtype={"hash": str}).set_index("hash")
    did = {}
    for d in record["network"]["daemons"]:
        lines = (out / "daemons" / d["name"] / "monerod.log").read_text(errors="replace").splitlines()
        epochs = [line.rsplit(" ", 1)[1] for line in lines if "Starting new Dandelion++ epoch" in line]
        assert len(epochs) == 1, f"{d['name']}: {epochs} (one epoch in a run under 10 minutes)"
        for i, line in enumerate(lines):
            parts = line.split("\t", 5)
            if len(parts) == 6 and parts[1].startswith("[RPC") and (m := ADDED.match(parts[5])):
                did[m[1]] = what_it_did(lines, i, epochs[0])
    counted = defaultdict(int)
    for txid, row in guesses.iterrows():
        assert row["mode"] == did[txid], txid
        counted[row["mode"]] += 1
    assert sum(counted.values()) == len(guesses)
