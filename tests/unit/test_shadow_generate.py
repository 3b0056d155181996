"""`monerosim generate`: golden files for the templates, the shape of every host, the daemon
overlay, placements and networks, and bad input (exit 2, nothing written).

Regenerate the golden files after an intended change: MONEROSIM_UPDATE_GOLDEN=1 pytest -k golden
"""
import hashlib
import json
import os
import re
import shutil
from collections import deque
from pathlib import Path

import pytest

from lang.errors import LoadError
from sim import cli
from sim.scenario.load import load_scenario
from sim.shadow import generate as gen
from sim.scenario import topology
from sim.shadow.check import check_text
from sim.shadow.configyaml import load_config_yaml

REPO = Path(__file__).resolve().parents[2]
SCENARIOS = REPO / "scenarios"
TREES = REPO / "tests" / "sim_fixtures" / "trees"
GOLDEN = REPO / "tests" / "shadow" / "golden"
UPDATE = os.environ.get("MONEROSIM_UPDATE_GOLDEN") == "1"
OUT = Path("/sim/out")
FIXED = {"python": "/opt/venv/bin/python", "monerod": "/usr/bin/monerod",
         "wallet_rpc": "/usr/bin/monero-wallet-rpc", "repo": REPO, "python_path": []}
TEMPLATES = {"small": 15, "hundred": 106, "marketplaces": 225, "shadow-1000": 1000}


def paths(out=OUT, data=Path("/sim/data")) -> gen.Paths:
    return gen.Paths(out, data, **FIXED)


def render(scenario):
    """(config text, topology, parsed config) after the checker passed it."""
    text, topo = gen.render(scenario, paths())
    problems, _ = check_text(text, str(OUT / "shadow.yaml"), OUT, gml_files={str(OUT / "topology.gml"): topo.gml})
    assert problems == []
    return text, topo, load_config_yaml(text)


def golden(name: str, actual: str) -> None:
    path = GOLDEN / name
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, encoding="utf-8")
    assert path.exists(), f"no golden file {path}: run with MONEROSIM_UPDATE_GOLDEN=1"
    assert actual == path.read_text(encoding="utf-8"), f"{name} changed: review, then MONEROSIM_UPDATE_GOLDEN=1"


def scenario_file(tmp_path, text: str, name="s.yaml") -> Path:
    if not (tmp_path / "trees").exists():
        shutil.copytree(TREES, tmp_path / "trees")
    path = tmp_path / name
    path.write_text(text)
    return path


HEAD = "version: 1\nname: t\nseed: 5\nduration: 10m\ndrain: 1m\n"
SMALL = HEAD + """groups:
  - {name: pool, tree: trees/fake-pool.yaml, count: 2, start: 10s, stagger: 3s, params: {hashrate: [60, 40]}}
  - {name: idler, tree: trees/idler.yaml, count: 3, wallet: false, stop: early}
"""


# --------------------------------------------------------------------------- golden files

def test_small_golden():
    text, topo, _ = render(load_scenario(SCENARIOS / "small.yaml"))
    golden("small.shadow.yaml", text.replace(str(REPO), "@REPO@"))
    golden("small.topology.gml", topo.gml)


@pytest.mark.parametrize("name", ["hundred", "marketplaces", "shadow-1000"])
def test_template_goldens(name):
    text, topo, data = render(load_scenario(SCENARIOS / f"{name}.yaml"))
    text = text.replace(str(REPO), "@REPO@")
    firsts = {}
    for host in data["hosts"]:
        group = host.rsplit("-", 1)[0]
        if group not in firsts:
            firsts[group] = re.search(rf"^  {host}:\n(?:    .*\n)+", text, re.M).group().splitlines()
    summary = {"hosts": len(data["hosts"]), "sha256": hashlib.sha256(text.encode()).hexdigest(),
               "first_host_of_each_group": firsts, "topology.gml": topo.gml.splitlines()}
    golden(f"{name}.summary.json", json.dumps(summary, indent=1) + "\n")


@pytest.mark.parametrize("name, hosts", TEMPLATES.items())
def test_templates_load_with_their_trees(name, hosts):
    scenario = load_scenario(SCENARIOS / f"{name}.yaml", check_trees=True)
    assert len(scenario.agents()) == hosts


