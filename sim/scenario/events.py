"""A scenario's network events: partitions, heals, latency and loss changes during a local run
(applied by `sim.network.events`). Their schema is in `sim.scenario.schema`; every problem is a
positioned `Problem`.

    events:
      - {at: 2m, kind: partition, regions: [us]}      # or groups: [pool-group]
      - {at: 4m, kind: heal}
      - {at: 5m, kind: latency, link: eu-us, latency: 300ms}
      - {at: 6m, kind: loss, link: "*", loss: 0.01}
"""
from __future__ import annotations

from dataclasses import dataclass

from lang.errors import Problem, did_you_mean
from lang.values import DurationError, parse_duration
from lang.yamlload import Document
from sim.scenario.layout import GML, REGIONS, Network

__all__ = ["NetworkEvent", "load_events", "PARTITION", "HEAL", "LATENCY", "LOSS", "EVERY_LINK"]

PARTITION, HEAL, LATENCY, LOSS = "partition", "heal", "latency", "loss"
EVERY_LINK = "*"
_NEEDS = {PARTITION: (), HEAL: (), LATENCY: ("link", "latency"), LOSS: ("link", "loss")}
_ALLOWED = {PARTITION: {"regions", "groups"}, HEAL: set(), LATENCY: {"link", "latency"},
            LOSS: {"link", "loss"}}


@dataclass(frozen=True)
class NetworkEvent:
    at: float                               # simulated seconds from the start
    kind: str
    regions: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    link: tuple[str, str] | None = None     # sorted region pair; None with EVERY_LINK
    latency: float | None = None
    loss: float | None = None

    def record(self) -> dict:
        """For run.json and the report."""
        out = {"at": self.at, "kind": self.kind}
        for key in ("regions", "groups"):
            if getattr(self, key):
                out[key] = list(getattr(self, key))
        if self.kind in (LATENCY, LOSS):
            out["link"] = "-".join(self.link) if self.link else EVERY_LINK
            out[self.kind] = getattr(self, self.kind)
        return out


def load_events(doc: Document, raw: list, network: Network, groups: list[str],
                end: float) -> tuple[list[NetworkEvent], list[Problem]]:
    """The events of a schema-valid `events:` list, in time order, and the problems found."""
    indexed, problems = [], []
    for i, spec in enumerate(raw):
        event, found = _event(doc, ("events", i), spec, network, groups, end)
        problems += found
        if event is not None:
            indexed.append((event.at, i, event))
    indexed.sort()
    cut = False
    for _at_, i, event in indexed:
        if event.kind == HEAL and not cut:
            problems.append(doc.problem(("events", i, "kind"), "heal: no partition before it to heal"))
        cut = event.kind == PARTITION or (cut and event.kind != HEAL)
    return [event for _at_, _i, event in indexed], problems


def _at(spec: dict) -> float | None:
    try:
        return parse_duration(spec["at"])
    except DurationError:
        return None


def _event(doc: Document, where: tuple, spec: dict, network: Network, groups: list[str],
           end: float) -> tuple[NetworkEvent | None, list[Problem]]:
    kind = spec["kind"]
    problems = [doc.problem(where + (key,), f"{key} is not for a {kind} event", key=True)
                for key in spec if key not in _ALLOWED[kind] | {"at", "kind"}]
    problems += [doc.problem(where + ("kind",), f"a {kind} event needs {key}")
                 for key in _NEEDS[kind] if key not in spec]
    at = _at(spec)
    if at is None:
        problems.append(doc.problem(where + ("at",), f"not a duration: {spec['at']!r}"))
    elif end and at >= end:
        problems.append(doc.problem(where + ("at",), f"{at:g}s is not before the end of the run ({end:g}s)"))
    if kind == PARTITION:
        problems += _sides(doc, where, spec, network, groups)
    latency = None
    if kind == LATENCY and "latency" in spec:
        try:
            latency = parse_duration(spec["latency"])
        except DurationError as exc:
            problems.append(doc.problem(where + ("latency",), str(exc)))
        if latency is not None and latency <= 0:
            problems.append(doc.problem(where + ("latency",), "latency must be above 0"))
    link = _link(doc, where, spec, network, problems) if "link" in spec else None
    if problems:
        return None, problems
    return NetworkEvent(at, kind, tuple(spec.get("regions", ())), tuple(spec.get("groups", ())), link,
                        latency, float(spec["loss"]) if "loss" in spec else None), []


def _sides(doc: Document, where: tuple, spec: dict, network: Network, groups: list[str]) -> list[Problem]:
    if ("regions" in spec) == ("groups" in spec):
        return [doc.problem(where + ("kind",), "a partition names either regions or groups")]
    problems = []
    if "regions" in spec:
        if network.type != REGIONS:
            return [doc.problem(where + ("regions",), "regions needs `network: {type: regions}`", key=True)]
        known, key = network.regions, "regions"
    else:
        known, key = groups, "groups"
    for j, name in enumerate(spec[key]):
        if name not in known:
            problems.append(doc.problem(where + (key, j), f"unknown {key[:-1]} {name!r}"
                                        f"{did_you_mean(name, known) or ''} ({key}: {', '.join(known)})"))
    if not problems and set(spec[key]) >= set(known):
        problems.append(doc.problem(where + (key,), f"every {key[:-1]} is named: nothing is left on the "
                                                    "other side"))
    return problems


def _link(doc: Document, where: tuple, spec: dict, network: Network, problems: list) -> tuple | None:
    text = spec["link"]
    if network.type == GML:
        problems.append(doc.problem(where + ("kind",), f"{spec['kind']} events need a switch or regions "
                                                       "network (a gml file's links are its own)"))
        return None
    if text == EVERY_LINK:
        return None
    if network.type != REGIONS:
        problems.append(doc.problem(where + ("link",), f"{text!r}: without `network: {{type: regions}}` "
                                                       f"the only link is {EVERY_LINK!r}"))
        return None
    names = text.split("-")
    pair = tuple(sorted(names * 2 if len(names) == 1 else names))
    if len(pair) != 2 or pair not in network.latencies:
        links = ", ".join("-".join(p) if p[0] != p[1] else p[0] for p in network.latencies)
        problems.append(doc.problem(where + ("link",), f"{text!r} is not a link of network.latency "
                                                       f"({links}) nor {EVERY_LINK!r}"))
        return None
    return pair
