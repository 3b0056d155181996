"""Selfish mining: whose blocks the main chain holds at the end, against the pools' hashrates.

Read from the run directory: the main chain at the end (`chain.json`, written by the local
launcher from the first daemon; else that daemon's log, when it logged its main chain), the
pools' journals (`block_mined` and `block_withheld` carry each block's hash; `blocks_released`
the hashes handed to the public daemon) and the public daemon's log (its reorganisations).
Only the blocks above the controller's bootstrap count.

Per pool: hashrate share, blocks mined, main-chain blocks and share, orphaned blocks (mined,
not in the main chain: beaten in a race, or still withheld at the end). For each pool that
withheld blocks: its main-chain share against its hashrate share with n (main-chain blocks)
and an exact one-sided binomial p-value (X ~ Binomial(n, hashrate share): P(X >= k) when the
share came out above, P(X <= k) when below), beside the share Eyal and Sirer's model expects
with gamma = 0 (a tie goes to the block seen first, as monerod does) and, with one selfish pool,
the model replayed on the run's own sequence of block finders (the pools' journals in time
order): what the classic strategy earns with exactly these blocks, so a difference between the
run and the theory is told apart into luck (the replay agrees with the run) and the
implementation (it does not).

The section exists when some agent journaled `block_withheld`.
"""
from __future__ import annotations

import json
from collections import Counter
from fractions import Fraction
from math import comb
from pathlib import Path
from typing import Callable

from sim.report.daemonlog import log_files, read_daemon_log
from sim.report.tally import Tally

__all__ = ["selfish_mining", "expected_revenue", "binomial_tail", "replay_classic", "selfish_lines",
           "selfish_section", "selfish_rows"]


def expected_revenue(alpha: float, gamma: float = 0.0) -> float:
    """Eyal and Sirer (2014), eq. 8: a selfish pool's share of the main chain with hashrate share
    `alpha` when a fraction `gamma` of the honest hashrate mines on its block in a tie."""
    top = alpha * (1 - alpha) ** 2 * (4 * alpha + gamma * (1 - 2 * alpha)) - alpha ** 3
    return top / (1 - alpha * (1 + (2 - alpha) * alpha))


def binomial_tail(k: int, n: int, p: float, above: bool) -> float:
    """P(X >= k) (`above`) or P(X <= k), X ~ Binomial(n, p); exact in rationals, then a float."""
    q = Fraction(p).limit_denominator(10 ** 9)
    terms = range(k, n + 1) if above else range(0, k + 1)
    return float(sum(comb(n, i) * q ** i * (1 - q) ** (n - i) for i in terms))


def replay_classic(finders: list[bool]) -> dict:
    """The classic strategy (gamma 0, publish all at lead 1) played on a sequence of block finders
    (True: the selfish pool): its main-chain blocks, the honest ones (the public side of a race
    still open at the end included: the public daemon has them), the reorganisations by depth."""
    private = public = ours = theirs = 0
    depths: Counter = Counter()
    for mine in finders:
        private, public = private + mine, public + (not mine)
        if private < public:                         # behind: adopt the public chain
            theirs, private, public = theirs + public, 0, 0
        elif private - public == 1 and public:       # honest blocks one behind: publish all, win
            depths[public] += 1
            ours, private, public = ours + private, 0, 0
    honest = theirs + public
    return {"main": ours, "honest": honest, "n": ours + honest,
            "share": ours / (ours + honest) if ours + honest else None,
            "reorgs": {str(d): depths[d] for d in sorted(depths)}, "open": {"private": private, "public": public}}


def main_chain(run_dir: Path) -> tuple[dict[int, str], str | None, str]:
    """(height -> hash of the main chain at the end, the daemon it was read from, the source)."""
    try:
        data = json.loads((run_dir / "chain.json").read_text(encoding="utf-8"))
        return dict(enumerate(data["hashes"])), data.get("daemon"), "chain.json"
    except (OSError, ValueError, KeyError, TypeError):
        pass
    for directory in sorted((run_dir / "daemons").glob("*")):
        log = read_daemon_log(directory.name, log_files(directory))
        if log.chain:
            return dict(log.chain), directory.name, "daemon log"
    return {}, None, "none"