# --------------------------------------------------------------------------- shape of a host

def test_every_host_runs_daemon_wallet_agent_in_order(tmp_path):
    scenario = load_scenario(scenario_file(tmp_path, SMALL))
    _, _, data = render(scenario)
    hosts = data["hosts"]
    assert list(hosts) == ["pool-0", "pool-1", "idler-0", "idler-1", "idler-2"]
    assert data["general"]["stop_time"] == "12 min" and data["general"]["seed"] == 5
    assert data["general"]["model_unblocked_syscall_latency"] is True
    for agent in scenario.agents():
        procs = hosts[agent.id]["processes"]
        names = [Path(p["path"]).name for p in procs]
        assert names == (["monerod", "monero-wallet-rpc", "python"] if agent.wallet else ["monerod", "python"])
        starts = [p["start_time"] for p in procs]
        t = agent.start
        expect = [t, t + 1, t + 2] if agent.wallet else [t, t + 2]
        assert starts == [gen.format_time(s) for s in expect]
        runner = procs[-1]
        stop = "10 min" if agent.stop == "early" else "11 min"       # duration, duration + drain
        assert (runner["shutdown_time"], runner["shutdown_signal"]) == (stop, "SIGTERM")
        assert runner["expected_final_state"] == {"exited": 0}
        assert all(p["expected_final_state"] == "running" and "shutdown_time" not in p for p in procs[:-1])
    assert hosts["idler-0"]["processes"][-1]["shutdown_time"] == "10 min"
    assert hosts["pool-0"]["processes"][-1]["shutdown_time"] == "11 min"
    assert [hosts[h]["processes"][0]["start_time"] for h in ("pool-0", "pool-1")] == ["10 s", "13 s"]


def test_the_agent_environment_is_exact(tmp_path):
    _, topo, data = render(load_scenario(scenario_file(tmp_path, SMALL)))
    pool, idler = (data["hosts"][h]["processes"][-1] for h in ("pool-1", "idler-0"))
    ip = data["hosts"]["pool-1"]["ip_addr"]
    assert pool["args"] == f"-m engine run {tmp_path / 'trees' / 'fake-pool.yaml'}"
    assert dict(pool["environment"]) == {
        "HOME": "/sim/data", "PATH": "/usr/local/bin:/usr/bin:/bin", "PYTHONPATH": str(REPO),
        "PYTHONHASHSEED": "0", "PYTHONUNBUFFERED": "1", "PYTHONDONTWRITEBYTECODE": "1", "MALLOC_ARENA_MAX": "1",
        "MONEROSIM_SHARED": "/sim/data/shared", "MONEROSIM_JOURNAL": "/sim/data/journals",
        "MONEROSIM_STATE": "/sim/data/state", "MONEROSIM_STATUS": "/sim/data/status",
        "MONEROSIM_SEED": "5",
        "MONEROSIM_WALLET": "http://127.0.0.1:18083", "MONEROSIM_AGENT": "pool-1",
        "MONEROSIM_DAEMON": f"http://{ip}:18081", "MONEROSIM_PARAMS": '{"hashrate":40}'}
    assert "MONEROSIM_WALLET" not in idler["environment"] and "MONEROSIM_PARAMS" not in idler["environment"]
    monerod, wallet = data["hosts"]["pool-1"]["processes"][:2]
    assert dict(monerod["environment"]) == dict(wallet["environment"]) == {
        "HOME": "/sim/data", "LD_PRELOAD": str(REPO / "build" / "monero_shadow.so")}
    margs, wargs = monerod["args"].split(), wallet["args"].split()
    for flag, value in (("--rpc-bind-ip", ip), ("--p2p-bind-ip", ip), ("--data-dir", "/sim/data/daemons/pool-1")):
        assert margs[margs.index(flag) + 1] == value
    assert "--confirm-external-bind" in margs and "--offline" not in margs and "--seed-node" not in margs
    assert "--regtest" in margs and "--keep-fakechain" in margs and "--no-igd" in margs
    for flag, value in (("--daemon-address", f"{ip}:18081"), ("--rpc-bind-ip", "127.0.0.1"),
                        ("--wallet-dir", "/sim/data/wallets/pool-1"),
                        ("--shared-ringdb-dir", "/sim/data/ringdb/pool-1")):
        assert wargs[wargs.index(flag) + 1] == value
    assert "--disable-rpc-login" in wargs


