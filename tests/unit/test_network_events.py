"""Network events: the scenario's `events:` (checked like the rest of the scenario), what each
does to the links (`NetworkState`), and the relay applying link states on SIGUSR1 between real
sockets (cut: connections reset and refused; healed; a new delay)."""
from __future__ import annotations

import itertools
import shutil
import socket
import time
from pathlib import Path

import pytest

from lang.errors import LoadError
from sim.network.events import NetworkState
from sim.network.links import write_plan
from sim.network.plan import plan_network
from sim.network.relay import Relay
from sim.scenario.load import load_scenario
from tests.unit.test_network_relay import BOUND, NEAR, _connect, _round_trips, _spec, echo  # noqa: F401

REPO = Path(__file__).resolve().parents[2]
TREES = REPO / "tests" / "sim_fixtures" / "trees"
REGIONS = """version: 1
name: t
seed: 5
duration: 10m
network:
  type: regions
  regions: {eu: {bandwidth: 100 Mbit}, us: {bandwidth: 100 Mbit}}
  latency: {eu: 10ms, us: 10ms, eu-us: 150ms}
daemons: {placement: per-host, peers: 2}
groups:
  - {name: pool, tree: trees/idler.yaml, count: 2, wallet: false, region: [eu, us]}
  - {name: idler, tree: trees/idler.yaml, count: 4, wallet: false, region: [eu, us]}
"""


def scenario(tmp_path, events: str, text: str = REGIONS):
    if not (tmp_path / "trees").exists():
        shutil.copytree(TREES, tmp_path / "trees")
    path = tmp_path / "s.yaml"
    path.write_text(text + events)
    return load_scenario(path)


def state_of(s):
    ports = itertools.count(40000)
    return NetworkState(plan_network(s, s.agents(), lambda ip: next(ports)))


def test_a_partition_cuts_the_links_across_and_a_heal_restores_them(tmp_path):
    s = scenario(tmp_path, "events:\n  - {at: 1m, kind: partition, regions: [us]}\n  - {at: 2m, kind: heal}\n"
                           "  - {at: 3m, kind: partition, groups: [pool]}\n")
    state = state_of(s)
    region = {h.name: h.region for h in state.plan.hosts.values()}
    links = state.apply(s.events[0])
    ends = {link["name"]: (link["from"], link["to"]) for link in state.plan.links}
    across = {name for name, (a, b) in ends.items() if region[a] != region[b]}
    assert across and {name for name, st in links.items() if st["cut"]} == across
    assert not any(st["cut"] for st in state.apply(s.events[1]).values())
    pools = {name for name, (a, b) in ends.items() if a.startswith("pool") != b.startswith("pool")}
    assert {name for name, st in state.apply(s.events[2]).items() if st["cut"]} == pools


def test_a_latency_event_routes_every_link_again(tmp_path):
    s = scenario(tmp_path, "events:\n  - {at: 1m, kind: latency, link: eu-us, latency: 400ms}\n"
                           "  - {at: 2m, kind: loss, link: '*', loss: 0.1}\n")
    state = state_of(s)
    region = {h.name: h.region for h in state.plan.hosts.values()}
    ends = {link["name"]: (link["from"], link["to"]) for link in state.plan.links}
    links = state.apply(s.events[0])
    for name, (a, b) in ends.items():
        assert links[name]["delay"] == pytest.approx(0.4 if region[a] != region[b] else 0.01), name
        assert not links[name]["cut"] and links[name]["loss"] == 0
    links = state.apply(s.events[1])
    assert all(st["loss"] == pytest.approx(0.1) for st in links.values())     # one link per path
    assert links[next(iter(ends))]["delay"] in (pytest.approx(0.4), pytest.approx(0.01))


@pytest.mark.parametrize("events, message", [
    ("  - {at: 1m, kind: heal}\n", "events[0].kind: heal: no partition before it to heal"),
    ("  - {at: 1m, kind: partition}\n", "events[0].kind: a partition names either regions or groups"),
    ("  - {at: 1m, kind: partition, regions: [eu, us]}\n",
     "events[0].regions: every region is named: nothing is left on the other side"),
    ("  - {at: 1m, kind: partition, groups: [pools]}\n",
     "events[0].groups[0]: unknown group 'pools' (did you mean 'pool'?) (groups: pool, idler)"),
    ("  - {at: 1m, kind: latency, link: eu-us}\n", "events[0].kind: a latency event needs latency"),
    ("  - {at: 1m, kind: loss, link: eu-jp, loss: 0.1}\n",
     "events[0].link: 'eu-jp' is not a link of network.latency (eu, us, eu-us) nor '*'"),
    ("  - {at: 11m, kind: partition, regions: [us]}\n",
     "events[0].at: 660s is not before the end of the run (600s)"),
    ("  - {at: 1m, kind: heal, regions: [eu]}\n", "events[0].regions: regions is not for a heal event"),
])
def test_a_wrong_event_is_named(tmp_path, events, message):
    with pytest.raises(LoadError) as caught:
        scenario(tmp_path, "events:\n" + events)
    assert message in str(caught.value)


def test_events_need_several_daemons(tmp_path):
    text = REGIONS.replace("daemons: {placement: per-host, peers: 2}\n", "")
    with pytest.raises(LoadError, match="events: network events need more than one daemon"):
        scenario(tmp_path, "events:\n  - {at: 1m, kind: partition, regions: [us]}\n  - {at: 2m, kind: heal}\n",
                 text)


def test_the_relay_cuts_heals_and_slows_a_link_on_command(tmp_path, echo):  # noqa: F811
    server = echo()
    plan = write_plan(tmp_path / "plan.json", [_spec(connect=server.address, delay=0.05)],
                      stats=tmp_path / "stats.json", ready=tmp_path / "relay.ready",
                      control=tmp_path / "control.json")
    relay = Relay()
    relay.start(plan, tmp_path / "relay.log")
    try:
        listen = tuple(relay.wait_ready(BOUND)["listen"]["a>b"])
        sock = _connect(listen)
        assert _round_trips(sock, 1)[0] >= 0.1
        relay.control(tmp_path / "control.json", 1, {"a>b": {"cut": True, "delay": 0.05, "loss": 0.0}})
        with pytest.raises((ConnectionResetError, BrokenPipeError)):
            for _ in range(3):                              # the open connection was reset
                _round_trips(sock, 1)
                time.sleep(0.05)
        sock.close()
        with pytest.raises((ConnectionResetError, BrokenPipeError)), _connect(listen) as again:
            _round_trips(again, 1)                          # and a new one is refused
        relay.control(tmp_path / "control.json", 2, {"a>b": {"cut": False, "delay": 0.3, "loss": 0.0}})
        with _connect(listen) as healed:
            assert _round_trips(healed, 1)[0] >= 0.6        # healed, at the new delay
        assert server.peers == [NEAR, NEAR]
    finally:
        relay.stop()
    assert (tmp_path / "control.json.applied").read_text().strip() == '{"seq": 2}'
