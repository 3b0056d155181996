"""Issue 6, security, on a real run: the wallet RPC login works end to end, the password never
appears in logs, journals, run.json, the summary or the report, and nothing is written outside
the run directory (HOME and TMPDIR are a sandbox; monerod's ~/.bitmonero and wallet-rpc's
~/.shared-ringdb must not appear).

One tiny scenario (one agent with a wallet: open it, publish its address, journal an event; 60
simulated seconds on the lockstep clock at most x10, so the run lasts long enough in real time
to be probed while it runs) runs once for the module; the tests look at it from several sides.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.proc import command_lines

import ipc
from rpc_client import AuthError, WalletClient

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
USER, PASSWORD = "sim", "s3cr3t-Pa55"

TREE = """\
version: 1
role: shop
description: Opens its wallet through a wallet-rpc that needs a login, publishes its address.
root:
  Sequence:
    children:
      - OpenWallet: {}
      - PublishAddress: {role: shop}
      - RecordEvent: {event: login_ok, fields: {address: "{address}"}}
      - Repeat:
          child:
            Wait: {duration: 10s}
"""

SCENARIO = f"""\
version: 1
name: login
seed: 1
duration: 60s
time_scale: 10
wallet_login: {{user: {USER}, password: {PASSWORD}}}
groups:
  - {{name: shop, tree: tree.yaml}}