# tree-runner options a Shadow host leaves unset: the clock is Shadow's, the rest keep defaults
NOT_UNDER_SHADOW = {"tree", "time_scale", "clock_origin", "lockstep", "virtual", "stop_after", "idle", "rpc_timeout",
                    "log_level", "private_daemon"}   # private_daemon: only with that group key (test below)


def test_every_tree_runner_option_is_set_or_deliberately_left_out(tmp_path):
    from engine.options import ENV
    text = SMALL.replace("count: 2, start", "count: 2, plugins: [tests.engine.plugin_leaves], start") \
        + "wallet_login: {user: u, password: p}\n"
    _, _, data = render(load_scenario(scenario_file(tmp_path, text)))
    env = data["hosts"]["pool-0"]["processes"][-1]["environment"]
    wanted = {ENV[dest] for dest in ENV if dest not in NOT_UNDER_SHADOW}
    assert wanted - set(env) == set(), "a new tree-runner option: set it in sim/shadow/generate.py or " \
                                       "add it to NOT_UNDER_SHADOW"
    assert env["MONEROSIM_PLUGINS"] == "tests.engine.plugin_leaves"


def test_monero_runs_under_shadow_options(tmp_path):
    """The preload works only with Shadow's libc preload off; the clock-read cost ends Monero's
    start-up calibration (docs/shadow.md)."""
    _, _, data = render(load_scenario(scenario_file(tmp_path, SMALL)))
    assert dict(data["experimental"]) == {"use_preload_libc": False, "unblocked_vdso_latency": "1 us"}
    assert data["general"]["model_unblocked_syscall_latency"] is True


def test_importable_plugin_folders_reach_the_agents(tmp_path, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(["plugins", str(REPO), "", "/abs/x", "plugins"]))
    scenario = load_scenario(scenario_file(tmp_path, SMALL))
    text, _ = gen.render(scenario, gen.Paths(OUT, Path("/sim/data"), **{**FIXED, "python_path": gen._importable()}))
    env = load_config_yaml(text)["hosts"]["pool-0"]["processes"][-1]["environment"]
    assert env["PYTHONPATH"].split(os.pathsep) == [str(REPO), os.path.abspath("plugins"), "/abs/x"]


def test_without_the_preload_library_nothing_is_generated(tmp_path):
    scenario = load_scenario(scenario_file(tmp_path, SMALL))
    with pytest.raises(gen.GenerateError, match="monero_shadow.so: missing.*make deps"):
        gen.generate(scenario, gen.Paths(tmp_path / "out", tmp_path / "out", **{**FIXED,
                                                                          "preload": tmp_path / "monero_shadow.so"}))
    assert not (tmp_path / "out").exists()


def test_ips_are_unique_and_the_daemons_form_a_connected_overlay():
    _, _, data = render(load_scenario(SCENARIOS / "hundred.yaml"))
    ips = {name: host["ip_addr"] for name, host in data["hosts"].items()}
    assert len(set(ips.values())) == len(ips) and list(ips.values())[:2] == ["11.0.0.1", "11.0.0.2"]
    by_ip = {ip: name for name, ip in ips.items()}
    links = {name: set() for name in ips}
    for name, host in data["hosts"].items():
        args = host["processes"][0]["args"].split()
        peers = [args[i + 1].split(":")[0] for i, a in enumerate(args) if a == "--add-exclusive-node"]
        assert len(peers) == 4 and ips[name] not in peers
        for peer in peers:
            links[name].add(by_ip[peer])
            links[by_ip[peer]].add(name)
    seen, todo = {"controller"}, deque(["controller"])
    while todo:
        for nxt in links[todo.popleft()] - seen:
            seen.add(nxt)
            todo.append(nxt)
    assert seen == set(ips)


def test_addresses_skip_dot_0_and_dot_255():
    ips = topology.ip_addresses(600)
    assert ips[253:256] == ["11.0.0.254", "11.0.1.1", "11.0.1.2"]
    assert len(set(ips)) == 600 and not any(ip.endswith((".0", ".255")) for ip in ips)


