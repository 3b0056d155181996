"""Propagation and forks from monerod logs: the parser (sim.report.daemonlog) on excerpts of two
real regtest daemons, the figures (sim.report.propagation) on a hand-made run of four daemons in
three regions with known delays, and where they show: summary, report page, export.

tests/report_fixtures/monerod-samples/{a,b}.log: lines of two peered daemons' logs (--log-level 1;
a at 127.77.0.2, b at 127.77.0.3), perf and stack-trace lines left out. a mined blocks 1..160 and
sent transaction c5dca26d…; then b, offline, mined 161 and 162 while a mined its own 161;
reconnected, a reorganised onto b's chain (depth 1).

tests/report_fixtures/run-network: run.json's `network` lists pool-0 (us, 127.77.0.1), user-0 and
user-1 (eu, .2 and .3) and shop-0 (asia, .4). Bootstrap blocks 1-2; blocks 3 (pool-0) and 4
(shop-0); transactions t1 (user-0) and t2 (user-1, never reaches shop-0); a fork at height 5:
pool-0's x5 loses to shop-0's y5 + y6, three daemons reorganise. shop-0's log ends in a torn
line, user-1's holds garbage.
"""
import hashlib
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from sim.report import build_report
from sim.report.daemonlog import format_time, log_files, parse_lines, parse_time, read_daemon_log
from sim.report.export import NETWORK_TABLES, TABLES, export
from sim.report.propagation import cdf_points, daemons_from_run, propagation, reach
from sim.report.summary import format_summary, summarize

FIXTURES = Path(__file__).resolve().parent.parent / "report_fixtures"
SAMPLES = FIXTURES / "monerod-samples"
NET = FIXTURES / "run-network"
TX = "c5dca26dde65345265c81242e194da8efb4fe27e26555a60a43d5ec1fb2e3b6a"
A161 = "6274b046c0b61700fcedf98b0082a1e00854b9e9fd2864c080983e54f6222c05"     # a's, orphaned
B161 = "0d1f6846944459dbfe0e8816877f2212ffe346ea55c1c813f32e017e1be49d51"     # b's, kept
B162 = "ab4f2877080aca07cfee9cfccf3f63019cd4aaedfa0f29c6cf7374cfd210cc4f"
FIRST = "6ec2750b17c26e0c9ed98315bba3408ae888afeaf33c5138cd4518c524e1f8e6"     # height 1, by a


def h(name: str) -> str:
    """The fixture's block / transaction ids: sha256 of their names."""
    return hashlib.sha256(name.encode()).hexdigest()


@pytest.fixture(scope="module")
def logs():
    return {n: read_daemon_log(n, [SAMPLES / f"{n}.log"]) for n in "ab"}


@pytest.fixture(scope="module")
def net():
    run = json.loads((NET / "run.json").read_text())
    return propagation(NET, daemons_from_run(run), skip_below_height=2)


def _item(net: dict, name: str) -> dict:
    return next(i for i in net["items"] if i["hash"] == h(name))


# ------------------------------------------------------------------ the parser, on real lines

def test_transaction_first_seen_origin_and_peer(logs):
    a, b = logs["a"].seen["tx", TX], logs["b"].seen["tx", TX]
    assert (format_time(a.time), a.origin, a.from_peer) == ("2026-12-01 01:19:40.049", True, None)
    # b: `Including transaction` (43.805) before `added to pool` (43.858); added again after its
    # restart (01:21:19) and a again after the reorganisation: neither replaces the first
    assert (format_time(b.time), b.origin, b.from_peer) == ("2026-12-01 01:19:43.805", False,
                                                            "127.0.0.1:40422")


def test_block_first_seen_mined_fluffy_and_synced(logs):
    mined = logs["b"].seen["block", B161]
    assert (mined.origin, mined.height, mined.from_peer, format_time(mined.time)) == \
        (True, 161, None, "2026-12-01 01:21:24.408")
    synced = logs["a"].seen["block", B161]           # fetched while syncing: only ADDED lines
    assert (synced.origin, synced.height, synced.from_peer) == (False, 161, "127.77.0.3:18080")
    fluffy = logs["b"].seen["block", FIRST]          # notice at 25.378, added only at 25.913
    assert (format_time(fluffy.time), fluffy.height, fluffy.from_peer) == \
        ("2026-12-01 01:19:25.378", 1, "127.77.0.2:18080")     # the notice says "height 2"
    assert logs["a"].seen["block", FIRST].origin
    assert all(s.height != 0 for log in logs.values() for s in log.seen.values())   # no genesis


