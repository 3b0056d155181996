"""Per-agent parameter draws: `{per_agent: DISTRIBUTION}` in a group's params gives each agent
of the group its own fixed value, drawn once when the scenario is loaded.

    params:
      hashrate: {per_agent: {uniform: {low: 10, high: 90}, round: 0}}   # 10..90, whole numbers
      patience: {per_agent: {exponential: {mean: 5m}}}                   # seconds, one per agent
      tx_interval: {exponential: {mean: 1m}}     # no per_agent: the tree re-draws it every use

Distributions are the tree language's (uniform, normal, exponential, lognormal, choice,
bernoulli, constant; `min`/`max` clamp). Durations in numeric fields become seconds. `round: N`
rounds to N decimals (0: integers). The draw for agent i of group G, parameter p, is the i-th
value of `random.Random("<seed>/<G>/<p>")`: the same seed gives the same values on every machine
and Python version with the same `random` algorithm, and other groups or params do not shift it.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from lang.values import (DISTRIBUTIONS, NUMERIC_KINDS, Distribution, DistributionError,
                               DurationError, make_distribution, parse_duration)
from lang.errors import did_you_mean

__all__ = ["PER_AGENT", "PerAgent", "is_per_agent", "parse_per_agent", "group_draws"]

PER_AGENT = "per_agent"


@dataclass(frozen=True)
class PerAgent:
    distribution: Distribution
    digits: int | None = None       # round to this many decimals

    def values(self, seed: int, group: str, param: str, count: int) -> list[Any]:
        rng = random.Random(f"{seed}/{group}/{param}")
        out = []
        for _ in range(count):
            value = self.distribution.draw(rng)
            if self.digits is not None and isinstance(value, (int, float)) and not isinstance(value, bool):
                value = int(round(value)) if self.digits == 0 else round(value, self.digits)
            out.append(value)
        return out


def is_per_agent(value: Any) -> bool:
    return isinstance(value, dict) and PER_AGENT in value


def parse_per_agent(value: dict) -> PerAgent:
    """The draw `{per_agent: {KIND: FIELDS, round: N}}`; DistributionError says what is wrong."""
    if set(value) != {PER_AGENT}:
        extra = sorted(set(value) - {PER_AGENT})
        raise DistributionError(f"per_agent must be the only key (remove {', '.join(map(repr, extra))})")
    spec = value[PER_AGENT]
    if not isinstance(spec, dict):
        raise DistributionError("per_agent takes a distribution, e.g. {uniform: {low: 1, high: 5}}")
    digits = spec.get("round")
    if "round" in spec and (isinstance(digits, bool) or not isinstance(digits, int) or not 0 <= digits <= 12):
        raise DistributionError(f"per_agent: round must be a whole number 0..12, got {digits!r}")
    kinds = [k for k in spec if k != "round"]
    if len(kinds) != 1 or kinds[0] not in DISTRIBUTIONS:
        bad = next((k for k in kinds if k not in DISTRIBUTIONS), None)
        hint = (did_you_mean(bad, DISTRIBUTIONS) or "") if bad else ""
        raise DistributionError(f"per_agent takes one distribution ({', '.join(DISTRIBUTIONS)}) and "
                                f"optionally round" + (f"; unknown {bad!r}{hint}" if bad else ""))
    kind = kinds[0]
    fields = spec[kind]
    if kind == "choice" and isinstance(fields, list):
        fields = {"values": fields}
    elif kind == "constant" and not isinstance(fields, dict):
        fields = {"value": fields}
    if not isinstance(fields, dict):
        raise DistributionError(f"per_agent: {kind} takes a mapping of its fields")
    cls = DISTRIBUTIONS[kind]
    typed = {}
    for name, field_value in fields.items():
        rule = "number" if name in ("min", "max") else cls.fields.get(name)
        if rule in NUMERIC_KINDS and isinstance(field_value, str) and kind != "lognormal":
            try:
                field_value = parse_duration(field_value)
            except DurationError as exc:
                raise DistributionError(f"per_agent: {kind}: {name}: {exc}") from None
        typed[name] = field_value
    return PerAgent(make_distribution(kind, typed), digits)


def group_draws(doc, group, seed: int) -> list:
    """Fill `group.draws` (a sim.scenario.load.Group) from its per_agent params; positioned problems."""
    problems = []
    for name, value in group.params.items():
        if is_per_agent(value):
            try:
                draw = parse_per_agent(value)
            except DistributionError as exc:
                problems.append(doc.problem(("groups", group.position, "params", name), str(exc)))
                continue
            group.draws[name] = draw.values(seed, group.name, name, group.count)
    return problems