def test_peer_overlay_sizes():
    assert topology.peer_overlay(1, 4, 0) == [[]]
    assert topology.peer_overlay(2, 4, 0) == [[1], [0]]
    assert all(len(p) == 3 and i not in p for i, p in enumerate(topology.peer_overlay(4, 8, 0)))


def test_same_seed_same_config_other_seed_other_overlay_and_draws(tmp_path):
    text = SMALL.replace("params: {hashrate: [60, 40]}", "params: {hashrate: {per_agent: {uniform: {low: 1, high: 99}}}}")
    a = render(load_scenario(scenario_file(tmp_path, text)))[0]
    assert render(load_scenario(scenario_file(tmp_path, text)))[0] == a
    b = render(load_scenario(scenario_file(tmp_path, text.replace("seed: 5", "seed: 6"))))[0]
    assert a != b
    assert a.replace("MONEROSIM_SEED: \"5\"", "") != b.replace("MONEROSIM_SEED: \"6\"", "")


# --------------------------------------------------------------------------- placements and networks

def test_shared_daemons(tmp_path):
    text = SMALL + "daemons: {placement: shared, count: 2, peers: 1}\n"
    _, _, data = render(load_scenario(scenario_file(tmp_path, text)))
    hosts = data["hosts"]
    assert list(hosts)[-2:] == ["daemon-0", "daemon-1"]
    d0, d1 = hosts["daemon-0"]["ip_addr"], hosts["daemon-1"]["ip_addr"]
    assert [Path(p["path"]).name for p in hosts["daemon-0"]["processes"]] == ["monerod"]
    assert f"--add-exclusive-node {d1}:18080" in hosts["daemon-0"]["processes"][0]["args"]
    assert [Path(p["path"]).name for p in hosts["pool-0"]["processes"]] == ["monero-wallet-rpc", "python"]
    assert hosts["pool-0"]["processes"][1]["environment"]["MONEROSIM_DAEMON"] == f"http://{d0}:18081"
    assert hosts["pool-1"]["processes"][1]["environment"]["MONEROSIM_DAEMON"] == f"http://{d1}:18081"
    assert f"--daemon-address {d1}:18081" in hosts["pool-1"]["processes"][0]["args"]


def test_regions_put_bandwidth_on_nodes(tmp_path):
    text = SMALL.replace("start: 10s,", "start: 10s, region: us, host_bandwidth: 1 Gbit,") + """network:
  type: regions
  regions: {eu: {bandwidth: 100 Mbit}, us: {bandwidth_down: 50 Mbit, bandwidth_up: 10 Mbit}}
  latency: {eu: 5ms, us: 10ms, eu-us: 80ms}
  packet_loss: 0.001
"""
    _, topo, data = render(load_scenario(scenario_file(tmp_path, text)))
    nodes = {n: data["hosts"][h]["network_node_id"] for n, h in (("pool", "pool-0"), ("idler0", "idler-0"),
                                                                    ("idler1", "idler-1"))}
    assert nodes == {"pool": 0, "idler0": 1, "idler1": 2}    # pools: us at 1 Gbit; idlers: eu, us by turn
    assert 'label "us 1 Gbit/1 Gbit"' in topo.gml and 'label "eu"' in topo.gml
    assert topo.gml.count("edge [") == 6 and "packet_loss 0.001" in topo.gml
    assert "bandwidth_down" not in str(dict(data["hosts"]["pool-0"]))


def test_a_gml_network(tmp_path):
    (tmp_path / "net.gml").write_text((REPO / "tests" / "shadow" / "good" / "net.gml").read_text())
    text = SMALL + "network: {type: gml, file: net.gml}\n"
    with pytest.raises(LoadError) as info:      # hosts go round robin on 0, 7, 0, …: 7 has no bandwidth
        load_scenario(scenario_file(tmp_path, text))
    assert "groups[0].name: node 7 of" in str(info.value) and "give the group a host_bandwidth" in str(info.value)
    text = text.replace("start: 10s,", "start: 10s, network_node: 7, host_bandwidth: {down: 20 Mbit, up: 5 Mbit},") \
        .replace("stop: early}", "stop: early, network_node: [0]}")
    _, topo, data = render(load_scenario(scenario_file(tmp_path, text)))
    pool, idler = data["hosts"]["pool-0"], data["hosts"]["idler-1"]
    assert (pool["network_node_id"], pool["bandwidth_down"], pool["bandwidth_up"]) == (7, "20 Mbit", "5 Mbit")
    assert idler["network_node_id"] == 0 and "bandwidth_down" not in idler
    assert topo.gml == (tmp_path / "net.gml").read_text()