def test_alternative_block_and_reorganisation(logs):
    forks = [(f.kind, f.height, f.hash, f.depth, f.top, f.size, f.ok) for f in logs["a"].forks]
    assert forks == [("alternative", 161, B161, None, None, None, False),
                     ("reorg", 161, None, 1, 161, 163, True),
                     ("alternative", 161, A161, None, None, None, False)]
    assert format_time(logs["a"].forks[1].time) == "2026-12-01 01:21:29.980"
    assert logs["a"].chain[161] == logs["b"].chain[161] == B161
    assert logs["a"].chain[162] == B162 and max(logs["a"].chain) == 162
    assert logs["a"].addresses == {"127.77.0.2"} and logs["b"].addresses == {"127.77.0.3"}


def test_torn_last_line_and_garbage_are_skipped():
    line = ("2026-12-01 01:21:30.031\t[P2P7]\tINFO\tblockchain\tsrc/cryptonote_core/blockchain.cpp:4524\t"
            "{}\n")
    lines = [line.format("+++++ BLOCK SUCCESSFULLY ADDED"), line.format(f"id:\t<{B161}>"),
             "not a log line\n", "2026-99-01 01:21:30.031\t[P2P7]\tINFO\tx\ty\tIncluding transaction "
             f"<{TX}>\n", line.format("HEIGHT 161, difficulty:\t1"),
             line.format(f"Transaction added to pool: txid <{TX}> weight: 1")[:-1]]      # torn
    log = parse_lines("x", lines)
    assert list(log.seen) == [("block", B161)] and log.seen["block", B161].height == 161
    assert (log.lines, log.skipped, log.torn) == (6, 1, True)
    # a height cut short is never read as a smaller one
    log = parse_lines("x", lines[:2] + [line.format("HEIGHT 16")[:-1]])
    assert log.seen["block", B161].height is None and log.chain == {}


def test_a_reorganisation_onto_a_shorter_chain_and_a_notice_alone():
    line = "2026-12-01 01:00:00.000\t[P2P1]\tINFO\tblockchain\tsrc/x.cpp:1\t{}\n"

    def added(block: str, height: int) -> list[str]:
        return [line.format(m) for m in ("+++++ BLOCK SUCCESSFULLY ADDED", f"id:\t<{h(block)}>",
                                         f"PoW:\t<{h('pow')}>", f"HEIGHT {height}, difficulty:\t9")]
    log = parse_lines("x", added("a5", 5) + added("a6", 6) + added("a7", 7) + [
        line.format("###### REORGANIZE on height: 5 of 7 with cum_difficulty 30")] +
        added("b5", 5) + added("b6", 6) + [
        line.format("REORGANIZE SUCCESS! on height: 5, new blockchain size: 7"),
        line.format(f"[10.0.0.9:18080 OUT] Received NOTIFY_NEW_FLUFFY_BLOCK <{h('c7')}> (height 8, 1 txes)")])
    assert log.chain == {5: h("b5"), 6: h("b6")}                  # a7 is gone with the old chain
    assert [(f.depth, f.size) for f in log.forks] == [(3, 7)]
    notice = log.seen["block", h("c7")]                           # no ADDED line followed it
    assert (notice.height, notice.from_peer, notice.origin) == (7, "10.0.0.9:18080", False)


def test_rotated_files_are_read_oldest_first(tmp_path):
    for name in ("monerod.log", "monerod.log-2026-12-01-02-00-00", "monerod.log-2026-12-01-01-00-00"):
        (tmp_path / name).write_text("")
    assert [p.name for p in log_files(tmp_path)] == ["monerod.log-2026-12-01-01-00-00",
                                                     "monerod.log-2026-12-01-02-00-00", "monerod.log"]
    assert parse_time("2026-12-01 01:19:40.049") - parse_time("2026-11-30 23:59:59.999") == \
        pytest.approx(4780.05)
    assert parse_time("2026-12-01 01:19:40") is None and parse_time("2026-02-30 01:19:40.049") is None


