"""Spy nodes: the scenario key, the overlay every daemon dials the spies on, monerod's peer limit,
the Dandelion++ lines of a daemon's log, and the first-spy estimator (sim.report.spies) on a
hand-made run with known answers, where it shows: summary, report page, export.

tests/report_fixtures/run-spies: run.json's `network` lists pool (127.77.0.1), user-0..2 (.2-.4)
and the spies spy-0 (.5) and spy-1 (.6). Dandelion++ epochs: user-1 fluff, the others stem.
  t1  user-0 (RPC); spy-0 first, from user-0 (right); spy-1 later, from user-1
  t2  user-1 (RPC, fluff epoch); spy-1 first, from user-2 (wrong); spy-0 later, from user-1
  t3  user-2 (RPC, stem epoch, but `Unable to send ... via Dandelion++ stem` 3 ms later: fluffed);
      both spies at the same millisecond, spy-0 from user-2, spy-1 from pool: spy-0 by name (right)
  t4  pool (RPC); no spy saw it (unseen)
  t5  user-0 (RPC); spy-0 first, in a pool line naming no peer (seen in a block: not scored);
      spy-1 later, from user-0
  t6  no daemon got it over RPC (origin unknown)
"""
import hashlib
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

from lang.errors import LoadError
from sim.monero.commands import DEFAULT_OUT_PEERS, Tls, monerod_args, out_peers
from sim.network.plan import plan_network
from sim.report import build_report
from sim.report.daemonlog import parse_lines
from sim.report.export import export
from sim.report.propagation import daemons_from_run, propagation
from sim.report.spies import first_spy, spy_names
from sim.report.summary import format_summary, summarize
from sim.scenario.load import load_scenario
from sim.scenario.topology import build_topology

REPO = Path(__file__).resolve().parents[2]
TREES = REPO / "tests" / "sim_fixtures" / "trees"
RUN = REPO / "tests" / "report_fixtures" / "run-spies"
HEAD = "version: 1\nname: t\nseed: 5\nduration: 10m\n"


