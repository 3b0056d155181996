"""The supervisor starts real processes, restarts them on their ports, never leaves one behind."""
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from sim.local.processes import ProcessError, Supervisor

pytestmark = pytest.mark.integration


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0); read its state.
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().split()[2] != "Z"


def test_chain_survives_restart_on_same_port(supervisor):
    daemon = supervisor.start_daemon("keep")
    port = daemon.rpc_port
    daemon.client().generateblocks(5, "44AFFq5kSiGBoZ4NMDwYtN18obc8AemS33DBLWs3H7otXft3XjrpDtQGv7SqSsaBYBb98uNbr2VBBEt7f2wfn3RVGQBEP3A")
    assert supervisor.stop(daemon) == 0
    daemon = supervisor.start_daemon("keep")
    assert daemon.rpc_port == port
    assert daemon.client().get_block_count() == 6


def test_sigkill_then_restart(supervisor):
    daemon = supervisor.start_daemon("crash")
    daemon.kill()
    assert not daemon.alive()
    daemon = supervisor.start_daemon("crash")
    assert daemon.client().get_block_count() >= 1


def test_stop_all_leaves_nothing(tmp_path):
    with Supervisor(tmp_path) as sup:
        daemon = sup.start_daemon()
        wallet = sup.start_wallet_rpc("w", daemon)
        pids = [daemon.pid, wallet.pid]
        assert all(pid_alive(p) for p in pids)
    assert not any(pid_alive(p) for p in pids)


def test_bad_arguments_fail_fast_with_output(tmp_path):
    with Supervisor(tmp_path) as sup:
        with pytest.raises(ProcessError, match="exited"):
            sup.start_daemon("bad", extra_args=("--no-such-flag",))


def test_processes_die_with_a_killed_parent(tmp_path):
    """A test run that is SIGKILLed cannot clean up; the kernel stops its Monero processes."""
    script = textwrap.dedent(f"""
        import sys, time
        from sim.local.processes import Supervisor
        sup = Supervisor({str(tmp_path)!r})
        d = sup.start_daemon()
        w = sup.start_wallet_rpc("w", d)
        print(d.pid, w.pid, flush=True)
        time.sleep(600)
    """)
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    pids = [int(p) for p in parent.stdout.readline().split()]
    assert len(pids) == 2 and all(pid_alive(p) for p in pids)
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + 20
    while any(pid_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(pid_alive(p) for p in pids)
