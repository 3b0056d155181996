"""`monerosim export` on a real run (tests/report_fixtures/tiny-real.yaml: real monerod and
monero-wallet-rpc), then the pandas snippet of docs/report.md's "Export" run on the export.

The run is test_report_real.py's when that module ran earlier in this session (same scenario,
its directory kept under the session's temporary root); otherwise this module runs it. Expected
numbers come from summary.json (written by the launcher) and straight from the journals.
"""
from __future__ import annotations

import json
import re
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = ROOT / "tests" / "report_fixtures" / "tiny-real.yaml"
TABLES = ("payments", "blocks", "events", "agents")


def monerosim(*args: str, timeout: float) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sim.cli", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT)


def finished_run(base: Path) -> Path | None:
    """A complete tiny-real run under `base` (exit code 0, summary.json written), if any."""
    for run_json in sorted(base.glob("tiny-real*/run/run.json")):
        run = json.loads(run_json.read_text())
        if run.get("scenario") == "tiny-real" and run.get("exit_code") == 0 \
                and (run_json.parent / "summary.json").is_file():
            return run_json.parent
    return None


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    found = finished_run(tmp_path_factory.getbasetemp())
    if found is not None:
        return found
    run = tmp_path_factory.mktemp("export-real") / "run"
    done = monerosim("run", str(SCENARIO), "--out", str(run), "--quiet", timeout=400)
    assert done.returncode == 0, done.stdout + done.stderr
    return run


