"""`monerosim report`: the files it writes (report.json, PNG + SVG plots, report.html) and its CLI.

The numbers themselves are checked in test_report_metrics.py on the same fixtures.
"""
import json
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from sim import cli
from sim.report import build_report
from sim.report.html import headline
from sim.report.load import NotARunDirectory, read_run
from sim.report.metrics import build_metrics
from sim.report.plots import PLOTS

FIXTURES = Path(__file__).resolve().parent.parent / "report_fixtures"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """run-local copied to a temporary directory and reported into its default RUN/report/."""
    run = tmp_path_factory.mktemp("report") / "run"
    shutil.copytree(FIXTURES / "run-local", run)
    page = build_report(run)
    return run, page


def test_files_written_into_run_report(written):
    run, page = written
    assert page == run / "report" / "report.html"
    names = sorted(p.name for p in (run / "report").iterdir())
    assert names == sorted(["report.html", "report.json"] + [f"{p}.{ext}" for p in PLOTS
                                                             for ext in ("png", "svg")])


def test_report_json_is_the_metrics_plus_plots(written):
    run, _page = written
    report = json.loads((run / "report" / "report.json").read_text())
    assert report.pop("plots") == {p: {"png": f"{p}.png", "svg": f"{p}.svg"} for p in PLOTS}
    expected = json.loads(json.dumps(build_metrics(read_run(run))))
    assert report == expected
    assert list(report) == ["schema", "run", "journals", "transactions", "steady", "payments",
                            "blocks", "errors", "events", "agents", "verdict", "problems"]


@pytest.mark.parametrize("plot", list(PLOTS))
def test_plots_are_valid_png_and_svg(written, plot):
    out = written[0] / "report"
    png = (out / f"{plot}.png").read_bytes()
    assert png.startswith(PNG_MAGIC) and len(png) > 10_000
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert width >= 600 and height >= 300
    svg = (out / f"{plot}.svg").read_text()
    assert len(svg) > 10_000
    assert ET.fromstring(svg).tag == "{http://www.w3.org/2000/svg}svg"


def test_html_is_self_contained(written):
    html = written[1].read_text()
    assert html.startswith("<!DOCTYPE html>")
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", html, re.I)
    assert "http://" not in html and "https://" not in html
    assert "<script" not in html and "<link" not in html and "url(" not in html
    assert html.count('src="data:image/png;base64,') == 4


def test_html_shows_headline_numbers_and_tables(written):
    html = written[1].read_text()
    report = json.loads((written[0] / "report" / "report.json").read_text())
    cards = headline(report)
    # steady state: users funded at 110 s, so minutes 2..6 (duration 7m): 3+2+1+0+0 tx / 5 min
    assert [value for value, _label, _tone in cards] == [
        "8", "8m20s", "12", "6", "10", "1.11", "1.20", "4/7", "5", "7.5s", "1m7s", "3m8s", "4"]
    for value, label, _tone in cards:
        assert f"<b>{value}</b><span>{label}</span>" in html
    for text in ("Monerosim report: fixture", "z = -0.47, binomial p = 0.644: plausible by chance",
                 "<td class=l>shop-1</td><td>4</td><td>2</td><td>0</td><td>1</td><td>1</td><td>2</td>",
                 "<td class=l>RpcTimeout</td><td>1</td>", "user-2: never journaled agent_stopped",
                 "Corrupt journal lines skipped: 1 (user-1 1); torn last line ignored in: user-2.",
                 "Not in this directory: summary.json"):
        assert text in html, text


def test_cli_prints_report_path(tmp_path, capsys):
    out = tmp_path / "out"
    assert cli.main(["report", str(FIXTURES / "run-shadow"), "-o", str(out)]) == 0
    assert capsys.readouterr().out.strip() == str(out / "report.html")
    report = json.loads((out / "report.json").read_text())
    assert report["run"]["kind"] == "journals" and report["payments"]["matched"] == 1
    assert "Not in this directory: run.json, summary.json, scenario.yaml" in \
        (out / "report.html").read_text()


def test_cli_refuses_missing_or_invalid_directory(tmp_path, capsys):
    assert cli.main(["report", str(tmp_path / "nope")]) == 2
    assert capsys.readouterr().err.strip() == f"monerosim: {tmp_path / 'nope'}: no such directory"
    assert cli.main(["report", str(tmp_path)]) == 2
    assert capsys.readouterr().err.strip() == \
        f"monerosim: {tmp_path}: not a run directory (no journals/)"
    (tmp_path / "file").write_text("x")
    with pytest.raises(NotARunDirectory):
        build_report(tmp_path / "file")


def test_unreadable_extras_and_bad_lines_are_not_fatal(tmp_path):
    run = tmp_path / "run"
    shutil.copytree(FIXTURES / "run-shadow", run)
    (run / "run.json").write_text("{ not json")
    (run / "scenario.yaml").write_text("- a list, not a mapping\n")
    with open(run / "journals" / "shop.jsonl", "ab") as f:
        f.write(b"\xff\xfe not utf-8\n[1, 2]\n{\"t\": \"late\", \"event\": \"payment_seen\", "
                b"\"txid\": \"t1b\", \"payment_id\": \"q1\"}\n{\"t\": 5")
    page = build_report(run, tmp_path / "out")
    report = json.loads((page.parent / "report.json").read_text())
    assert report["run"]["kind"] == "journals" and report["run"]["name"] == "run"
    assert report["journals"]["corrupt"] == {"shop": 2} and report["journals"]["torn"] == ["shop"]
    assert report["run"]["span"] == 340.0      # the record with a non-numeric time has no time
    assert report["transactions"]["latency"]["sent_to_seen"]["max"] == 8.0     # nor comes first


def test_empty_run_still_renders(tmp_path):
    (tmp_path / "journals").mkdir()
    page = build_report(tmp_path)
    assert page.read_text().count("data:image/png;base64,") == 4


def test_matplotlib_is_imported_lazily():
    code = ("import sys, sim.cli, sim.report.summary, sim.report, sim.report.metrics, sim.report.html; "
            "print('matplotlib' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parents[2], timeout=60)
    assert done.stdout.strip() == "False", done.stderr


def test_timeline_rows_per_agent_then_per_role():
    from sim.report.plots import MAX_ROWS, _rows
    few = {"user-0": {"role": "user", "start": 5.0, "stop": 60.0, "last": 60.0},
           "pool-0": {"role": "pool", "start": 1.0, "stop": None, "last": 90.0},
           "odd": {"role": None, "start": None, "stop": None, "last": None}}
    assert _rows(few) == (["pool-0", "user-0", "odd"], {"pool-0": 0, "user-0": 1, "odd": 2},
                          {0: (1.0, 90.0), 1: (5.0, 60.0)})
    many = {f"user-{n}": {"role": "user", "start": float(n), "stop": 100.0 + n, "last": 100.0 + n}
            for n in range(MAX_ROWS)}
    many["pool-0"] = {"role": "pool", "start": 0.5, "stop": 200.0, "last": 200.0}
    labels, row, spans = _rows(many)
    assert labels == ["pool ×1", f"user ×{MAX_ROWS}"] and row["user-7"] == 1
    assert spans == {0: (0.5, 200.0), 1: (0.0, 100.0 + MAX_ROWS - 1)}