def test_samples_as_a_run_without_run_json(tmp_path):
    for n in "ab":
        (tmp_path / "daemons" / n).mkdir(parents=True)
        shutil.copy(SAMPLES / f"{n}.log", tmp_path / "daemons" / n / "monerod.log")
    net = propagation(tmp_path)
    tx = next(i for i in net["items"] if i["kind"] == "tx")
    assert (tx["origin"], tx["origin_rpc"], tx["t90"], tx["seen_by"]["b"]["delay"]) == ("a", True, 3.756, 3.756)
    assert tx["seen_by"]["b"]["via"] is None         # 127.0.0.1 is no daemon's own address
    synced = next(i for i in net["items"] if i["hash"] == B161)
    assert (synced["origin"], synced["seen_by"]["a"]["via"]) == ("b", "b")   # bound to 127.77.0.3
    forks = net["forks"]
    assert forks["orphaned"] == [{"hash": A161, "height": 161, "miner": "a", "seen": 2}]
    assert [(r["daemon"], r["height"], r["depth"]) for r in forks["reorgs"]] == [("a", 161, 1)]
    assert (forks["alternative_blocks"], forks["max_depth"], net["by_region"]) == (2, 1, None)


# ------------------------------------------------------------------ the figures, known delays

def test_reach_counts_daemons_by_whole_percent():
    assert reach([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 10) == {"t50": 4, "t90": 8, "t100": 9}
    assert reach([0, 0.2, 0.4], 4) == {"t50": 0.2, "t90": None, "t100": None}


def test_cdf_points_are_thinned_to_at_most_the_limit():
    points = cdf_points([i / 10 for i in range(1000, 0, -1)])
    assert len(points) == 200 and points[0] == [0.5, 0.005] and points[-1] == [100.0, 1.0]
    assert cdf_points([3, 1, 2]) == [[1, 0.3333], [2, 0.6667], [3, 1.0]]


def test_fewer_than_two_daemon_logs_give_nothing(tmp_path):
    assert propagation(FIXTURES / "run-local") is None
    (tmp_path / "daemons" / "only").mkdir(parents=True)
    shutil.copy(SAMPLES / "a.log", tmp_path / "daemons" / "only" / "monerod.log")
    assert propagation(tmp_path) is None
    assert propagation(NET, {"pool-0": {"ip": "127.77.0.1"}, "gone": {"ip": "127.77.0.9"}}) is None


def test_each_item_has_its_origin_delays_and_reach(net):
    assert [(i["kind"], i["height"], i["origin"]) for i in net["items"]] == [
        ("block", 3, "pool-0"), ("block", 4, "shop-0"), ("tx", None, "user-0"), ("tx", None, "user-1"),
        ("block", 5, "pool-0"), ("block", 5, "shop-0"), ("block", 6, "shop-0")]
    reached = {name: tuple(_item(net, name)[f"t{p}"] for p in (50, 90, 100))
               for name in ("b3", "b4", "t1", "t2", "x5", "y5", "y6")}
    assert reached == {"b3": (0.2, 1.0, 1.0), "b4": (0.4, 1.2, 1.2), "t1": (0.1, 0.6, 0.6),
                       "t2": (0.2, None, None), "x5": (0.1, 0.5, 0.5), "y5": (0.55, 1.45, 1.45),
                       "y6": (0.2, 0.52, 0.52)}
    b3 = _item(net, "b3")["seen_by"]
    assert {d: (s["delay"], s["via"]) for d, s in b3.items()} == {
        "pool-0": (0.0, None), "user-0": (0.2, "pool-0"), "user-1": (0.5, "user-0"), "shop-0": (1.0, "pool-0")}
    assert _item(net, "b4")["seen_by"]["user-1"] == {"delay": 1.2, "from": "127.77.0.2:18080", "via": "user-0"}
    assert _item(net, "t1")["seen_by"]["user-0"]["delay"] == 0.0        # its echo at 30.5 is later
    assert _item(net, "t2")["seen"] == 3


def test_summaries_per_kind(net):
    tx, block = net["tx"], net["block"]
    assert (tx["count"], tx["sightings"], block["count"], block["sightings"]) == (2, 5, 5, 15)
    assert tx["t50"] == {"n": 2, "median": 0.15, "p90": 0.2, "max": 0.2}
    assert tx["t90"] == tx["t100"] == {"n": 1, "median": 0.6, "p90": 0.6, "max": 0.6}
    assert block["t50"] == {"n": 5, "median": 0.2, "p90": 0.55, "max": 0.55}
    assert block["t90"] == {"n": 5, "median": 1.0, "p90": 1.45, "max": 1.45}
    assert block["cdf"][0] == [0.1, 0.0667] and block["cdf"][-1] == [1.45, 1.0] and len(block["cdf"]) == 15


def test_bootstrap_blocks_are_left_out_below_the_height_given(net):
    every = propagation(NET, daemons_from_run(json.loads((NET / "run.json").read_text())))
    assert (every["block"]["count"], net["block"]["count"]) == (7, 5)
    assert {i["height"] for i in every["items"]} - {i["height"] for i in net["items"]} == {1, 2}
    assert every["forks"] == net["forks"]


def test_regions_and_the_origin_to_destination_matrix(net):
    blocks, txs = net["by_region"]["block"], net["by_region"]["tx"]
    assert {r: (v["daemons"], v["n"], v["median"], v["p90"]) for r, v in blocks["regions"].items()} == {
        "asia": (1, 2, 0.75, 1.0), "eu": (2, 10, 0.45, 1.2), "us": (1, 3, 0.55, 0.8)}
    assert blocks["matrix"] == {"asia": {"eu": 0.585, "us": 0.55}, "us": {"asia": 0.75, "eu": 0.25}}
    assert {r: v["median"] for r, v in txs["regions"].items()} == {"asia": 0.6, "eu": 0.15, "us": 0.35}
    assert txs["matrix"] == {"eu": {"asia": 0.6, "eu": 0.15, "us": 0.35}}


def test_per_node_table(net):
    assert net["nodes"]["shop-0"] == {
        "region": "asia", "ip": "127.77.0.4", "txs_seen": 1, "txs_originated": 0, "tx_median": 0.6,
        "tx_p90": 0.6, "blocks_seen": 5, "blocks_originated": 3, "block_median": 0.75, "block_p90": 1.0}
    assert [(n["txs_originated"], n["blocks_originated"], n["block_median"])
            for n in net["nodes"].values()] == [(0, 2, 0.55), (0, 3, 0.75), (1, 0, 0.3), (1, 0, 0.52)]


def test_forks_orphans_and_reorgs(net):
    forks = net["forks"]
    assert forks["orphaned"] == [{"hash": h("x5"), "height": 5, "miner": "pool-0", "seen": 4}]
    assert [(r["daemon"], r["t"], r["height"], r["depth"], r["size"], r["ok"]) for r in forks["reorgs"]] == [
        ("pool-0", 51.21, 5, 1, 7, True), ("user-0", 51.31, 5, 1, 7, True), ("user-1", 51.51, 5, 1, 7, True)]
    assert (forks["alternative_blocks"], len(forks["alternatives"]), forks["max_depth"]) == (2, 7, 1)


def test_torn_and_garbage_lines_in_the_run(net):
    assert net["logs"]["shop-0"]["torn"] and net["logs"]["user-1"]["skipped"] == 1
    assert h("z7") not in {i["hash"] for i in net["items"]}     # the torn line's block
    assert h("bad") not in {i["hash"] for i in net["items"]}    # the bad timestamp's transaction


def test_peers_named_from_shadow_yaml_without_run_json(tmp_path):
    shutil.copytree(NET / "daemons", tmp_path / "daemons")
    assert propagation(tmp_path)["items"][0]["seen_by"]["user-0"]["via"] is None
    ips = {"pool-0": "127.77.0.1", "user-0": "127.77.0.2", "user-1": "127.77.0.3", "shop-0": "127.77.0.4"}
    (tmp_path / "shadow.yaml").write_text("hosts:\n" + "".join(
        f"  {name}:\n    network_node_id: 0\n    ip_addr: {ip}\n" for name, ip in ips.items()))
    found = propagation(tmp_path)
    assert found["items"][2]["seen_by"]["user-1"]["via"] == "user-0"
    assert found["nodes"]["user-1"]["ip"] == "127.77.0.3" and found["by_region"] is None


def test_daemons_from_run_json():
    assert daemons_from_run({"network": {"daemons": [{"name": "u", "ip": "1.2.3.4", "region": "eu",
                                                       "node": 0}, "junk"]}}) == \
        {"u": {"region": "eu", "ip": "1.2.3.4", "data_dir": None}}
    assert daemons_from_run(None) is None and daemons_from_run({"network": {"kind": "emulated"}}) is None


# ------------------------------------------------------------------ summary, page, export

def test_summary_has_propagation_without_items():
    summary = summarize(NET)
    assert summary["propagation"]["skip_below_height"] == 2         # the controller's bootstrap
    assert "items" not in summary["propagation"] and summary["propagation"]["block"]["count"] == 5
    text = format_summary(summary)
    assert "Propagation (4 daemons): median time to 90% of daemons: transactions 600ms (of 1), " \
           "blocks 1s (of 5)" in text
    assert "forks: 1 orphaned blocks, 3 reorgs (deepest 1), 2 alternative blocks" in text
    assert "propagation" not in summarize(FIXTURES / "run-local")
    assert "Propagation" not in format_summary(summarize(FIXTURES / "run-local"))


def test_report_page_shows_propagation_only_with_daemon_logs(tmp_path):
    shutil.copytree(NET, tmp_path / "net")
    page = build_report(tmp_path / "net").read_text()
    assert "<h2>Propagation</h2>" in page and 'alt="First-seen delay per daemon (CDF)"' in page
    for text in ("blocks to 90 %", "<td>5 of 5</td><td>1s</td>", "<td class=l>asia</td>",
                 "<td>585ms</td>", "Alternative blocks: 2 · orphaned blocks: 1 · reorganisations: 3",
                 "<td class=l>user-1</td><td class=l>2026-12-01 10:00:51.510</td>"):
        assert text in page, text
    report = json.loads((tmp_path / "net" / "report" / "report.json").read_text())
    assert report["propagation"]["forks"]["orphaned_blocks"] == 1
    assert (tmp_path / "net" / "report" / "propagation_cdf.svg").is_file()
    shutil.copytree(FIXTURES / "run-local", tmp_path / "local")
    page = build_report(tmp_path / "local").read_text()
    assert "Propagation" not in page and not (tmp_path / "local" / "report" / "propagation_cdf.png").exists()


def test_export_writes_propagation_and_forks(tmp_path):
    written = export(NET, tmp_path)
    assert {p.name: n for p, n in written.items()} == {
        "payments.csv": 0, "blocks.csv": 3, "events.csv": 9, "agents.csv": 3,
        "propagation.csv": 27, "forks.csv": 10}
    assert tuple(p.stem for p in written) == TABLES + NETWORK_TABLES
    ids = {"hash": str}
    prop = pd.read_csv(tmp_path / "propagation.csv", dtype=ids)
    row = prop[(prop.hash == h("b3")) & (prop.daemon == "user-1")].iloc[0]
    assert (row.kind, row.height, row.origin, row.region, row.delay_s, row.from_peer, row.from_daemon) == \
        ("block", 3, "pool-0", "eu", 0.5, "127.77.0.2:41000", "user-0")
    assert prop.groupby("kind").size().to_dict() == {"block": 20, "tx": 7}
    assert prop[prop.delay_s == 0].daemon.tolist() == prop[prop.delay_s == 0].origin.tolist()
    forks = pd.read_csv(tmp_path / "forks.csv", dtype=ids)
    assert forks.groupby("kind").size().to_dict() == {"alternative": 7, "reorg": 3}
    orphan_rows = forks[forks.orphaned.fillna(False).astype(bool)]
    assert set(orphan_rows.hash) == {h("x5")} and set(orphan_rows.miner) == {"pool-0"} and len(orphan_rows) == 4
    assert forks[forks.kind == "reorg"][["daemon", "height", "depth", "size"]].values.tolist() == [
        ["pool-0", 5, 1, 7], ["user-0", 5, 1, 7], ["user-1", 5, 1, 7]]
