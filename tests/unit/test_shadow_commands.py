"""The generated process command lines: extra-argument merging, and (integration) the exact
processes and environments of a generated config started for real, with each host's IP mapped
to its own loopback address (127.0.0.2, …) since the 11.0.0.x addresses exist only in Shadow."""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rpc_client import DaemonClient, RpcError, WalletClient
from sim.local.processes import free_port
from sim.scenario.load import load_scenario
from sim.shadow import generate as gen
from sim.monero.commands import merge_options
from sim.shadow.configyaml import load_config_yaml

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("extra, expected", [
    ([], ["--a", "1", "--b", "--c=2"]),
    (["--a", "5"], ["--a", "5", "--b", "--c=2"]),
    (["--a=5"], ["--a=5", "--b", "--c=2"]),
    (["--c", "3", "--d"], ["--a", "1", "--b", "--c", "3", "--d"]),
    (["--b", "x", "y"], ["--a", "1", "--b", "x", "y", "--c=2"]),
])
def test_merge_options(extra, expected):
    assert merge_options(["--a", "1", "--b", "--c=2"], extra) == expected


SCENARIO = """version: 1
name: probe
seed: 3
duration: 10m
groups:
  - {name: probe, tree: trees/probe-wallet.yaml, count: 1, wallet: true}
  - {name: watcher, tree: trees/probe-daemon.yaml, count: 1, wallet: false}
"""


def _local(text: str, ports: dict[str, str]) -> str:
    """11.0.0.k -> 127.0.0.(k+1); Monero's fixed ports -> free ones."""
    text = re.sub(r"\b11\.0\.0\.(\d+)\b", lambda m: f"127.0.0.{int(m.group(1)) + 1}", text)
    return re.sub(r"\b(18080|18081|18083)\b", lambda m: ports[m.group(1)], text)


@pytest.mark.integration
def test_a_generated_config_runs(tmp_path):
    for binary in ("monerod", "monero-wallet-rpc", "openssl"):
        if shutil.which(binary) is None:
            pytest.skip(f"{binary} not installed (make installs it)")
    shutil.copytree(REPO / "tests" / "shadow" / "trees", tmp_path / "trees")
    (tmp_path / "s.yaml").write_text(SCENARIO)
    scenario = load_scenario(tmp_path / "s.yaml", check_trees=True)
    out = tmp_path / "out"
    done = gen.generate(scenario, gen.Paths(out, out, python=os.path.abspath(sys.executable)))
    ports = {p: str(free_port()) for p in ("18080", "18081", "18083")}
    hosts = load_config_yaml(_local(done.config.read_text(), ports))["hosts"]
    procs: dict[str, subprocess.Popen] = {}
    try:
        for rank in range(3):                      # all monerods, then wallet-rpcs, then agents
            for name, host in hosts.items():
                kinds = [Path(p["path"]).name for p in host["processes"]]
                for proc, kind in zip(host["processes"], kinds):
                    if ["monerod", "monero-wallet-rpc", Path(sys.executable).name].index(kind) == rank:
                        log = open(tmp_path / f"{name}-{kind}.log", "wb")
                        procs[f"{name}/{kind}"] = subprocess.Popen(
                            [proc["path"], *proc["args"].split()], env=dict(proc["environment"]),
                            cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT)
        journals = out / "journals"
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            ready = [a for a in ("probe", "watcher") if b'"ready"' in _read(journals / f"{a}.jsonl")]
            if len(ready) == 2:
                break
            dead = [k for k, p in procs.items() if p.poll() is not None]
            assert not dead, f"{dead} exited: " + "".join(_read(tmp_path / f"{k.replace('/', '-')}.log")
                                                           .decode(errors="replace")[-500:] for k in dead)
            time.sleep(0.5)
        else:
            pytest.fail("the agents did not journal ready within 90 s")
        line = next(json.loads(x) for x in _read(journals / "probe.jsonl").splitlines() if b'"ready"' in x)
        assert line["address"].startswith("4")
        assert json.loads((out / "shared" / "registry" / "probe.json").read_text())["role"] == "probe"
        rpc = hosts["probe"]["processes"][-1]["environment"]["MONEROSIM_DAEMON"]
        with DaemonClient(rpc, timeout=5, retries=0) as daemon:
            info = daemon.get_info()
        assert info["outgoing_connections_count"] + info["incoming_connections_count"] >= 1
        with pytest.raises(RpcError):              # wallet-rpc listens on the loopback only
            with WalletClient(f"http://127.0.0.2:{ports['18083']}", timeout=2, retries=0) as wallet:
                wallet.call("get_version")
        for agent in ("probe", "watcher"):
            runner = procs[f"{agent}/{Path(sys.executable).name}"]
            runner.send_signal(signal.SIGTERM)
            assert runner.wait(20) == 0, agent          # expected_final_state {exited: 0}
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in procs.values():
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:
        return b""
