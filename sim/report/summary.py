"""The run summary: blocks per pool against hashrate, transactions, payments, agent errors.

Everything comes from the run directory: journals/<agent>.jsonl, shared/registry/ and, when the
launcher wrote it, run.json (read by `sim.report.load`). `Tally` folds journal records one at a
time, so the launcher's progress line, the final summary and the report (`sim.report`) count
the same way.

Payment bookkeeping, per `payment_sent` P (user U, shop S, payment id I):
  seen       S journaled a `payment_seen` with payment id I
  confirmed  S journaled a `payment_confirmed` with payment id I
  matched    seen with status matched (and, when both carry one, the same amount)
  mismatched seen with status amount_mismatch, or "matched" with a different amount
  missing    not seen at S
`unknown` counts marketplace `payment_seen` records (distinct by shop, txid, payment id) that
the shop marked unknown or that no journaled `payment_sent` to that shop accounts for. Hence
sent = matched + mismatched + missing + (sent payments the shop only marked unknown or
wrong_shop: outcome "unmatched" in `Tally.payment_rows()`).

With two or more daemon logs under the run directory, `propagation` holds how transactions and
blocks spread between the daemons and the forks (`sim.report.propagation`, `run_propagation`);
with spy nodes too, `spies` holds the first-spy estimator's figures (`sim.report.spies`).
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import yaml

import ipc
from lang.events import AGENT_STARTED, AGENT_STOPPED
from sim.report.load import Journal, read_journals, read_json
from sim.report.propagation import daemons_from_run, propagation
from sim.report.selfish import selfish_mining
from sim.report.spies import first_spy, spy_names
from sim.report.tally import AgentTally, Tally
from sim.report.verdict import Expect, judge

__all__ = ["Tally", "summarize", "build_summary", "format_summary", "load_run", "tally_journals",
           "short_duration", "run_propagation"]


def tally_journals(journals: list[Journal], registry: list[dict] = ()) -> Tally:
    """Feed every journal (and pool hashrates from registry records) into a Tally."""
    tally = Tally()
    for journal in journals:
        for record in journal.records:
            tally.feed(record, journal.agent)
    for record in registry:
        rate = record.get("hashrate")
        if record.get("role") == "pool" and isinstance(record.get("agent"), str) \
                and isinstance(rate, (int, float)) and not isinstance(rate, bool):
            tally.hashrate.setdefault(record["agent"], float(rate))
    return tally


def load_run(run_dir: str | Path) -> tuple[Tally, dict | None]:
    """Feed every journal of `run_dir` (and pool hashrates from the registry) into a Tally."""
    run_dir = Path(run_dir)
    tally = tally_journals(read_journals(run_dir), ipc.Registry(run_dir / "shared").all(role="pool"))
    return tally, read_json(run_dir / "run.json")


def summarize(run_dir: str | Path) -> dict:
    """The summary of the run in `run_dir` as a JSON-ready dict, with its verdict (and `flood`
    when spam, mempool or block reads were journaled: `sim.report.flood`)."""
    tally, run = load_run(run_dir)
    summary = build_summary(run_dir, tally, run, expectations(run_dir))
    from sim.report.flood import run_flood     # here: it imports sim.report.metrics, which imports this
    flood = run_flood(run_dir, tally)
    if flood is not None:
        summary["flood"] = flood
    return summary


def expectations(run_dir: str | Path) -> Expect:
    """The `expect:` of the run's copy of its scenario (defaults when it has none)."""
    try:
        data = yaml.safe_load((Path(run_dir) / "scenario.yaml").read_text(encoding="utf-8"))
        return Expect.from_mapping(data.get("expect") if isinstance(data, dict) else None)
    except (OSError, yaml.YAMLError, TypeError, ValueError, AttributeError):
        return Expect()


def run_propagation(run_dir: str | Path, tally: Tally, run: dict | None) -> dict | None:
    """`sim.report.propagation.propagation` of the run's daemon logs: the daemons (and regions)
    of run.json's `network`, the controller's bootstrap blocks left out; with the network events
    the launcher applied (`events`: each at `t`, seconds on the daemons' clocks like the rest)."""
    found = propagation(Path(run_dir), daemons_from_run(run), skip_below_height=tally.bootstrap_height)
    if found is not None:
        applied = ((run or {}).get("network") or {}).get("events") or []
        found["events"] = [{**e, "t": round(e["applied_wall"] - found["start"], 3)}
                           for e in applied if isinstance(e, dict) and "applied_wall" in e]
    return found