def reorganisations(run_dir: Path, daemon: str | None) -> dict | None:
    """The public daemon's reorganisations from its log: count, depths (blocks replaced), deepest."""
    directory = run_dir / "daemons" / daemon if daemon else None
    if directory is None or not log_files(directory):
        directory = next((d for d in sorted((run_dir / "daemons").glob("*")) if log_files(d)), None)
    if directory is None:
        return None
    depths = Counter(f.depth for f in read_daemon_log(directory.name, log_files(directory)).forks
                     if f.kind == "reorg" and f.depth is not None)
    return {"daemon": directory.name, "count": sum(depths.values()),
            "depths": {str(d): depths[d] for d in sorted(depths)}, "max": max(depths, default=0)}


def _test(pool: str, row: dict, n: int, tally: Tally, alone: bool) -> dict:
    alpha, k = row["share"], row["main"]
    above = k >= alpha * n
    return {"pool": pool, "hashrate_share": alpha, "main_share": row["main_share"], "n": n, "k": k,
            "direction": "above" if above else "below",
            "p_value": binomial_tail(k, n, alpha, above),
            "expected_gamma0": round(expected_revenue(alpha), 4),
            "replay": replay_classic([p == pool for _, p in sorted(tally.finders)]) if alone else None}


def selfish_mining(run_dir: str | Path, tally: Tally) -> dict | None:
    """The Selfish mining section's numbers, or None when no agent withheld a block."""
    selfish = sorted(a for a, t in tally.agents.items() if t.events.get("block_withheld"))
    if not selfish:
        return None
    run_dir = Path(run_dir)
    chain, daemon, source = main_chain(run_dir)
    main = {h: block for h, block in chain.items() if h > tally.bootstrap_height}
    on_main = Counter(tally.block_hashes.get(block) for block in main.values())
    main_hashes = set(main.values())
    pools = sorted(set(tally.hashrate) | set(tally.pool_blocks))
    rates = sum(tally.hashrate.get(p, 0.0) for p in pools)
    n = len(main)
    rows = {}
    for pool in pools:
        mined = tally.pool_blocks[pool]
        kept = [h for h, p in tally.block_hashes.items() if p == pool and h not in main_hashes
                and h not in tally.released] if pool in selfish else []
        share = tally.hashrate[pool] / rates if pool in tally.hashrate and rates else None
        rows[pool] = {"selfish": pool in selfish, "hashrate": tally.hashrate.get(pool), "share": share,
                      "mined": mined, "main": on_main[pool], "main_share": on_main[pool] / n if n else None,
                      "orphaned": mined - on_main[pool], "unreleased": len(kept) if pool in selfish else None}
    orphaned = Counter()
    for row in rows.values():
        orphaned["selfish" if row["selfish"] else "honest"] += row["orphaned"]
    return {"chain": {"source": source, "daemon": daemon, "from_height": tally.bootstrap_height + 1,
                      "top": max(chain, default=None), "blocks": n,
                      "unattributed": n - sum(on_main[p] for p in pools)},
            "pools": rows, "orphaned": {"honest": orphaned["honest"], "selfish": orphaned["selfish"]},
            "reorgs": reorganisations(run_dir, daemon),
            "tests": [_test(p, rows[p], n, tally, len(selfish) == 1)
                      for p in selfish if rows.get(p) and rows[p]["share"] and n]}


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


def _p(p: float) -> str:
    return f"{p:.2g}" if p >= 1e-4 else f"{p:.1e}"


