"""Spy nodes and the first-spy estimator (docs/research.md, Spy nodes).

A spy is a daemon whose host's group has `spy: true` (run.json: `network.daemons[].spy`); every
other daemon dials each spy, and the spies log when and from which peer each transaction first
reached them (`sim.report.daemonlog`). The estimator works on `sim.report.propagation`'s items:

  scored     a transaction whose true origin is known (first seen in an RPC thread: the daemon
             its wallet submitted it to) and is not a spy, and that some spy saw
  first spy  the spy with the earliest first sighting (ties: by name)
  guess      the daemon that spy got it from (the peer's IP, named by the network plan)
  right      the guess is the origin
  accuracy   right / scored; `baseline`: 1 / the daemons that are not spies (a guess drawn at
             random among them)

Not scored: transactions no spy saw (`unseen`), of unknown origin, and those the first spy saw
first inside a block (`in_block`: its sighting names no peer; the block got there before the
transaction did, e.g. a pool's own transaction in the block it mined next).

Per origin daemon (and per mode for each), per first spy, and per Dandelion++ mode of the origin
when the transaction left it: `stem`
(Dandelion++ as designed: one hop to one outgoing peer, then on along a stem) or `fluff`
(diffusion: monerod 0.18 fluffs a transaction at once when its origin is in a fluff epoch, 20 %
of epochs; every later hop then fluffs it too). The mode is the origin's last `Starting new
Dandelion++ epoch` line before the transaction (`unknown` without one). A stem-epoch origin that
logged `Unable to send transaction(s) via Dandelion++ stem` within STEM_FAIL_WINDOW after the
transaction fluffed it instead: such transactions count as `fluff`.
"""
from __future__ import annotations

from collections import defaultdict

__all__ = ["spy_names", "first_spy", "summary_lines", "section_html", "MODES", "STEM_FAIL_WINDOW",
           "GUESS_COLUMNS"]

MODES = ("stem", "fluff", "unknown")
STEM_FAIL_WINDOW = 1.0      # seconds after a transaction's first sighting at its origin


def spy_names(run: dict | None) -> list[str]:
    """The spy daemons of run.json's `network.daemons` (sorted; [] without any)."""
    listed = ((run or {}).get("network") or {}).get("daemons")
    if not isinstance(listed, list):
        return []
    return sorted(d["name"] for d in listed
                  if isinstance(d, dict) and d.get("spy") and isinstance(d.get("name"), str))


def _mode(dandelion: dict, origin: str, t: float) -> str:
    """The origin's Dandelion++ mode for a transaction it first saw at `t` (seconds since start)."""
    entry = dandelion.get(origin) or {}
    modes = [mode for start, mode in entry.get("epochs", []) if start <= t]
    if not modes:
        return "unknown"
    failed = any(t <= f <= t + STEM_FAIL_WINDOW for f in entry.get("stem_failures", []))
    return "fluff" if modes[-1] == "stem" and failed else modes[-1]


def _guess(item: dict, spies: list[str]) -> dict | None:
    """The first spy's sighting of `item`: {spy, delay, from, guess, right}; None if no spy saw it."""
    seen = [(s["delay"], name, s) for name, s in item["seen_by"].items() if name in spies]
    if not seen:
        return None
    delay, spy, sighting = min(seen, key=lambda x: (x[0], x[1]))
    guess = sighting.get("via")
    return {"spy": spy, "delay": delay, "from": sighting.get("from"), "guess": guess,
            "right": guess == item["origin"]}


def _rate(right: int, n: int) -> float | None:
    return round(right / n, 4) if n else None


def _tally(rows: list[dict], key) -> dict:
    groups: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        groups[key(row)].append(row)
    out = {}
    for name, group in sorted(groups.items()):
        right = sum(r["right"] for r in group)
        out[name] = {"n": len(group), "right": right, "accuracy": _rate(right, len(group))}
    return out


