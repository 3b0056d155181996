"""The plan of a local networked run: daemons on their own loopback addresses, one relay link per
overlay edge with the latency, rate and loss Shadow would give the same two hosts."""
import itertools
import shutil
from pathlib import Path

import pytest

from sim.network.plan import local_ip, networked, plan_network
from sim.scenario.load import load_scenario

REPO = Path(__file__).resolve().parents[2]
TREES = REPO / "tests" / "sim_fixtures" / "trees"
HEAD = "version: 1\nname: t\nseed: 5\nduration: 10m\n"


def scenario(tmp_path, text: str):
    if not (tmp_path / "trees").exists():
        shutil.copytree(TREES, tmp_path / "trees")
    path = tmp_path / "s.yaml"
    path.write_text(HEAD + text)
    return load_scenario(path)


def plan(s):
    ports = itertools.count(40000)
    return plan_network(s, s.agents(), lambda ip: next(ports))


def test_a_line_of_five_is_four_links_of_the_switch_latency(tmp_path):
    s = scenario(tmp_path, """network: {type: switch, latency: 100ms, bandwidth: 8 Mbit}
daemons: {placement: per-host, overlay: line}
groups:
  - {name: idler, tree: trees/idler.yaml, count: 5, wallet: false}
""")
    p = plan(s)
    assert [d.name for d in p.daemons] == [f"idler-{i}" for i in range(5)]
    assert [(link["from"], link["to"]) for link in p.links] == [(f"idler-{i}", f"idler-{i + 1}") for i in range(4)]
    assert all(link["delay"] == pytest.approx(0.1) for link in p.links)
    assert all(link["rate_forward"] == link["rate_back"] == 8_000_000 for link in p.links)
    ips = [d.ip for d in p.daemons]
    assert ips == ["127.77.0.1", "127.77.0.2", "127.77.0.3", "127.77.0.4", "127.77.0.5"]
    first = p.links[0]
    assert first["source"] == "127.77.0.1" and first["connect"] == ["127.77.0.2", p.daemons[1].p2p_port]
    assert first["listen"][0] == "127.77.0.2" and first["listen"][1] != p.daemons[1].p2p_port
    assert p.daemons[0].peers == [f"127.77.0.2:{first['listen'][1]}"] and p.daemons[4].peers == []
    assert p.agent_daemon == {f"idler-{i}": f"idler-{i}" for i in range(5)}


def test_regions_route_through_the_fastest_path_and_compound_loss(tmp_path):
    s = scenario(tmp_path, """network:
  type: regions
  regions: {a: {bandwidth: 100 Mbit}, b: {bandwidth: 10 Mbit}, c: {bandwidth: 100 Mbit}}
  latency: {a: 5ms, b: 5ms, c: 5ms, a-b: 40ms, b-c: 60ms}
  packet_loss: {a-b: 0.1, b-c: 0.2}
daemons: {placement: per-host, peers: 2}
groups:
  - {name: idler, tree: trees/idler.yaml, count: 3, wallet: false, region: [a, b, c]}
""")
    p = plan(s)
    region = {d.name: d.region for d in p.daemons}
    assert region == {"idler-0": "a", "idler-1": "b", "idler-2": "c"}
    by_pair = {frozenset((link["from"], link["to"])): link for link in p.links}
    a_c = by_pair[frozenset(("idler-0", "idler-2"))]
    assert a_c["delay"] == pytest.approx(0.1)                    # a-b-c: 40 + 60 ms
    assert a_c["loss"] == pytest.approx(1 - 0.9 * 0.8)
    a_b = by_pair[frozenset(("idler-0", "idler-1"))]
    assert a_b["delay"] == pytest.approx(0.04) and a_b["loss"] == pytest.approx(0.1)
    assert min(a_b["rate_forward"], a_b["rate_back"]) == 10_000_000   # b's hosts have 10 Mbit


def test_shared_daemons_serve_the_agents_in_turn(tmp_path):
    s = scenario(tmp_path, """daemons: {placement: shared, count: 2}
groups:
  - {name: idler, tree: trees/idler.yaml, count: 3, wallet: false}
""")
    assert networked(s)
    p = plan(s)
    assert [d.name for d in p.daemons] == ["daemon-0", "daemon-1"]
    assert p.agent_daemon == {"idler-0": "daemon-0", "idler-1": "daemon-1", "idler-2": "daemon-0"}


def test_one_daemon_is_not_a_network(tmp_path):
    assert not networked(scenario(tmp_path, "groups:\n  - {name: idler, tree: trees/idler.yaml}\n"))
    assert not networked(scenario(tmp_path, "daemons: {placement: shared}\n"
                                            "groups:\n  - {name: idler, tree: trees/idler.yaml}\n"))


def test_local_addresses():
    assert local_ip("11.0.1.7") == "127.77.1.7"
    with pytest.raises(ValueError):
        local_ip("11.1.0.1")


def test_jitter_reaches_the_links_and_the_graph(tmp_path):
    s = scenario(tmp_path, """network:
  type: regions
  regions: {a: {bandwidth: 100 Mbit}, b: {bandwidth: 100 Mbit}}
  latency: {a: 5ms, b: 5ms, a-b: 40ms}
  jitter: {a-b: 20ms}
daemons: {placement: per-host, peers: 1}
groups:
  - {name: idler, tree: trees/idler.yaml, count: 3, wallet: false, region: [a, b, a]}
""")
    p = plan(s)
    jitter = {(link["from"], link["to"]): link["jitter"] for link in p.links}
    assert jitter[("idler-0", "idler-1")] == pytest.approx(0.02)
    assert jitter[("idler-2", "idler-0")] == 0.0               # inside region a: none given
    from sim.scenario.topology import build_topology
    assert 'jitter "20 ms"' in build_topology(s, s.agents()).gml


def test_a_negative_jitter_is_refused(tmp_path):
    from lang.errors import LoadError
    with pytest.raises(LoadError, match="network.jitter: duration must not be negative, got -1"):
        scenario(tmp_path, "network: {type: switch, jitter: -1}\n"
                           "groups:\n  - {name: idler, tree: trees/idler.yaml}\n")
