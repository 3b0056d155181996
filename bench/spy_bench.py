"""Spy nodes: the first-spy estimator's accuracy against the share of spy nodes
(docs/research.md, Spy nodes).

  spies   scenarios/spies.yaml (7 honest hosts, a monerod each) with 1, 3 and 7 spy nodes
          (MONEROSIM_BENCH_SPIES="1,3,7": 12.5 %, 30 % and 50 % of the daemons), each with the
          seeds MONEROSIM_BENCH_SPY_SEEDS="1,2,3". Per run: the estimator's accuracy over every
          transaction from a daemon that is not a spy, and split by the origin's Dandelion++ mode
          (`stem`: Dandelion++ as designed; `fluff`: diffusion, monerod's own fluff path).

Each run is a real `monerosim run` (bench.network_bench.measure: /proc sampler, bounded by a
timeout and by the machine's memory); a run starts only when the machine has the memory its
daemons need. The runs' figures go to spies.json in MONEROSIM_BENCH_SPY_OUT (default: a new
temporary directory), one record per run, written after each; a sweep given the same directory
again skips the runs already there. The figure and the table of docs/research.md:

    python -m bench.spy_bench --out DIR [--spies 1,3,7] [--seeds 1,2,3] --plot docs/research-spies.png

A run is paced at real time (docs/network.md): each takes 6 to 9 minutes of wall time here.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import time
from pathlib import Path

import yaml

from . import Row, bench
from .network_bench import MB, _absolute, _available, _write, measure

SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "spies.yaml"
SPIES_ENV, SEEDS_ENV, OUT_ENV = "MONEROSIM_BENCH_SPIES", "MONEROSIM_BENCH_SPY_SEEDS", "MONEROSIM_BENCH_SPY_OUT"
TIMEOUT = 1800.0              # real seconds a run may take
PER_HOST = 450 * MB           # what a host with its monerod takes (docs/performance.md: 400-430 MB)
MEMORY_WAIT = 1800.0          # real seconds to wait for that memory before giving up on a run
MODES = ("stem", "fluff")


def variant(spies: int, seed: int, directory: Path) -> Path:
    """scenarios/spies.yaml with `spies` spy nodes and `seed`, trees made absolute."""
    doc = yaml.safe_load(SCENARIO.read_text(encoding="utf-8"))
    doc["name"], doc["seed"] = f"spies-{spies}-s{seed}", seed
    doc["description"] = f"scenarios/spies.yaml with {spies} spy nodes, seed {seed}."
    next(g for g in doc["groups"] if g.get("spy"))["count"] = spies
    return _write(_absolute(doc, SCENARIO.parent), directory, doc["name"])


def _hosts(path: Path) -> int:
    return sum(g.get("count", 1) for g in yaml.safe_load(path.read_text(encoding="utf-8"))["groups"])


def _wait_for_memory(need: int) -> bool:
    """Wait (up to MEMORY_WAIT) until the machine has `need` bytes available and 1 GiB more."""
    deadline = time.monotonic() + MEMORY_WAIT
    while _available() < need + (1 << 30):
        if time.monotonic() > deadline:
            return False
        time.sleep(10)
    return True


def record(spies: int, seed: int, run) -> dict:
    """One run's figures (run: bench.network_bench.Run)."""
    out = {"spies": spies, "seed": seed, "out": str(run.out), "wall": round(run.wall, 1), "code": run.code,
           "verdict": run.verdict, "killed": run.killed, "simulated": run.simulated}
    return scores(out, run.summary.get("spies") or {})


def scores(out: dict, found: dict) -> dict:
    """`out` with the estimator's figures of one run (its summary's `spies`)."""
    out["daemons"] = len(found.get("spies", [])) + len(found.get("honest", [])) or None
    for key in ("share", "scored", "right", "accuracy", "baseline", "no_guess", "in_block", "unseen",
                "origin_unknown"):
        out[key] = found.get(key)
    for mode in MODES:
        got = (found.get("by_mode") or {}).get(mode) or {}
        out[mode] = {"n": got.get("n", 0), "right": got.get("right", 0)}
    out["origins"] = {o: {"n": v["n"], "right": v["right"], "modes": v["modes"],
                          **{m: {"n": w["n"], "right": w["right"]} for m, w in (v.get("by_mode") or {}).items()}}
                      for o, v in (found.get("by_origin") or {}).items()}
    return out


