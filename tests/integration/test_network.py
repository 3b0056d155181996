"""Local networked runs on real daemons and a real network stack: a monerod per host on its own
loopback address, every P2P link through the delaying relay, propagation read from the daemons'
logs (docs/network.md).

The two shipped network scenarios run once each, side by side (they are paced against real
time, so most of their wall time is waiting):
- `line`: 5 daemons on a line, 100 ms per link. Every block and transaction reaches the daemons
  in line order, no hop faster than the link; a block's hop costs the link plus the time the
  daemon takes to check the block before passing it on.
- `regions`: eu and us, 10 ms inside and 150 ms between, and every third block a race between the
  two pools: blocks reach the other region no sooner than 150 ms, the races fork the chain, and
  the network settles on one chain.
- `partition`: us cut off for two minutes: the losing side reorganises at the heal.
"""
from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests import background

from sim.report.propagation import daemons_from_run, propagation
from tests.proc import command_lines

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
RUN_TIMEOUT = 1500          # a bound, never a speed requirement
LOG_TICK = 0.002            # monerod logs whole milliseconds: two readings may lose 1 ms each
# A hop's median above the link latency: block verification and relaying in monerod. Measured
# 40-45 ms per hop on an idle 2-core machine (docs/network.md); the bound leaves room for a busy one.
HOP_SLACK = 0.25
# A transaction's hop above the link latency: Dandelion++ forwards a stem at once but flushes
# the fluff phase at random intervals (5 s on average in monerod 0.18); measured medians 3-5 s.
TX_HOP_SLACK = 15.0
# A block mined this long before a partition may still be on its way when the links are cut
# (a busy machine delays its checking and relaying, not the simulated clock's pace limit).
IN_FLIGHT = 5.0


def monerosim(*args) -> list[str]:
    return [sys.executable, "-m", "sim.cli", *args]