def build_summary(run_dir: str | Path, tally: Tally, run: dict | None,
                  expect: Expect | None = None, network: dict | None = None) -> dict:
    """The summary of an already loaded run (`summarize` without the reading), judged against
    `expect` (`sim.report.verdict`): `verdict` {verdict, reasons, expect}; `problems` lists the
    reasons' texts. `propagation` (when two or more daemons left a log): `network`, the
    `run_propagation` result when the caller has it already, without its per-item list."""
    launched = {a["id"]: a for a in (run or {}).get("agents", []) if isinstance(a, dict) and "id" in a}
    agents, problems = {}, []
    for agent_id in sorted(set(tally.agents) | set(launched)):
        t = tally.agents.get(agent_id, AgentTally())
        row = {"role": t.role, "started": t.started, "stopped": t.stopped,
               "stop_reason": t.stop_reason, "leaf_failed": t.leaf_failed,
               "rpc_failed": t.rpc_failed, "error_codes": dict(sorted(t.codes.items())),
               "last_error": t.last_error, "waiting": t.waiting}
        if agent_id in launched:
            row["exit_code"] = launched[agent_id].get("exit_code")
            row["outcome"] = launched[agent_id].get("outcome")
            if row["outcome"] not in (None, "ok", "finished"):
                problems.append(f"{agent_id}: {launched[agent_id].get('detail') or row['outcome']}")
        if not t.started:
            problems.append(f"{agent_id}: never journaled {AGENT_STARTED}")
        elif not t.stopped:
            problems.append(f"{agent_id}: never journaled {AGENT_STOPPED}")
        agents[agent_id] = row
    height = (run or {}).get("final_height") or tally.height
    run = run or {}
    summary = {
        "run": {"dir": str(run_dir), "scenario": run.get("scenario"), "height": height,
                "duration": run.get("duration"), "drain": run.get("drain"),
                "time_scale": run.get("time_scale"), "clock": (run.get("clock") or {}).get("kind"),
                "max_speed": (run.get("clock") or {}).get("max_speed"),
                "status": run.get("status"), "interrupted_by": run.get("interrupted_by"),
                "failures": list(run.get("failures") or [])},
        "blocks": tally.blocks(), "transactions": tally.transactions(),
        "payments": tally.payments(),
        "errors": {"total": tally.errors,
                   "agents": {a: {k: r[k] for k in ("leaf_failed", "rpc_failed", "error_codes",
                                                     "last_error")}
                              for a, r in agents.items() if r["leaf_failed"] or r["rpc_failed"]}},
        "events": events_by_role(tally), "agents": agents, "agent_problems": problems}
    network = network if network is not None else run_propagation(run_dir, tally, run)
    if network is not None:
        summary["propagation"] = {k: v for k, v in network.items() if k != "items"}
        spied = first_spy(network, spy_names(run))          # spy nodes: sim.report.spies
        if spied is not None:
            summary["spies"] = {k: v for k, v in spied.items() if k != "guesses"}
    selfish = selfish_mining(run_dir, tally)     # a pool withheld blocks: whose made the main chain
    if selfish is not None:
        summary["selfish"] = selfish
    summary["verdict"] = judge(summary, expect)
    summary["problems"] = [r["text"] for r in summary["verdict"]["reasons"]]
    return summary


def events_by_role(tally: Tally) -> dict[str, dict]:
    """role -> {agents: n, events: {event: records}}, for every role and event journaled."""
    out: dict[str, dict] = {}
    for agent in tally.agents.values():
        role = out.setdefault(agent.role or "unknown", {"agents": 0, "events": Counter()})
        role["agents"] += 1
        role["events"].update(agent.events)
    return {r: {"agents": v["agents"], "events": dict(sorted(v["events"].items()))}
            for r, v in sorted(out.items())}


from sim.report.summary_text import format_summary, short_duration  # noqa: E402,F401 - kept importable here
