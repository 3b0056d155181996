"""A whole run of scenarios/selfish.yaml, shortened: a selfish pool on its private daemon against
two honest pools, on the lockstep clock (its decisions do not depend on the machine's speed).

Asserted from the run directory and from the public daemon itself, started again on the run's
data after the run: the pool withheld, released and dropped blocks; the public daemon
reorganised onto released blocks, orphaning honest ones; the report's Selfish mining section
says what that chain and the pools' journals say, block for block; and the chain is what Eyal
and Sirer's classic strategy makes of this run's sequence of block finders (an independent
replay below), main-chain blocks and reorganisations alike.
"""
from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from sim.local.processes import Supervisor
from sim.report.daemonlog import log_files, read_daemon_log

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
RUN_TIMEOUT = 900           # a bound, never a speed requirement
DURATION = "8m"             # ~48 signals at one block every 10 s on average


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("selfish") / "run"
    done = subprocess.run([sys.executable, "-m", "sim.cli", "run", "scenarios/selfish.yaml", "--out", str(out),
                           "--duration", DURATION, "--quiet"], cwd=ROOT, capture_output=True, text=True,
                          timeout=RUN_TIMEOUT)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    report = subprocess.run([sys.executable, "-m", "sim.cli", "report", str(out)], cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    assert report.returncode == 0, report.stderr
    return out


def journal(run_dir: Path, agent: str) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "journals" / f"{agent}.jsonl").read_text().splitlines()]


def hashes_of(records: list[dict], event: str) -> list[str]:
    return [r["hash"] for r in records if r["event"] == event]


def replay(finders: list[bool]) -> tuple[int, Counter]:
    """The classic strategy with gamma 0 on a sequence of block finders (True: the selfish pool):
    the selfish pool's main-chain blocks and the public daemon's reorganisations by depth."""
    lead_private = lead_public = ours = 0
    depths: Counter = Counter()
    for selfish in finders:
        if selfish:
            lead_private += 1
            if lead_private == lead_public + 1 and lead_public:       # a tie won
                depths[str(lead_public)] += 1
                ours, lead_private, lead_public = ours + lead_private, 0, 0
        else:
            lead_public += 1
            if lead_private < lead_public:                            # behind: adopt
                lead_private = lead_public = 0
            elif lead_private == lead_public + 1:                     # one ahead: publish, win
                depths[str(lead_public)] += 1
                ours, lead_private, lead_public = ours + lead_private, 0, 0
    return ours, depths


def public_chain(run_dir: Path) -> list[str]:
    """The public daemon, started again on the run's data: its main chain, hash by height."""
    with Supervisor(run_dir) as supervisor:
        rpc = supervisor.start_daemon("daemon").client()
        count = rpc.get_block_count()
        return [h["hash"] for h in rpc.get_block_headers_range(0, count - 1)]


def test_the_selfish_pool_withholds_releases_and_adopts(run):
    selfish = journal(run, "selfish")
    events = Counter(r["event"] for r in selfish)
    assert events["block_withheld"] >= 5 and events["blocks_released"] >= 2 and events["chain_adopted"] >= 2
    assert events["block_mined"] == 0 and events["leaf_failed"] == events["rpc_failed"] == 0
    record = json.loads((run / "run.json").read_text())
    assert record["private_daemons"]["selfish"]["data_dir"] == "private/selfish"
    assert log_files(run / "private" / "selfish")
    controller = Counter(r["event"] for r in journal(run, "controller"))
    assert controller["block_late"] == 0             # a withheld block is answered, not late
    summary = json.loads((run / "summary.json").read_text())
    assert summary["verdict"]["verdict"] == "ok", summary["verdict"]


def test_released_blocks_orphaned_honest_ones_on_the_public_daemon(run):
    chain = public_chain(run)
    assert json.loads((run / "chain.json").read_text())["hashes"] == chain
    main = set(chain)
    honest = [h for agent in ("honest-0", "honest-1") for h in hashes_of(journal(run, agent), "block_mined")]
    orphaned = [h for h in honest if h not in main]
    reorgs = [f for f in read_daemon_log("daemon", log_files(run / "daemons" / "daemon")).forks if f.kind == "reorg"]
    assert orphaned and reorgs
    won = [h for h in hashes_of(journal(run, "selfish"), "block_withheld") if h in main]
    assert won, "no withheld block made the main chain"


def test_the_report_section_is_the_chain_block_for_block(run):
    report = json.loads((run / "report" / "report.json").read_text())
    section = report["selfish"]
    chain = public_chain(run)
    bootstrap = max(r["height"] for r in journal(run, "controller") if r["event"] == "bootstrap_mined")
    main = set(chain[bootstrap + 1:])
    assert section["chain"]["blocks"] == len(main) and section["chain"]["from_height"] == bootstrap + 1
    for pool, event in (("selfish", "block_withheld"), ("honest-0", "block_mined"), ("honest-1", "block_mined")):
        mined = hashes_of(journal(run, pool), event)
        row = section["pools"][pool]
        assert (row["mined"], row["main"], row["orphaned"]) == \
            (len(mined), len(main & set(mined)), len(set(mined) - main)), pool
        assert row["main_share"] == pytest.approx(row["main"] / len(main))
    assert sum(r["main"] for r in section["pools"].values()) == len(main)
    assert section["orphaned"]["honest"] == sum(section["pools"][p]["orphaned"] for p in ("honest-0", "honest-1"))
    depths = Counter(str(f.depth) for f in read_daemon_log("daemon", log_files(run / "daemons" / "daemon")).forks
                     if f.kind == "reorg")
    assert section["reorgs"]["depths"] == dict(depths) and section["reorgs"]["count"] == sum(depths.values())
    (test,) = section["tests"]
    assert (test["pool"], test["n"], test["k"], test["hashrate_share"]) == \
        ("selfish", len(main), section["pools"]["selfish"]["main"], 0.4)
    assert "<h2>Selfish mining</h2>" in (run / "report" / "report.html").read_text()


def test_the_chain_is_the_classic_strategy_played_on_this_runs_blocks(run):
    """Lockstep time stands still while an agent works, so the pool always looks at both chains
    before the next block: the run must be the model, not merely near it."""
    mined = sorted((r["t"], agent == "selfish") for agent in ("selfish", "honest-0", "honest-1")
                   for r in journal(run, agent) if r["event"] in ("block_mined", "block_withheld"))
    ours, depths = replay([selfish for _, selfish in mined])
    section = json.loads((run / "report" / "report.json").read_text())["selfish"]
    assert section["pools"]["selfish"]["main"] == ours
    assert section["reorgs"]["depths"] == dict(depths)
    assert section["tests"][0]["replay"]["main"] == ours