def sweep(counts: list[int], seeds: list[int], out: Path, log=print) -> list[dict]:
    """Run every (spies, seed) not yet in out/spies.json; every record, in order."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / "spies.json"
    done = json.loads(path.read_text(encoding="utf-8")) if path.exists() else []
    for seed in seeds:             # every share once before any twice: a cut-short sweep still has all
        for spies in counts:
            if any(r["spies"] == spies and r["seed"] == seed and r.get("scored") for r in done):
                continue
            scenario = variant(spies, seed, out)
            if not _wait_for_memory(_hosts(scenario) * PER_HOST):
                log(f"spies={spies} seed={seed}: not enough memory, skipped")
                continue
            run = measure(scenario, TIMEOUT)
            row = record(spies, seed, run)
            done = [r for r in done if (r["spies"], r["seed"]) != (spies, seed)] + [row]
            path.write_text(json.dumps(done, indent=1) + "\n", encoding="utf-8")
            log(f"spies={spies} seed={seed}: {row['right']}/{row['scored']} right, stem "
                f"{row['stem']['right']}/{row['stem']['n']}, fluff {row['fluff']['right']}/{row['fluff']['n']}, "
                f"{row['wall']:.0f} s wall, {row['verdict']}")
    return done


def _rate(right: int, n: int) -> float | None:
    return right / n if n else None


def aggregate(rows: list[dict]) -> list[dict]:
    """Per spy count: the share, every seed's accuracies and the pooled ones (right / n summed)."""
    out = []
    for spies in sorted({r["spies"] for r in rows if r.get("scored")}):
        runs = sorted((r for r in rows if r["spies"] == spies and r.get("scored")), key=lambda r: r["seed"])
        entry = {"spies": spies, "share": runs[0]["share"], "baseline": runs[0]["baseline"],
                 "seeds": [r["seed"] for r in runs], "walls": [r["wall"] for r in runs]}
        for mode in ("all",) + MODES:
            pick = (lambda r: (r["right"], r["scored"])) if mode == "all" else \
                (lambda r, m=mode: (r[m]["right"], r[m]["n"]))
            pairs = [pick(r) for r in runs]
            right, n = sum(p[0] for p in pairs), sum(p[1] for p in pairs)
            per_seed = [_rate(*p) for p in pairs]
            known = [x for x in per_seed if x is not None]
            mean = sum(known) / len(known) if known else None
            sd = math.sqrt(sum((x - mean) ** 2 for x in known) / (len(known) - 1)) if len(known) > 1 else None
            entry[mode] = {"right": right, "n": n, "pooled": _rate(right, n), "per_seed": per_seed,
                           "mean": mean, "sd": sd}
        stems = [o["stem"] for r in runs for o in r["origins"].values() if o.get("stem", {}).get("n")]
        entry["stem_origins"] = {"origins": len(stems), "all_right": sum(1 for o in stems if o["right"] == o["n"]),
                                 "none_right": sum(1 for o in stems if o["right"] == 0)}
        out.append(entry)
    return out


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.0f} %"


def markdown(table: list[dict]) -> str:
    """The table of docs/research.md."""
    lines = ["| spies (share) | seeds | all: right / n (pooled; per seed) | origin stemmed it | "
             "origin fluffed it | random guess | stemming origins caught: all / none / in all |",
             "|---|---|---|---|---|---|---|"]
    for e in table:
        cells = []
        for mode in ("all",) + MODES:
            m = e[mode]
            seeds = ", ".join(_pct(x) for x in m["per_seed"])
            cells.append(f"{m['right']} / {m['n']} ({_pct(m['pooled'])}; {seeds})")
        caught = e["stem_origins"]
        cells += [_pct(e["baseline"]), f"{caught['all_right']} / {caught['none_right']} / {caught['origins']}"]
        lines.append(f"| {e['spies']} ({100 * e['share']:.3g} %) | {len(e['seeds'])} | {' | '.join(cells)} |")
    return "\n".join(lines)


