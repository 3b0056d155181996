"""The smallest real run: one regtest chain, two wallets, one payment, then everything stops."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

from rpc_client import DaemonUnreachable, format_xmr, to_atomic
from sim.local.processes import Supervisor

BOOTSTRAP_BLOCKS = 75  # coinbase maturity (60) + 16 unlocked outputs for a ring
UNLOCK_BLOCKS = 10     # a received transfer unlocks 10 blocks after its block


def _patiently(call, *args, attempts: int = 5, pause: float = 2.0, **kw):
    """`call` again when the wallet-rpc says it cannot reach the daemon (-38/-4): on a loaded
    machine monerod can be too busy to answer a wallet for a moment."""
    for attempt in range(attempts):
        try:
            return call(*args, **kw)
        except DaemonUnreachable:
            if attempt == attempts - 1:
                raise
            time.sleep(pause)


def run_demo(run_dir: Path, amount_xmr: str = "1.25", say: Callable[[str], None] = print) -> dict:
    """Mine, pay bob from alice, wait for the unlock, have bob pay back. Returns the facts."""
    started = time.monotonic()
    amount = to_atomic(amount_xmr)
    with Supervisor(run_dir) as supervisor:
        daemon = supervisor.start_daemon("node")
        alice = supervisor.start_wallet_rpc("alice", daemon).client()
        bob = supervisor.start_wallet_rpc("bob", daemon).client()
        rpc = daemon.client()
        say(f"monerod (regtest) at {daemon.url}; wallet-rpc alice {alice.url}, bob {bob.url}")
        for name, wallet in (("alice", alice), ("bob", bob)):
            wallet.create_wallet(name)
        a, b = alice.get_address(), bob.get_address()

        mined = rpc.generateblocks(BOOTSTRAP_BLOCKS, a)
        _patiently(alice.refresh)
        balance = alice.get_balance()
        say(f"mined {len(mined['blocks'])} blocks to alice: height {rpc.get_block_count()}, "
            f"alice {format_xmr(balance['balance'])} XMR "
            f"({format_xmr(balance['unlocked_balance'])} unlocked)")

        sent = _patiently(alice.transfer, [(b, amount)])
        in_pool = sent["tx_hash"] in rpc.get_transaction_pool_hashes()
        say(f"alice → bob {format_xmr(amount)} XMR, fee {format_xmr(sent['fee'])}: "
            f"tx {sent['tx_hash'][:16]}… {'in the pool' if in_pool else 'NOT in the pool'}")

        block = rpc.generateblocks(1, a)
        tx = rpc.get_transactions([sent["tx_hash"]])["txs"][0]
        say(f"mined block {block['height']}: tx in block {tx['block_height']}")
        rpc.generateblocks(UNLOCK_BLOCKS - 1, a)
        bob.refresh()
        bob_balance = bob.get_balance()
        say(f"after {UNLOCK_BLOCKS} blocks bob has {format_xmr(bob_balance['unlocked_balance'])} "
            f"XMR unlocked")

        back = _patiently(bob.transfer, [(a, amount // 2)])
        rpc.generateblocks(1, a)
        bob.refresh()
        final = bob.get_balance()["balance"]
        say(f"bob → alice {format_xmr(amount // 2)} XMR (fee {format_xmr(back['fee'])}); "
            f"bob now holds {format_xmr(final)} XMR")
        height = rpc.get_block_count()
    ok = (in_pool and tx["block_height"] == block["height"]
          and bob_balance["unlocked_balance"] == amount
          and final == amount - amount // 2 - back["fee"])
    facts = {"height": height, "amount": amount, "fee": sent["fee"], "bob_final": final,
             "ok": ok, "seconds": round(time.monotonic() - started, 1)}
    say(f"{'OK' if ok else 'MISMATCH'}: height {height}, all processes stopped, "
        f"{facts['seconds']} s; files in {run_dir}")
    return facts
