"""Real regtest chains for integration tests: monerod and monero-wallet-rpc on free ports."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from rpc_client import DaemonClient, WalletClient
from sim.local.processes import DaemonProcess, Supervisor

# Coinbase unlocks after 60 blocks; ring size 16 needs 16 unlocked outputs.
BOOTSTRAP_BLOCKS = 80


@dataclass
class Chain:
    """One daemon, a funded miner wallet, and a way to add wallets."""

    supervisor: Supervisor
    daemon: DaemonProcess
    rpc: DaemonClient
    miner: WalletClient
    miner_address: str
    wallets: dict = field(default_factory=dict)

    def new_wallet(self, name: str) -> tuple[WalletClient, str]:
        """A wallet-rpc of its own with a fresh wallet `name` open, its background refresh off
        (as the agents have it: what a `refresh` finds must not depend on whether wallet-rpc's
        own 20 s refresh ran first, e.g. on a loaded machine). Returns (client, address)."""
        proc = self.supervisor.start_wallet_rpc(name, self.daemon)
        client = proc.client()
        client.create_wallet(name)
        client.auto_refresh(enable=False)
        self.wallets[name] = client
        return client, client.get_address()

    def mine(self, blocks: int, address: str | None = None) -> dict:
        return self.rpc.generateblocks(blocks, address or self.miner_address)

    def mine_until_mined(self, txids, most: int = 3) -> dict[str, int]:
        """Mine one block at a time until every tx of `txids` is in a block (at most `most`
        blocks): {txid: height of its block}. On a loaded machine a tx sent just before
        generateblocks now and then lands one block later."""
        for _ in range(most):
            self.mine(1)
            txs = self.rpc.get_transactions(list(txids))["txs"]
            if len(txs) == len(txids) and not any(tx.get("in_pool") for tx in txs):
                return {tx["tx_hash"]: tx["block_height"] for tx in txs}
        pytest.fail(f"not all of {list(txids)} mined in {most} blocks")


def wait_until(predicate, timeout: float = 30.0, interval: float = 0.2):
    """Poll `predicate` until it returns something truthy; fail the test after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met within {timeout} s")
        time.sleep(interval)


@pytest.fixture(scope="session")
def chain(tmp_path_factory):
    """A regtest chain with BOOTSTRAP_BLOCKS mined to the miner wallet (shared by the session)."""
    with Supervisor(tmp_path_factory.mktemp("chain")) as supervisor:
        daemon = supervisor.start_daemon()
        miner = supervisor.start_wallet_rpc("miner", daemon).client()
        miner.create_wallet("miner")
        address = miner.get_address()
        rpc = daemon.client()
        rpc.generateblocks(BOOTSTRAP_BLOCKS, address)
        miner.refresh()
        yield Chain(supervisor, daemon, rpc, miner, address)


@pytest.fixture
def supervisor(tmp_path):
    """A supervisor of its own for tests that need a separate chain or a broken setup."""
    with Supervisor(tmp_path) as sup:
        yield sup


TINY_REAL = Path(__file__).resolve().parents[1] / "report_fixtures" / "tiny-real.yaml"


@pytest.fixture(scope="session")
def reported(tmp_path_factory):
    """A real run of tests/report_fixtures/tiny-real.yaml and its report: (run dir, report.json,
    {agent: journal records}). One run per session, for the report tests."""
    root = Path(__file__).resolve().parents[2]

    def monerosim(*args: str, timeout: float) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "sim.cli", *args], capture_output=True,
                              text=True, timeout=timeout, cwd=root)

    run_dir = tmp_path_factory.mktemp("tiny-real") / "run"
    done = monerosim("run", str(TINY_REAL), "--out", str(run_dir), "--quiet", timeout=400)
    assert done.returncode == 0, done.stdout + done.stderr
    done = monerosim("report", str(run_dir), timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip() == str(run_dir / "report" / "report.html")
    report = json.loads((run_dir / "report" / "report.json").read_text())
    journals = {p.stem: [json.loads(line) for line in p.read_text().splitlines()]
                for p in sorted((run_dir / "journals").glob("*.jsonl"))}
    return run_dir, report, journals


@pytest.fixture(scope="module")
def browser():
    """Debian's chromium, headless, driven by Selenium through Debian's chromedriver."""
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    assert chromium and driver, "Debian's chromium and chromium-driver are not installed (make deps)"
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--window-size=1280,2000"):
        options.add_argument(flag)
    chrome = webdriver.Chrome(service=Service(driver), options=options)
    yield chrome
    chrome.quit()