def test_a_gml_graph_that_cannot_carry_the_hosts_is_bad_input(tmp_path, capsys):
    gml = (REPO / "tests" / "shadow" / "good" / "net.gml").read_text()
    (tmp_path / "net.gml").write_text(gml.replace("edge [\n    source 7\n    target 0", "edge [\n    source 0\n"
                                                                                        "    target 0"))
    text = SMALL.replace("start: 10s,", "start: 10s, network_node: [0, 7], host_bandwidth: 1 Gbit,") \
        .replace("stop: early}", "stop: early, network_node: 0}") + "network: {type: gml, file: net.gml}\n"
    path = scenario_file(tmp_path, text)
    assert cli.main(["generate", str(path), "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.replace(str(path), "S")
    assert f"S:9:28: network.file: {tmp_path / 'net.gml'}:32: duplicate edge: 2 edges between nodes 0 and 0" in err
    assert "node(s) 7 cannot reach node 0 and back" in err and "monerosim bug" not in err


# --------------------------------------------------------------------------- writing, and refusing

@pytest.fixture
def openssl():
    if shutil.which("openssl") is None:
        pytest.skip("openssl not installed (make installs it)")


def test_generate_writes_config_graph_and_data_root(tmp_path, capsys, openssl):
    out = tmp_path / "out"
    args = ["generate", str(scenario_file(tmp_path, SMALL)), "-o", str(out), "--python", "/usr/bin/python3"]
    assert cli.main(args) == 0
    assert capsys.readouterr().out.startswith(f"{out / 'shadow.yaml'}: 5 hosts, 12 processes")
    assert cli.main(["check-shadow", str(out / "shadow.yaml")]) == 0
    for sub in ("shared/registry", "shared/signals", "journals", "daemons", "wallets", "ringdb", "tls/ssl.key",
                "tls/ssl.crt", "scenario.yaml"):
        assert (out / sub).exists(), sub
    assert cli.main(args) == 2
    assert "already holds shadow.yaml" in capsys.readouterr().err
    assert cli.main(args + ["--force", "--data-root", str(tmp_path / "data")]) == 0
    assert (tmp_path / "data" / "journals").is_dir()
    assert '"/usr/bin/python3"' in (out / "shadow.yaml").read_text()


@pytest.mark.parametrize("text, expected", [
    (SMALL.replace("count: 2, start", "count: 0, start"), "S:7:53: groups[0].count: must be at least 1"),
    (SMALL.replace("seed: 5", "seed: 4294967296"), "S:3:7: seed: Shadow's general.seed is 32-bit"),
    (SMALL.replace("stop: early}", "stop: early, start: 9m59s}"),
     "S:8:12: groups[1].name: agent idler-0 starts its tree-runner at 601s"),
    (SMALL.replace("name: idler", "name: daemon") + "daemons: {placement: shared, count: 3}\n",
     "S:8:12: groups[1].name: agent daemon-0 has the name of a shared daemon's host: rename the group"),
])
def test_bad_input_exits_2_and_writes_nothing(tmp_path, capsys, text, expected):
    path = scenario_file(tmp_path, text)
    assert cli.main(["generate", str(path), "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.replace(str(path), "S").startswith(expected), err
    assert "Traceback" not in err and not (tmp_path / "out").exists()


def test_a_generator_bug_is_caught_by_the_checker(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(topology, "ip_addresses", lambda n: ["11.0.0.1"] * n)
    path = scenario_file(tmp_path, SMALL)
    assert cli.main(["generate", str(path), "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "breaks Shadow's rules (a monerosim bug)" in err
    assert "ip address: 11.0.0.1 is also the address of host 'pool-0'" in err
    assert not (tmp_path / "out").exists()


def test_wallet_login_reaches_wallet_rpc_and_tree_runner(tmp_path):
    _, _, data = render(load_scenario(scenario_file(tmp_path, SMALL + "wallet_login: {user: sim, password: pw}\n")))
    wallet, runner = data["hosts"]["pool-0"]["processes"][1:]
    assert "--rpc-login sim:pw" in wallet["args"] and "--disable-rpc-login" not in wallet["args"]
    assert runner["environment"]["MONEROSIM_WALLET_LOGIN"] == "sim:pw"


def test_extra_arguments_replace_or_add_options(tmp_path):
    text = SMALL + 'monerod_args: ["--log-level", "2", "--max-concurrency=1"]\nwallet_rpc_args: [--log-level=1]\n'
    _, _, data = render(load_scenario(scenario_file(tmp_path, text)))
    monerod, wallet = (p["args"].split() for p in data["hosts"]["pool-0"]["processes"][:2])
    assert monerod.count("--log-level") == 1 and monerod[monerod.index("--log-level") + 1] == "2"
    assert monerod[-1] == "--max-concurrency=1"
    assert "--log-level=1" in wallet and "--log-level" not in wallet


@pytest.mark.parametrize("text", ["plain", "", "quote \" and \\ backslash", "line\nbreak\ttab", "é 日本 😀",
                                  "\u2028 \x85 \ufeff \x7f \x00", "{\"json\": [1, 2]}", "# not a comment", "*alias"])
def test_strings_survive_the_yaml_writer(text):
    from sim.shadow.emit import key, quote
    assert load_config_yaml(f"a: {quote(text)}\n")["a"] == text
    assert list(load_config_yaml(f"{key(text or 'x')}: 1\n")) == [text or "x"]


@pytest.mark.parametrize("name, plain", [("user-0", True), ("a.b", True), ("true", False), ("1", False),
                                         ("1.5", False), ("null", False), ("0x1f", False), ("1e5", False)])
def test_host_names_are_quoted_only_when_yaml_would_change_them(name, plain):
    from sim.shadow.emit import key
    assert (key(name) == name) is plain
    assert list(load_config_yaml(f"{key(name)}: 1\n")) == [name]


def test_params_reach_the_agent_unchanged(tmp_path):
    text = SMALL.replace("params: {hashrate: [60, 40]}",
                         "params: {hashrate: [60, 40], note: \"é \\\" \\\\ 😀\", every: {exponential: {mean: 5m}}}")
    scenario = load_scenario(scenario_file(tmp_path, text))
    _, _, data = render(scenario)
    for agent in scenario.agents()[:2]:
        env = data["hosts"][agent.id]["processes"][-1]["environment"]
        assert json.loads(env["MONEROSIM_PARAMS"]) == agent.params


def test_a_private_daemon_group_gets_an_offline_monerod_on_its_host(tmp_path):
    text = SMALL.replace("params: {hashrate: [60, 40]}}", "params: {hashrate: [60, 40]}, private_daemon: true}")
    _, _, data = render(load_scenario(scenario_file(tmp_path, text)))
    procs = data["hosts"]["pool-1"]["processes"]
    assert [Path(p["path"]).name for p in procs] == ["monerod", "monerod", "monero-wallet-rpc", "python"]
    private = procs[1]["args"].split()
    assert "--offline" in private          # dials no one (its only exclusive node is its own port 1)
    assert [private[i + 1] for i, a in enumerate(private) if a == "--add-exclusive-node"] == ["127.0.0.1:1"]
    for option, value in (("--rpc-bind-ip", "127.0.0.1"), ("--rpc-bind-port", str(gen.PRIVATE_RPC)),
                          ("--p2p-bind-ip", "127.0.0.1"), ("--data-dir", "/sim/data/private/pool-1")):
        assert private[private.index(option) + 1] == value
    assert procs[1]["start_time"] == procs[0]["start_time"]
    assert procs[-1]["environment"]["MONEROSIM_PRIVATE_DAEMON"] == f"http://127.0.0.1:{gen.PRIVATE_RPC}"
    assert "MONEROSIM_PRIVATE_DAEMON" not in data["hosts"]["idler-0"]["processes"][-1]["environment"]
