"""`make run`'s job, as a real process: a chain, two wallets, payments both ways, clean stop."""
import subprocess
import sys

import pytest

pytestmark = pytest.mark.integration


def test_demo_runs_and_stops_everything(tmp_path):
    run_dir = tmp_path / "demo"
    done = subprocess.run([sys.executable, "-m", "sim.cli", "demo", "--out", str(run_dir)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[-1].startswith("OK: height 87, all processes stopped")
    assert "alice → bob 1.250000000000 XMR" in done.stdout
    assert "bob has 1.250000000000 XMR unlocked" in done.stdout
    assert (run_dir / "wallets" / "bob" / "bob.keys").exists()
    # the daemon saved its chain on SIGTERM: the lock file is gone, the database stays
    assert list((run_dir / "daemons" / "node").rglob("data.mdb"))
    again = subprocess.run([sys.executable, "-m", "sim.cli", "demo", "--out", str(run_dir)],
                           capture_output=True, text=True, timeout=60)
    assert again.returncode == 2 and "not empty" in again.stderr
