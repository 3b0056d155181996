"""The verdict on real runs: a run stopped before its users could pay exits 3 and names them;
its report, rendered by Debian's headless Chromium, shows the verdict at the top in red.

The run is scenarios/small.yaml cut to 30 simulated seconds: wallets open, the chain is
bootstrapped, nobody is funded yet. A degraded report (amber) is checked on the real run of
test_report_real.py; a clean small run says ok in test_scenarios.py.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium")
BROWSER_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]


def monerosim(*args: str, timeout: float) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sim.cli", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT)


def rendered(page: Path, profile: Path, screenshot: Path | None = None) -> str:
    """The page's DOM after Chromium rendered it (and a screenshot, when asked)."""
    assert CHROMIUM, "Debian's chromium is not installed (make deps installs it)"
    flags = BROWSER_FLAGS + [f"--user-data-dir={profile}"]
    if screenshot is not None:
        subprocess.run([CHROMIUM, *flags, f"--screenshot={screenshot}", "--window-size=1200,900",
                        page.as_uri()], capture_output=True, timeout=120, check=True)
    done = subprocess.run([CHROMIUM, *flags, "--dump-dom", page.as_uri()], capture_output=True,
                          text=True, timeout=120, check=True)
    return done.stdout


@pytest.fixture(scope="module")
def unpaid(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("unpaid") / "run"
    done = monerosim("run", "scenarios/small.yaml", "--duration", "30s", "--out", str(run_dir),
                     timeout=600)
    return run_dir, done


def test_users_who_never_paid_make_the_run_fail_with_exit_3(unpaid):
    run_dir, done = unpaid
    assert done.returncode == 3, done.stdout + done.stderr
    summary = json.loads((run_dir / "summary.json").read_text())
    verdict = summary["verdict"]
    assert verdict["verdict"] == "failed"
    never = [r["text"] for r in verdict["reasons"] if "never paid" in r["text"]]
    assert never == ["10 of 10 users never paid (user-0, user-1, user-2, user-3, user-4, …)"]
    assert "Verdict: FAILED" in done.stdout and "  failed: 10 of 10 users never paid" in done.stdout
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("verdict: FAILED — 10 of 10 users never paid"), done.stderr
    record = json.loads((run_dir / "run.json").read_text())
    assert (record["verdict"], record["exit_code"]) == ("failed", 3)


def test_the_failed_report_is_red_at_the_top(unpaid, tmp_path):
    run_dir, _ = unpaid
    done = monerosim("report", str(run_dir), timeout=300)
    assert done.returncode == 0, done.stderr
    shot = tmp_path / "top.png"
    dom = rendered(Path(done.stdout.strip()), tmp_path / "profile", shot)
    main = dom[dom.index("<main>"):]
    assert main.index('id="verdict"') < main.index("<h2>Blocks per pool</h2>")
    assert 'class="verdict failed"' in main and "Verdict: FAILED" in main
    assert "failed: 10 of 10 users never paid (user-0, user-1" in main
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000