def plot(table: list[dict], path: Path) -> Path:
    """Accuracy against the spy share: pooled per mode (lines), each seed (dots), the random guess."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7, 4.5))
    shares = [100 * e["share"] for e in table]
    styles = {"all": ("black", "o", "all transactions (monerod 0.18 as it ran)"),
              "stem": ("tab:blue", "s", "origin stemmed it (Dandelion++)"),
              "fluff": ("tab:orange", "^", "origin fluffed it (diffusion)")}
    for mode, (color, marker, label) in styles.items():
        ax.plot(shares, [e[mode]["pooled"] for e in table], color=color, marker=marker, label=label)
        for share, e in zip(shares, table):
            dots = [x for x in e[mode]["per_seed"] if x is not None]
            ax.scatter([share] * len(dots), dots, color=color, alpha=0.35, s=14, marker=marker)
    ax.plot(shares, [e["baseline"] for e in table], color="grey", linestyle="--", label="random guess")
    ax.set_xlabel("spy nodes, % of the daemons")
    ax.set_ylabel("first-spy estimator: accuracy")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="center right")
    ax.set_title("Guessing a transaction's origin from the first spy that saw it", fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


@bench("spies")
def spies_bench() -> list[Row]:
    out = Path(os.environ.get(OUT_ENV) or tempfile.mkdtemp(prefix="bench-spies-"))
    rows = sweep(_ints(os.environ.get(SPIES_ENV, "1,3,7")), _ints(os.environ.get(SEEDS_ENV, "1,2,3")), out,
                 log=lambda text: print(text, file=sys.stderr))
    table = aggregate(rows)
    figure = plot(table, out / "spies.png") if table else None
    result = []
    for e in table:
        label = f"{e['spies']} spies ({_pct(e['share'])}), seeds {e['seeds']}"
        for mode in ("all",) + MODES:
            m = e[mode]
            if m["n"]:
                result.append(Row(f"{label}: first-spy accuracy, {mode} ({m['right']}/{m['n']}) vs a random guess",
                                  m["pooled"], e["baseline"], "", note=f"{out / 'spies.json'}; plot {figure}"))
        result.append(Row(f"{label}: wall per run vs the simulated span", sum(e["walls"]) / len(e["walls"]),
                          next(r["simulated"] for r in rows if r["spies"] == e["spies"]) or 1.0, "s"))
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.spy_bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, help="directory for spies.json and the runs' scenarios")
    parser.add_argument("--spies", default="1,3,7", help="spy counts (default 1,3,7)")
    parser.add_argument("--seeds", default="1,2,3", help="seeds (default 1,2,3)")
    parser.add_argument("--plot", help="also write the figure here (PNG)")
    parser.add_argument("--no-run", action="store_true", help="only aggregate what spies.json holds")
    parser.add_argument("--rescore", action="store_true",
                        help="with --no-run: score each run's logs again (spies.json is rewritten)")
    args = parser.parse_args(argv)
    out = Path(args.out)
    if args.no_run:
        rows = json.loads((out / "spies.json").read_text(encoding="utf-8"))
        if args.rescore:           # the estimator of this checkout, on each run's daemon logs
            from sim.report.summary import summarize
            rows = [scores(r, summarize(r["out"]).get("spies") or {}) for r in rows]
            (out / "spies.json").write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")
    else:
        rows = sweep(_ints(args.spies), _ints(args.seeds), out)
    table = aggregate(rows)
    print(markdown(table))
    if args.plot and table:
        print(f"plot: {plot(table, Path(args.plot))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