@pytest.fixture(scope="module")
def exported(run_dir, tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("export") / "csv"
    done = monerosim("export", str(run_dir), "-o", str(out), timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    printed = [line.split(": ")[0] for line in done.stdout.splitlines()]
    assert printed[:4] == [str(out / f"{name}.csv") for name in TABLES]
    assert printed[4:] in ([], [str(out / f"{name}.csv") for name in ("propagation", "forks")])  # 2+ daemons
    return out, json.loads((run_dir / "summary.json").read_text())


def journals(run_dir: Path) -> dict[str, list[dict]]:
    return {p.stem: [json.loads(line) for line in p.read_text().splitlines()]
            for p in sorted((run_dir / "journals").glob("*.jsonl"))}


def doc_snippet() -> str:
    """The Python block of docs/report.md's "Export" section."""
    doc = (ROOT / "docs" / "report.md").read_text()
    section = doc.split("\n## Export\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert len(blocks) == 1, "the Export section should hold one python block"
    return blocks[0]


def run_snippet(out: Path) -> dict:
    """Run the doc's snippet with its `out = "..."` line pointing at `out`; its variables."""
    code, n = re.subn(r'^out = "[^"\n]*"', f"out = {str(out)!r}", doc_snippet(), flags=re.M)
    assert n == 1, 'the snippet should set the export directory in one `out = "..."` line'
    names: dict = {}
    exec(compile(code, "docs/report.md (Export)", "exec"), names)
    return names


def disagreements(names: dict, summary: dict) -> list[str]:
    """Where the snippet's tables disagree with summary.json (empty when they agree)."""
    payments, blocks, agents = names["payments"], names["blocks"], names["agents"]
    pay, blk = summary["payments"], summary["blocks"]
    counts = {"payments sent": (int(payments.sent_s.notna().sum()), pay["sent"]),
              "payments seen": (int(payments.seen_s.notna().sum()), pay["seen"]),
              "payments confirmed": (int(payments.confirmed_s.notna().sum()), pay["confirmed"]),
              "payments matched": (int((payments.outcome == "matched").sum()), pay["matched"]),
              "payments failed": (int((payments.outcome == "failed").sum()), pay["failed"]),
              "pool blocks": (int((blocks.kind == "pool").sum()), blk["total"]),
              "bootstrap blocks": (int((blocks.kind == "bootstrap").sum()), blk["bootstrap"]),
              "agents": (len(agents), len(summary["agents"]))}
    found = [f"{what}: {mine} in the export, {theirs} in summary.json"
             for what, (mine, theirs) in counts.items() if mine != theirs]
    for column, key in (("sent_to_seen", "seen"), ("sent_to_confirmed", "confirmed")):
        mine, theirs = payments[column].median(), (pay["latency"][key] or {}).get("median")
        if theirs is None or abs(mine - theirs) > 2e-3:
            found.append(f"median {column}: {mine} in the export, {theirs} in summary.json")
    return found


def test_doc_snippet_agrees_with_summary_and_journals(exported, run_dir):
    out, summary = exported
    names = run_snippet(out)
    assert summary["payments"]["confirmed"] >= 1 and summary["blocks"]["total"] >= 1, \
        "the real run made no confirmed payment or block: nothing to compare"
    assert disagreements(names, summary) == []
    agents = journals(run_dir)
    seen = {e["txid"]: e["t"] for e in agents["shop"] if e["event"] == "payment_seen"}
    confirmed = {e["txid"]: e["t"] for e in agents["shop"] if e["event"] == "payment_confirmed"}
    sent = [e for u in ("user-0", "user-1") for e in agents[u] if e["event"] == "payment_sent"]
    latency = names["latency"]
    assert list(latency.index) == ["shop"]
    assert latency.loc["shop", "sent_to_seen"] == pytest.approx(
        statistics.median(seen[e["txid"]] - e["t"] for e in sent if e["txid"] in seen), abs=1e-5)
    assert latency.loc["shop", "sent_to_confirmed"] == pytest.approx(
        statistics.median(confirmed[e["txid"]] - e["t"] for e in sent if e["txid"] in confirmed),
        abs=1e-5)


def test_the_comparison_can_fail(exported, tmp_path):
    out, summary = exported
    damaged = tmp_path / "damaged"
    shutil.copytree(out, damaged)
    for name, keep in (("payments", "confirmed_s"), ("blocks", "kind")):
        lines = (damaged / f"{name}.csv").read_text().splitlines(keepends=True)
        column = lines[0].rstrip("\n").split(",").index(keep)
        drop = next(i for i, line in enumerate(lines[1:], 1)
                    if line.split(",")[column] not in ("", "bootstrap"))
        (damaged / f"{name}.csv").write_text("".join(lines[:drop] + lines[drop + 1:]))
    found = disagreements(run_snippet(damaged), summary)
    assert [f.split(":")[0] for f in found][:4] == ["payments sent", "payments seen",
                                                   "payments confirmed", "payments matched"]
    assert any(f.startswith("pool blocks:") for f in found)


def test_every_journal_record_is_an_event_row(exported, run_dir):
    out, _summary = exported
    events = run_snippet(out)["events"]
    agents = journals(run_dir)
    assert len(events) == sum(len(records) for records in agents.values())
    for agent, records in agents.items():
        mine = events[events.agent == agent]
        assert set(mine.role) == {records[0]["role"]}
        assert sorted(mine.event) == sorted(r["event"] for r in records)
        assert list(mine.sort_values("record").t) == pytest.approx([r["t"] for r in records])
    txids = set(events[events.event == "payment_sent"].txid)
    assert txids and txids == {r["txid"] for u in ("user-0", "user-1") for r in agents[u]
                               if r["event"] == "payment_sent"}


def test_payment_and_block_rows_carry_the_journal_values(exported, run_dir):
    out, _summary = exported
    names = run_snippet(out)
    payments, blocks = names["payments"].set_index("txid"), names["blocks"]
    agents = journals(run_dir)
    origin = min(r[0]["t"] for r in agents.values())
    for user in ("user-0", "user-1"):
        for e in (r for r in agents[user] if r["event"] == "payment_sent"):
            row = payments.loc[e["txid"]]
            assert (row.user, row.shop, row.payment_id, row.amount, row.fee) == \
                (user, e["shop"], e["payment_id"], e["amount"], e["fee"])
            assert row.amount_xmr == pytest.approx(e["amount"] / 1e12)
            assert (row.sent_t, row.sent_s) == pytest.approx((e["t"], e["t"] - origin), abs=1e-5)
    mined = [r for r in agents["pool"] if r["event"] == "block_mined"]
    pool = blocks[blocks.kind == "pool"].set_index("height")
    assert sorted(pool.index) == sorted(h for r in mined for h in range(r["height"] - r["blocks"] + 1,
                                                                         r["height"] + 1))
    for r in mined:
        assert (pool.loc[r["height"], "t"], pool.loc[r["height"], "hash"], pool.loc[r["height"], "seq"]) \
            == (r["t"], r["hash"], r["seq"])