def h(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()


def scenario(tmp_path, text: str):
    if not (tmp_path / "trees").exists():
        shutil.copytree(TREES, tmp_path / "trees")
    path = tmp_path / "s.yaml"
    path.write_text(HEAD + text)
    return load_scenario(path)


SPIES = """daemons: {placement: per-host, peers: 2}
groups:
  - {name: idler, tree: trees/idler.yaml, count: 5, wallet: false}
  - {name: spy, tree: trees/idler.yaml, count: 3, wallet: false, spy: true}
"""


# ------------------------------------------------------------------ scenario and overlay

def test_every_daemon_dials_every_spy_and_the_spies_dial_no_one(tmp_path):
    s = scenario(tmp_path, SPIES)
    hosts = {h.name: h for h in build_topology(s, s.agents()).hosts}
    spies = ["spy-0", "spy-1", "spy-2"]
    assert [n for n, host in hosts.items() if host.spy] == spies
    for i in range(5):
        host = hosts[f"idler-{i}"]
        honest, dialled = host.peer_hosts[:2], host.peer_hosts[2:]
        assert dialled == spies and host.peers[2:] == [hosts[n].ip for n in spies]
        assert honest[0] == f"idler-{(i + 1) % 5}" and not set(honest) & set(spies)   # the ring
    assert all(hosts[n].peer_hosts == [] for n in spies)
    ports = iter(range(40000, 41000))
    plan = plan_network(s, s.agents(), lambda ip: next(ports))
    assert sum(1 for link in plan.links if link["to"] in spies) == 15 and len(plan.links) == 25
    record = {d["name"]: d for d in plan.record()["daemons"]}
    assert [n for n, d in record.items() if d.get("spy")] == spies
    assert spy_names({"network": plan.record()}) == spies


def test_the_shipped_scenario_under_shadow_peers_the_same_way(tmp_path):
    from sim.cli import main
    assert main(["generate", str(REPO / "scenarios" / "spies.yaml"), "-o", str(tmp_path / "out")]) == 0
    hosts = yaml.safe_load((tmp_path / "out" / "shadow.yaml").read_text())["hosts"]
    ips = {name: host["ip_addr"] for name, host in hosts.items()}
    spies = [n for n in hosts if n.startswith("spy-")]
    for name, host in hosts.items():
        daemon = host["processes"][0]["args"]
        dialled = {ip for ip in ips.values() if f"--add-exclusive-node {ip}:18080" in daemon}
        if name in spies:                                        # a spy dials no one: a refusing port
            assert dialled == set() and f"--add-exclusive-node {ips[name]}:1" in daemon
        else:
            assert {ips[s] for s in spies} <= dialled and len(dialled) == 3 + 2     # its 3 peers + 2 spies


def test_without_spies_the_overlay_is_unchanged(tmp_path):
    s = scenario(tmp_path, SPIES.replace(", spy: true", ""))
    hosts = build_topology(s, s.agents()).hosts
    assert not any(h.spy for h in hosts) and all(len(h.peer_hosts) == 2 for h in hosts)


@pytest.mark.parametrize("text, message", [
    (SPIES.replace("placement: per-host, ", ""), "spy nodes need `daemons: {placement: per-host}`"),
    (SPIES.replace("placement: per-host", "placement: shared, count: 2"), "spy nodes need"),
    ("daemons: {placement: per-host}\ngroups:\n"
     "  - {name: spy, tree: trees/idler.yaml, wallet: false, spy: true}\n", "every group is a spy"),
    (SPIES.replace("spy: true", "spy: 1"), "expected true or false"),
])
def test_bad_spy_groups_are_refused(tmp_path, text, message):
    with pytest.raises(LoadError) as err:
        scenario(tmp_path, text)
    assert message in str(err.value) and "groups" in str(err.value)


def test_a_daemon_that_dials_more_than_twelve_peers_may(tmp_path):
    assert out_peers(DEFAULT_OUT_PEERS) == [] and out_peers(13) == ["--out-peers", "13"]
    tls = Tls(tmp_path / "ssl.key", tmp_path / "ssl.crt")
    args = monerod_args("11.0.0.1", tmp_path, tls, [f"11.0.0.{i}:18080" for i in range(2, 16)])
    assert args[-2:] == ["--out-peers", "14"] and args.count("--add-exclusive-node") == 14
    assert "--out-peers" not in monerod_args("11.0.0.1", tmp_path, tls, ["11.0.0.2:18080"])


def test_local_daemons_get_the_same_limit(tmp_path):
    from sim.local.processes import Supervisor
    with Supervisor(tmp_path) as sup:
        many = sup.daemon_argv("d", 1, 2, offline=False, peers=tuple(f"127.77.0.{i}:1" for i in range(2, 16)))
        few = sup.daemon_argv("d", 1, 2, offline=False, peers=("127.77.0.2:1",))
    assert many[many.index("--out-peers") + 1] == "14" and "--out-peers" not in few
    alone = sup.daemon_argv("d", 1, 2, offline=False, p2p_ip="127.77.0.9")     # never the seed nodes
    assert alone[alone.index("--add-exclusive-node") + 1] == "127.77.0.9:1"
    assert "--add-exclusive-node" not in sup.daemon_argv("d", 1, 2, offline=True)


# ------------------------------------------------------------------ the log lines

def test_dandelion_epochs_and_stem_failures_are_read():
    line = "2026-12-01 10:00:{:06.3f}\t[P2P{}]\t{}\tnet.p2p.tx\tsrc/cryptonote_protocol/levin_notify.cpp:{}\t{}\n"
    log = parse_lines("x", [
        line.format(5.5, 0, "DEBUG", 604, "Starting new Dandelion++ epoch: stem"),
        line.format(6.0, 3, "DEBUG", 153, "Found 0 out connections having height >= 150"),
        line.format(6.1, 3, "ERROR", 570, "Unable to send transaction(s) via Dandelion++ stem"),
        line.format(6.2, 3, "DEBUG", 436, "Queueing 1 transaction(s) for Dandelion++ fluffing"),
        line.format(9.0, 0, "DEBUG", 604, "Starting new Dandelion++ epoch: fluff")])
    assert [(round(t % 60, 3), mode) for t, mode in log.epochs] == [(5.5, "stem"), (9.0, "fluff")]
    assert [round(t % 60, 3) for t in log.stem_failures] == [6.1]


# ------------------------------------------------------------------ the estimator

@pytest.fixture(scope="module")
def net():
    run = json.loads((RUN / "run.json").read_text())
    return propagation(RUN, daemons_from_run(run)), spy_names(run)


def test_first_spy_guesses_and_accuracy(net):
    found = first_spy(*net)
    assert found["spies"] == ["spy-0", "spy-1"] and found["honest"] == ["pool", "user-0", "user-1", "user-2"]
    assert (found["scored"], found["right"], found["accuracy"], found["no_guess"]) == (3, 2, 0.6667, 0)
    assert (found["in_block"], found["unseen"], found["origin_unknown"], found["origin_spy"]) == (1, 1, 1, 0)
    assert (found["baseline"], found["share"]) == (0.25, 0.3333)
    rows = {g["hash"]: g for g in found["guesses"]}
    assert {h(t): (r["origin"], r["spy"], r["guess"], r["right"], r["mode"]) for t, r in (
        (t, rows[h(t)]) for t in ("t1", "t2", "t3"))} == {
        h("t1"): ("user-0", "spy-0", "user-0", True, "stem"),
        h("t2"): ("user-1", "spy-1", "user-2", False, "fluff"),
        h("t3"): ("user-2", "spy-0", "user-2", True, "fluff")}      # stem epoch, stem failed
    assert h("t5") not in rows
    assert rows[h("t1")]["delay"] == 0.3 and rows[h("t1")]["from"] == "127.77.0.2:40001"


def test_per_mode_origin_and_spy(net):
    found = first_spy(*net)
    assert found["by_mode"] == {"fluff": {"n": 2, "right": 1, "accuracy": 0.5},
                                "stem": {"n": 1, "right": 1, "accuracy": 1.0}}
    assert {o: {k: v for k, v in row.items() if k != "by_mode"} for o, row in found["by_origin"].items()} == {
        "user-0": {"n": 1, "right": 1, "accuracy": 1.0, "modes": ["stem"]},
        "user-1": {"n": 1, "right": 0, "accuracy": 0.0, "modes": ["fluff"]},
        "user-2": {"n": 1, "right": 1, "accuracy": 1.0, "modes": ["fluff"]}}
    assert found["by_origin"]["user-2"]["by_mode"] == {"fluff": {"n": 1, "right": 1, "accuracy": 1.0}}
    assert found["by_spy"] == {"spy-0": {"n": 2, "right": 2, "accuracy": 1.0},
                               "spy-1": {"n": 1, "right": 0, "accuracy": 0.0}}
    assert found["epochs"] == {"pool": ["stem"], "user-0": ["stem"], "user-1": ["fluff"], "user-2": ["stem"]}


def test_no_spies_no_estimate(net):
    network, _spies = net
    assert first_spy(network, []) is None and first_spy(None, ["spy-0"]) is None
    assert first_spy(network, ["spy-9"]) is None                 # not a daemon of the run
    everyone = first_spy(network, network["names"])
    assert everyone is None                                      # nobody left to watch
    assert spy_names(None) == [] and spy_names({"network": {"daemons": "x"}}) == []


# ------------------------------------------------------------------ summary, page, export

def test_summary_report_and_export_show_the_spies(tmp_path):
    summary = summarize(RUN)
    assert summary["spies"]["accuracy"] == 0.6667 and "guesses" not in summary["spies"]
    text = format_summary(summary)
    assert "Spies (2 of 6 daemons): first-spy accuracy 67% (2/3), a random guess 25%" in text
    assert "by the origin's Dandelion++ mode: fluff 50% (1/2), stem 100% (1/1)" in text
    shutil.copytree(RUN, tmp_path / "run")
    page = build_report(tmp_path / "run").read_text()
    assert "<h2>Spy nodes</h2>" in page and "<td class=l>user-2</td><td class=l>fluff</td><td>1</td>" in page
    written = {p.name: n for p, n in export(RUN, tmp_path / "export").items()}
    assert written["spies.csv"] == 3
    rows = pd.read_csv(tmp_path / "export" / "spies.csv", dtype={"hash": str})
    assert rows.right.sum() == 2 and set(rows.columns) >= {"origin", "mode", "spy", "guess", "right"}
    assert "spies" not in summarize(REPO / "tests" / "report_fixtures" / "run-network")