# started with the session, beside the other tests (tests/background.py); all three at once
EARLY_RUNS = {name: ["run", f"scenarios/{name}.yaml", "--quiet"] for name in ("line", "regions", "partition")}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The three scenarios; {name: (run dir, exit code, what it printed)}."""
    base = tmp_path_factory.mktemp("network")
    for name, args in EARLY_RUNS.items():       # at once, when the session did not start them
        background.start(name, args, base)
    return {name: background.result(name, args, base, RUN_TIMEOUT) for name, args in EARLY_RUNS.items()}


def finished(runs, name: str) -> tuple[Path, dict, dict]:
    out, code, text = runs[name]
    assert code == 0, text[-3000:]
    record = json.loads((out / "run.json").read_text())
    found = propagation(out, daemons_from_run(record), skip_below_height=150)
    assert found is not None, "no propagation data"
    return out, record, found


def hop_delays(found: dict, order: list[str], kind: str) -> dict[int, list[float]]:
    """For every item of `kind`, the time between reaching the k-th and the (k+1)-th daemon away
    from its origin along the line, by hop number; asserts the order along the line."""
    hops: dict[int, list[float]] = {}
    for item in (i for i in found["items"] if i["kind"] == kind):
        start = order.index(item["origin"])
        for side in (1, -1):
            seen = [item["seen_by"][order[k]]["delay"] for k in range(start, len(order) if side > 0 else -1, side)
                    if order[k] in item["seen_by"]]
            for hop, (a, b) in enumerate(zip(seen, seen[1:]), start=1):
                hops.setdefault(hop, []).append(b - a)
    return hops


def test_blocks_and_transactions_travel_the_line_hop_by_hop(runs):
    out, record, found = finished(runs, "line")
    network = record["network"]
    order = [d["name"] for d in network["daemons"]]
    assert order == ["pool", "controller", "shop", "user-0", "user-1"]
    assert [(link["from"], link["to"], link["delay"]) for link in network["links"]] == \
        [(a, b, pytest.approx(0.1)) for a, b in zip(order, order[1:])]
    assert network["pacing"]["max_speed"] == 1.0 and record["clock"]["max_speed"] == 1.0
    assert found["block"]["count"] >= 10 and found["tx"]["count"] >= 3

    blocks = hop_delays(found, order, "block")
    assert sorted(blocks) == [1, 2, 3, 4]                         # the pool sits at one end
    for hop, delays in blocks.items():
        assert min(delays) >= 0.1 - LOG_TICK, (hop, delays)       # never faster than the link
        assert statistics.median(delays) <= 0.1 + HOP_SLACK, (hop, delays)
    txs = hop_delays(found, order, "tx")
    assert txs, "no transaction crossed a link"
    for hop, delays in txs.items():
        assert min(delays) >= 0.1 - LOG_TICK, (hop, delays)
    every_tx_hop = [d for delays in txs.values() for d in delays]
    assert statistics.median(every_tx_hop) <= 0.1 + TX_HOP_SLACK, txs
    # every daemon saw the blocks after the pool's daemon, further ones later (the last block
    # may still have been on its way when the run stopped)
    blocks_seen = [i for i in found["items"] if i["kind"] == "block"]
    complete = [i for i in blocks_seen if len(i["seen_by"]) == len(order)]
    assert len(complete) >= len(blocks_seen) - 1
    for item in complete:
        times = [item["seen_by"][n]["delay"] for n in order]
        assert times == sorted(times) and len(set(times)) == len(times), item["hash"]

    # the same figures reach the report and the export
    report = json.loads((out / "report" / "report.json").read_text()) if (out / "report").exists() else None
    summary = json.loads((out / "summary.json").read_text())
    assert summary["propagation"]["block"]["t100"]["median"] >= 0.4 - LOG_TICK
    assert report is None or report["propagation"]["block"]["count"] == found["block"]["count"]


def test_regions_apart_and_races_fork_then_settle(runs):
    out, record, found = finished(runs, "regions")
    regions = {d["name"]: d["region"] for d in record["network"]["daemons"]}
    assert set(regions.values()) == {"eu", "us"}
    for link in record["network"]["links"]:
        same = regions[link["from"]] == regions[link["to"]]
        assert link["delay"] == pytest.approx(0.01 if same else 0.15), link

    # Each block reaches each daemon no sooner than the fastest path over the peering allows (a
    # random overlay: two eu daemons may be joined only through us), and not much later.
    fastest = _fastest_paths(record["network"]["links"])
    excess = {}
    for item in (i for i in found["items"] if i["kind"] == "block"):
        home = regions[item["origin"]]
        for name, seen in item["seen_by"].items():
            if name == item["origin"]:
                continue
            bound, hops = fastest[item["origin"]][name]
            assert seen["delay"] >= bound - LOG_TICK * hops, (item["hash"], name, seen, bound)
            if regions[name] != home:
                assert seen["delay"] >= 0.15 - LOG_TICK, (item["hash"], name, seen)
            excess.setdefault((home, regions[name]), []).append((seen["delay"] - bound) / hops)
    for pair, values in excess.items():
        assert statistics.median(values) <= HOP_SLACK, (pair, statistics.median(values))
    # the report's per-region figures follow: the other region never sooner than 150 ms
    matrix = found["by_region"]["block"]["matrix"]
    assert matrix["eu"]["us"] >= 0.15 and matrix["us"]["eu"] >= 0.15, matrix

    # a race: both pools were told, and both mined at the signal's instant
    records = {p.stem: [json.loads(line) for line in p.read_text().splitlines()]
               for p in (out / "journals").glob("pool-*.jsonl")}
    # (a daemon may refuse a block, e.g. while it syncs: the pool journals the failed call)
    races = [r for r in _records(out, "controller") if r["event"] == "signal_issued" and r.get("rivals")]
    assert races
    raced = 0
    for race in races:
        told = [race["pool"], *race["rivals"]]
        assert sorted(told) == ["pool-0", "pool-1"], race
        mined = {agent: [r["t"] for r in rs if r["event"] == "block_mined" and r.get("seq") == race["seq"]]
                 for agent, rs in records.items()}
        refused = {agent for agent, rs in records.items() if any(
            r["event"] in ("rpc_failed", "leaf_failed") and 0 <= r["t"] - race["t"] <= 10 for r in rs)}
        assert all(len(mined[p]) == 1 or p in refused for p in told), (race, mined, _around(out, told, race["t"]))
        if all(len(mined[p]) == 1 for p in told):
            assert mined["pool-0"] == mined["pool-1"], (race, mined, _around(out, told, race["t"]))
            raced += 1
    assert raced >= len(races) / 2, (raced, len(races))

    forks = found["forks"]
    assert forks["alternative_blocks"] >= 1 and forks["reorgs"], forks
    assert forks["orphaned_blocks"] >= 1 and forks["max_depth"] >= 1
    # one chain at the end: every daemon holds the same blocks, but for a race of the last
    # signal (races are every third signal, so the block below the top is settled)
    tips = {d["name"]: d["final"] for d in record["network"]["daemons"]}
    assert all(tips.values()), tips
    low = min(t["height"] for t in tips.values())
    settled = {t["last"][t["height"] - low + 1] for t in tips.values()}
    assert len(settled) == 1, tips

    html = (out / "report" / "report.html").read_text() if (out / "report").exists() else None
    summary = json.loads((out / "summary.json").read_text())
    assert summary["propagation"]["forks"]["orphaned_blocks"] == forks["orphaned_blocks"]
    assert html is None or ("Propagation" in html and "eu" in html)


def test_a_partition_forks_the_regions_and_the_heal_reorganises_the_losing_side(runs):
    """us (pool-1 alone) is cut off from 1m to 3m: both sides mine, and at the heal the side with
    less work (us: 30 % of the hashrate, and its blocks reach no controller) reorganises onto
    eu's chain, replacing exactly the blocks pool-1 mined while cut off (and one mined just before
    the cut that was still on its way). Two minutes: about 16 signals, so pool-1 is told at least
    once but for a chance of 0.7^16 (0.3 %)."""
    out, record, found = finished(runs, "partition")
    events = record["network"]["events"]
    assert [(e["kind"], e["applied_at"]) for e in events] == [("partition", 60.0), ("heal", 180.0)]
    regions = {d["name"]: d["region"] for d in record["network"]["daemons"]}
    across = [link["name"] for link in record["network"]["links"] if regions[link["from"]] != regions[link["to"]]]
    assert events[0]["links_cut"] == len(across) > 0 and events[1]["links_cut"] == 0

    origin = record["clock_origin"]
    mined = {pool: [r for r in _records(out, pool) if r["event"] == "block_mined"] for pool in ("pool-0", "pool-1")}
    cut_off = [r for r in mined["pool-1"] if 60 <= r["t"] - origin < 180]
    assert cut_off, "pool-1 mined nothing while cut off"
    heal = events[1]["applied_wall"] - found["start"]                # on the daemons' clocks
    healed = [f for f in found["forks"]["reorgs"] if f["t"] >= heal]
    assert [f["daemon"] for f in healed] == ["pool-1"], found["forks"]["reorgs"]   # the losing side only
    reorg = healed[0]
    assert reorg["ok"] and reorg["t"] - heal < 30                                   # soon after the heal
    replaced = [r for r in mined["pool-1"] if reorg["height"] <= r["height"] <= reorg["top"]]
    assert reorg["depth"] == len(replaced) == reorg["top"] - reorg["height"] + 1
    assert {r["height"] for r in cut_off} <= {r["height"] for r in replaced}    # all its cut-off blocks
    assert all(60 - IN_FLIGHT <= r["t"] - origin < 180 + 30 for r in replaced), replaced
    # eu never saw them: they are orphaned; the chains agree at the end
    orphaned = {o["hash"] for o in found["forks"]["orphaned"]}
    assert {r["hash"] for r in cut_off} <= orphaned
    tips = {d["name"]: d["final"]["last"][1:] for d in record["network"]["daemons"]}
    assert len({tuple(t) for t in tips.values()}) == 1, tips


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_a_stopped_launcher_leaves_no_daemon_relay_or_listener(tmp_path, sig):
    """SIGKILL or SIGTERM to `monerosim run` mid-run: the daemons, the relay and its listening
    sockets go with it (SIGTERM: the launcher stops them; SIGKILL: each child dies with its
    parent); nothing of the network is left."""
    scenario = tmp_path / "net.yaml"
    (tmp_path / "trees").symlink_to(ROOT / "tests" / "sim_fixtures" / "trees")
    scenario.write_text("version: 1\nname: net\nseed: 3\nduration: 10m\n"
                        "network: {type: switch, latency: 50ms}\n"
                        "daemons: {placement: shared, count: 3, peers: 2}\n"
                        "groups:\n  - {name: idler, tree: trees/idler.yaml, count: 3, wallet: false}\n")
    out = tmp_path / "run"
    proc = subprocess.Popen(monerosim("run", str(scenario), "--out", str(out), "--quiet"), cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 180
    record = {}
    while time.monotonic() < deadline and record.get("status") != "running":
        time.sleep(0.5)
        try:
            record = json.loads((out / "run.json").read_text())
        except (OSError, ValueError):
            pass
    assert record.get("status") == "running", record
    relay = record["network"]["relay"]["pid"]
    listens = [tuple(link["listen"]) for link in json.loads((out / "network" / "links.json").read_text())["links"]]
    assert [d["name"] for d in record["network"]["daemons"]] == ["daemon-0", "daemon-1", "daemon-2"]
    assert record["network"]["agents"] == {"idler-0": "daemon-0", "idler-1": "daemon-1", "idler-2": "daemon-2"}
    argv = {a["id"]: a["argv"] for a in record["agents"]}
    urls = {d["name"]: d["url"] for d in record["network"]["daemons"]}
    assert all(urls[f"daemon-{i}"] in argv[f"idler-{i}"] for i in range(3))    # each its own daemon
    assert len(command_lines(str(out))) >= 4 + 3           # 3 daemons, the relay, 3 agents
    os.kill(proc.pid, sig)
    assert proc.wait(120) == (128 + sig if sig == signal.SIGTERM else -sig)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and command_lines(str(out)):
        time.sleep(0.5)
    assert command_lines(str(out)) == []
    assert not _running(relay)
    assert not [addr for addr in listens if _listening(*addr)]


def _fastest_paths(links: list[dict]) -> dict[str, dict[str, tuple[float, int]]]:
    """(latency, hops) of the fastest path between every two daemons over the peering (a
    connection carries both directions)."""
    import networkx as nx
    graph = nx.Graph()
    for link in links:
        graph.add_edge(link["from"], link["to"], delay=link["delay"])
    out: dict[str, dict[str, tuple[float, int]]] = {}
    for origin in graph:
        latency, path = nx.single_source_dijkstra(graph, origin, weight="delay")
        out[origin] = {name: (latency[name], len(path[name]) - 1) for name in latency}
    return out


def _records(out: Path, agent: str) -> list[dict]:
    return [json.loads(line) for line in (out / "journals" / f"{agent}.jsonl").read_text().splitlines()]


def _around(out: Path, agents: list[str], t: float, before: float = 10, after: float = 20) -> str:
    """What `agents` journaled, and which nodes changed status, from `before` seconds before `t`
    to `after` seconds after (for a failure's message)."""
    lines = []
    for agent in agents:
        names: list = []
        for kind in ("journals", "status"):
            path = out / kind / f"{agent}.jsonl"
            for record in (json.loads(line) for line in (path.read_text().splitlines() if path.exists() else ())):
                names = [n[2] for n in record["nodes"]] if "nodes" in record else names
                if not isinstance(record.get("t"), (int, float)) or not t - before <= record["t"] <= t + after:
                    continue
                if "c" in record:
                    changes = record["c"]
                    record = {"t": record["t"], "status": [f"{names[i] if i < len(names) else i}={s}"
                                                           for i, s in zip(changes[::2], changes[1::2])]}
                lines.append(f"{agent} {round(record['t'] - t, 3):+}: {json.dumps(record)[:400]}")
    return "\n".join(lines)


def _running(pid: int) -> bool:
    """Alive and not a zombie (an orphan's zombie waits for whoever reaps it here)."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes() != b""
    except OSError:
        return False


def _listening(ip: str, port: int) -> bool:
    want = f"{_hex_ip(ip)}:{port:04X}"
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[1] == want and fields[3] == "0A":           # LISTEN
            return True
    return False


def _hex_ip(ip: str) -> str:
    return "".join(f"{int(part):02X}" for part in reversed(ip.split(".")))