def first_spy(network: dict | None, spies: list[str]) -> dict | None:
    """The first-spy estimator over `network` (`sim.report.propagation`'s result, items
    included) with `spies` (daemon names); None without spies or daemon logs."""
    if not network or not spies:
        return None
    spies = sorted(set(spies) & set(network["names"]))
    honest = [n for n in network["names"] if n not in spies]
    if not spies or not honest:
        return None
    dandelion = network.get("dandelion") or {}
    rows, in_block, unseen, spy_origin, unknown_origin = [], [], 0, 0, 0
    for item in (i for i in network["items"] if i["kind"] == "tx"):
        if not item["origin_rpc"]:
            unknown_origin += 1
            continue
        if item["origin"] in spies:
            spy_origin += 1
            continue
        found = _guess(item, spies)
        if found is None:
            unseen += 1
            continue
        row = {"hash": item["hash"], "origin": item["origin"], "t": item["t"],
               "mode": _mode(dandelion, item["origin"], item["t"]), **found}
        (rows if found["from"] is not None else in_block).append(row)
    right = sum(r["right"] for r in rows)
    return {"spies": spies, "honest": honest, "share": round(len(spies) / len(network["names"]), 4),
            "scored": len(rows), "right": right, "accuracy": _rate(right, len(rows)),
            "no_guess": sum(1 for r in rows if r["guess"] is None), "in_block": len(in_block),
            "unseen": unseen, "origin_unknown": unknown_origin, "origin_spy": spy_origin,
            "baseline": round(1 / len(honest), 4),
            "by_mode": _tally(rows, lambda r: r["mode"]),
            "by_origin": {name: {**v, "modes": sorted({r["mode"] for r in rows if r["origin"] == name}),
                                 "by_mode": _tally([r for r in rows if r["origin"] == name], lambda r: r["mode"])}
                          for name, v in _tally(rows, lambda r: r["origin"]).items()},
            "by_spy": _tally(rows, lambda r: r["spy"]),
            "epochs": {n: [mode for _t, mode in (dandelion.get(n) or {}).get("epochs", [])] for n in honest},
            "guesses": rows}


GUESS_COLUMNS = ["hash", "origin", "t", "mode", "spy", "delay", "from", "guess", "right"]


def summary_lines(spies: dict) -> list[str]:
    """The estimator in two lines of the run summary."""
    modes = ", ".join(f"{mode} {_scored(v)}" for mode, v in spies["by_mode"].items())
    return [f"Spies ({len(spies['spies'])} of {len(spies['spies']) + len(spies['honest'])} daemons): "
            f"first-spy accuracy {_scored(spies)}, a random guess {100 * spies['baseline']:.0f}%",
            f"  by the origin's Dandelion++ mode: {modes or '-'}"]


def _scored(v: dict) -> str:
    """'60% (29/48)': accuracy (right / scored) of the whole or of one group (`n`)."""
    n = v.get("scored", v.get("n"))
    return "-" if v["accuracy"] is None else f"{100 * v['accuracy']:.0f}% ({v['right']}/{n})"


def section_html(spies: dict, table) -> str:
    """The report's Spy nodes section; `table(head, rows, left)` renders (and escapes) a table."""
    head = ["transactions", "right guesses", "accuracy"]
    return "".join([
        f"<p class=note>{len(spies['spies'])} spy nodes ({', '.join(spies['spies'])}: "
        f"{100 * spies['share']:.0f} % of the daemons) that every other daemon dials. For each "
        "transaction from a daemon that is not a spy, the first-spy estimator names the peer the "
        "earliest spy got it from as its origin; right when that is the daemon its wallet "
        f"submitted it to. A random guess among the {len(spies['honest'])} other daemons is right "
        f"{100 * spies['baseline']:.0f} % of the time. Not scored: {spies['unseen']} no spy saw, "
        f"{spies.get('in_block', 0)} a spy saw first in a block, {spies['origin_unknown']} of unknown "
        "origin.</p>",
        table(head, [[spies["scored"], spies["right"], _pct(spies["accuracy"])]], 0),
        "<h3>By the origin's Dandelion++ mode</h3>",
        table(["mode", *head], _rows(spies["by_mode"])),
        "<p class=note>stem: the origin sent it to one outgoing peer (Dandelion++); fluff: it "
        "diffused it to every peer at once (a fluff epoch, or no outgoing peer known to be at its "
        "height), as every later daemon then does.</p>",
        "<h3>By origin</h3>",
        table(["origin", "modes", *head], [[o, "/".join(v["modes"]), *row[1:]] for (o, v), row in
                                           zip(spies["by_origin"].items(), _rows(spies["by_origin"]))], 2),
        "<h3>By first spy</h3>",
        table(["spy", *head], _rows(spies["by_spy"]))])


def _rows(groups: dict) -> list[list]:
    return [[name, v["n"], v["right"], _pct(v["accuracy"])] for name, v in groups.items()]


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"