def selfish_lines(s: dict) -> list[str]:
    """The section as text lines (the run summary)."""
    chain, reorgs = s["chain"], s["reorgs"] or {}
    depths = ", ".join(f"{d}: {c}" for d, c in (reorgs.get("depths") or {}).items()) or "none"
    lines = [f"Selfish mining: main chain {chain['blocks']} blocks after the bootstrap "
             f"({chain['source']}); orphaned {s['orphaned']['honest']} honest, "
             f"{s['orphaned']['selfish']} selfish; reorgs {reorgs.get('count', '-')} (depth: {depths})"]
    for t in s["tests"]:
        lines.append(f"  {t['pool']}: {_pct(t['main_share'])} of the main chain ({t['k']} of n={t['n']}) "
                     f"with {_pct(t['hashrate_share'])} of the hashrate, {t['direction']} it "
                     f"(one-sided binomial p = {_p(t['p_value'])}); theory (gamma 0) "
                     f"{_pct(t['expected_gamma0'])}{_replayed(t.get('replay'))}")
    return lines


def _replayed(replay: dict | None) -> str:
    if not replay:
        return ""
    return f"; the strategy replayed on this run's block finders: {replay['main']} of {replay['n']}"


def selfish_rows(s: dict) -> list[dict]:
    """One row per pool: the CSV of `monerosim export` (selfish.csv)."""
    tests = {t["pool"]: t for t in s["tests"]}
    out = []
    for pool, row in s["pools"].items():
        test = tests.get(pool) or {}
        replay = test.get("replay") or {}
        out.append({"pool": pool, **row, "n": s["chain"]["blocks"], "p_value": test.get("p_value"),
                    "direction": test.get("direction"), "expected_gamma0": test.get("expected_gamma0"),
                    "replay_main": replay.get("main"), "replay_n": replay.get("n")})
    return out


def selfish_section(s: dict, table: Callable[..., str]) -> str:
    """The report page's section; `table(head, rows, left=...)` draws a table."""
    rows = [[pool, "selfish" if r["selfish"] else "honest", "-" if r["hashrate"] is None else f"{r['hashrate']:g}",
             _pct(r["share"]), r["mined"], r["main"], _pct(r["main_share"]), r["orphaned"],
             "-" if r["unreleased"] is None else r["unreleased"]] for pool, r in s["pools"].items()]
    tests = [[t["pool"], _pct(t["hashrate_share"]), _pct(t["main_share"]), t["n"], t["k"], t["direction"],
              _p(t["p_value"]), _pct(t["expected_gamma0"]),
              f"{t['replay']['main']} of {t['replay']['n']}" if t.get("replay") else "-"] for t in s["tests"]]
    chain, reorgs = s["chain"], s["reorgs"]
    strays = f", {chain['unattributed']} mined by no journaled pool" if chain["unattributed"] else ""
    said = ("no daemon log" if reorgs is None else
            f"{reorgs['count']} on {reorgs['daemon']} (depth: "
            f"{', '.join(f'{d} ×{c}' for d, c in reorgs['depths'].items()) or 'none'})")
    return "".join([
        table(["pool", "kind", "hashrate", "share", "mined", "main chain", "main share", "orphaned",
               "still withheld"], rows, left={0, 1}),
        table(["selfish pool", "hashrate share", "main-chain share", "n", "k", "direction",
               "one-sided p", "theory (γ = 0)", "replay: k of n"], tests, left={0, 5}),
        f"<p>Orphaned blocks: {s['orphaned']['honest']} honest, {s['orphaned']['selfish']} selfish · "
        f"reorganisations: {said}.</p>",
        f"<p class=note>Main chain at the end from {chain['source']} ({chain['daemon'] or '-'}): "
        f"{chain['blocks']} blocks from height {chain['from_height']}{strays}. "
        "Mined counts every block a pool mined, orphans included (so does Blocks per pool); "
        "orphaned = mined but not in the main chain at the end. p: exact binomial probability "
        "of a main-chain count at least this far from the hashrate share, in that direction. "
        "Theory: Eyal and Sirer's expected share with γ = 0 (a tie goes to the block seen first, "
        "as monerod does). Replay: the classic strategy played on this run's own sequence of "
        "block finders (the journals in time order): equal to the run when the pool played it "
        "block for block, so the distance to the theory is the luck of the draw.</p>"])