"""


@dataclass
class Run:
    sandbox: Path
    run_dir: Path
    code: int
    outputs: dict[str, str] = field(default_factory=dict)     # command -> stdout + stderr
    probe: dict = field(default_factory=dict)                 # what was seen while it ran
    before: dict = field(default_factory=dict)                # sandbox listing (run dir excluded)
    after_run: dict = field(default_factory=dict)             # ... after run + summary
    after_report: dict = field(default_factory=dict)          # ... after report
    tmp_before: set = field(default_factory=set)
    tmp_after: set = field(default_factory=set)


def _listing(root: Path, skip: Path) -> dict[str, tuple]:
    out = {}
    for path in sorted(root.rglob("*")):
        if path == skip or skip in path.parents:
            continue
        st = path.lstat()
        out[str(path.relative_to(root))] = (True,) if path.is_dir() else (st.st_size, st.st_mtime_ns)
    return out


def _probe_while_running(run_dir: Path, proc: subprocess.Popen) -> dict:
    """Once the agent runs: the wallet-rpc refuses a call without the login and answers one with it."""
    seen: dict = {}
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            record = json.loads((run_dir / "run.json").read_text())
        except (OSError, ValueError):
            record = {}
        agents = record.get("agents") or []
        if record.get("status") == "running" and agents and agents[0].get("wallet"):
            url = agents[0]["wallet"]["url"]
            with WalletClient(url, timeout=10, retries=0) as anonymous:
                try:
                    anonymous.call("get_version")
                    seen["anonymous"] = "answered"
                except AuthError:
                    seen["anonymous"] = "refused"
            with WalletClient(url, timeout=10, retries=0, auth=(USER, PASSWORD)) as client:
                seen["version"] = client.call("get_version").get("version")
            cmds = command_lines(str(run_dir))
            seen["wallet_cmdline"] = [c for c in cmds if "monero-wallet-rpc" in c]
            seen["agent_cmdline"] = [c for c in cmds if " -m engine" in c]
            return seen
        time.sleep(0.2)
    return seen


@pytest.fixture(scope="module")
def login_run(tmp_path_factory) -> Run:
    sandbox = tmp_path_factory.mktemp("login-run")
    for sub in ("home", "tmp", "cwd", "input"):
        (sandbox / sub).mkdir()
    (sandbox / "input" / "tree.yaml").write_text(TREE)
    (sandbox / "input" / "scenario.yaml").write_text(SCENARIO)
    run_dir = sandbox / "run"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MONEROSIM_", "MPL"))}
    env.update(HOME=str(sandbox / "home"), TMPDIR=str(sandbox / "tmp"), PYTHONPATH=str(REPO))
    result = Run(sandbox, run_dir, code=-1)
    result.before = _listing(sandbox, run_dir)
    result.tmp_before = set(os.listdir("/tmp"))

    def monerosim(*args: str, **kw):
        return subprocess.Popen([sys.executable, "-m", "sim.cli", *args], cwd=sandbox / "cwd", env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)

    proc = monerosim("run", str(sandbox / "input" / "scenario.yaml"), "--out", str(run_dir), "--quiet",
                     "--max-speed", "10")
    try:
        result.probe = _probe_while_running(run_dir, proc)
        out, _ = proc.communicate(timeout=90)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    result.code = proc.returncode
    result.outputs["run"] = out
    for args in (("summary", str(run_dir)), ("summary", str(run_dir), "--json")):
        p = monerosim(*args)
        result.outputs[" ".join(args[:1] + args[2:])], _ = p.communicate(timeout=60)
    result.after_run = _listing(sandbox, run_dir)
    p = monerosim("report", str(run_dir))
    result.outputs["report"], _ = p.communicate(timeout=120)
    result.after_report = _listing(sandbox, run_dir)
    result.tmp_after = set(os.listdir("/tmp"))
    return result


def test_the_run_worked_with_the_login(login_run):
    assert login_run.code == 0, login_run.outputs["run"]
    journal = ipc.read_journal(login_run.run_dir / "journals" / "shop.jsonl")
    events = [r["event"] for r in journal]
    assert "wallet_created" in events and "login_ok" in events and events[-1] == "agent_stopped", events
    assert not [r for r in journal if r["event"] in ("rpc_failed", "leaf_failed")]
    published = json.loads((login_run.run_dir / "shared" / "registry" / "shop.json").read_text())
    assert published["address"] == next(r for r in journal if r["event"] == "login_ok")["address"]


def test_the_wallet_rpc_really_required_the_login(login_run):
    probe = login_run.probe
    assert probe.get("anonymous") == "refused", probe        # HTTP 401 without the login
    assert probe.get("version"), probe                      # and answers with it
    assert probe["wallet_cmdline"] and all("--rpc-login" in c for c in probe["wallet_cmdline"]), probe
    # the agent gets the login from its environment, not its command line
    assert probe["agent_cmdline"] and not any(PASSWORD in c for c in probe["agent_cmdline"]), probe


def test_the_password_appears_nowhere_but_the_scenario_copy(login_run):
    run_dir = login_run.run_dir
    holders = sorted(str(p.relative_to(run_dir)) for p in run_dir.rglob("*")
                     if p.is_file() and PASSWORD.encode() in p.read_bytes())
    assert (run_dir / "report" / "report.html").exists() and (run_dir / "summary.json").exists()
    assert (run_dir / "run.json").exists() and list((run_dir / "logs").iterdir())
    assert holders == ["scenario.yaml"]                      # the copy of the input, and only it
    for command, output in login_run.outputs.items():
        assert PASSWORD not in output, command
    record = json.loads((run_dir / "run.json").read_text())
    assert PASSWORD not in json.dumps(record)


def test_nothing_is_written_outside_the_run_directory(login_run):
    """`monerosim run` and `summary`: HOME, TMPDIR, the working directory and the input folder
    are as they were; no ~/.bitmonero, no ~/.shared-ringdb; nothing Monero-named in /tmp."""
    assert login_run.after_run == login_run.before
    home = login_run.sandbox / "home"
    assert not (home / ".bitmonero").exists() and not (home / ".shared-ringdb").exists()
    new_tmp = sorted(login_run.tmp_after - login_run.tmp_before)
    assert [n for n in new_tmp if any(w in n.lower() for w in ("monero", "wallet", "ringdb", "login"))] == []


def test_the_report_writes_only_the_run_directory(login_run):
    """`monerosim report` writes nothing outside the run directory (matplotlib's font cache
    goes in a temporary folder that is gone when it exits)."""
    added = sorted(set(login_run.after_report) - set(login_run.after_run))
    changed = [k for k in login_run.after_run if login_run.after_report.get(k) != login_run.after_run[k]]
    assert added == [] and changed == []
