"""Networked runs side by side each hold a loopback block of their own (sim.network.loopback)."""
import subprocess
import sys

import pytest

from sim.network.loopback import FIRST_BLOCK, lease_block
from sim.network.plan import local_ip


def test_leases_held_at_once_differ_and_a_released_block_is_reused(tmp_path):
    first, second = lease_block(tmp_path), lease_block(tmp_path)
    assert (first.block, second.block) == (FIRST_BLOCK, FIRST_BLOCK + 1)
    first.release()
    again = lease_block(tmp_path)
    assert again.block == FIRST_BLOCK
    again.release()
    second.release()


def test_a_block_another_process_holds_is_skipped(tmp_path):
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys; from pathlib import Path; from sim.network.loopback import lease_block;"
         f"lease = lease_block(Path({str(tmp_path)!r})); print(lease.block, flush=True); sys.stdin.read()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        held = int(holder.stdout.readline())
        mine = lease_block(tmp_path)
        assert held == FIRST_BLOCK and mine.block == FIRST_BLOCK + 1
        mine.release()
    finally:
        holder.communicate("")
    assert lease_block(tmp_path).block == FIRST_BLOCK          # freed when its holder ended


def test_addresses_follow_the_block():
    assert local_ip("11.0.2.9") == "127.77.2.9"
    assert local_ip("11.0.2.9", 80) == "127.80.2.9"
    with pytest.raises(ValueError):
        local_ip("11.1.0.1")
