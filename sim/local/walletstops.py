"""How each monero-wallet-rpc of a run ended, once the launcher stopped them all."""
from __future__ import annotations

import signal
from dataclasses import dataclass, field
from pathlib import Path

from sim.local.agents import describe_exit
from sim.local.processes import WalletProcess

__all__ = ["WalletStops", "judge_wallet_stops", "wallet_saved", "judge_daemon_stop"]


@dataclass
class WalletStops:
    stops: dict[str, dict] = field(default_factory=dict)   # name -> {exit_code, saved[, note]}
    notes: list[str] = field(default_factory=list)          # worth saying, not failures
    failures: list[str] = field(default_factory=list)


def judge_wallet_stops(wallets: dict[str, WalletProcess], *, judged: set[str]) -> WalletStops:
    """Each stopped wallet-rpc's exit code and whether it saved its wallet; failures only for
    those in `judged` (ready during the run, not reported dead already)."""
    out = WalletStops()
    for name, wallet in wallets.items():
        code = wallet.popen.returncode if wallet.popen else None
        saved = True if wallet.closed_wallet else wallet_saved(wallet.log_path)
        out.stops[name] = {"exit_code": code, "saved": saved}
        if name not in judged:
            continue
        if code in (-signal.SIGABRT, -signal.SIGKILL) and saved:
            # wallet-rpc 0.18.0.0 can abort (boost lock_error) or hang in its teardown after
            # the wallet was saved: the wallet is safe, so this is noted, not a failure.
            out.stops[name]["note"] = f"{describe_exit(code)} after saving"
            out.notes.append(f"note: monero-wallet-rpc of {name} {describe_exit(code)} "
                             f"after saving its wallet")
        elif code not in (0, None):
            out.failures.append(f"monero-wallet-rpc of {name} stopped badly ({describe_exit(code)})")
        elif saved is False:
            out.failures.append(f"monero-wallet-rpc of {name} did not finish saving its wallet "
                                f"(log {wallet.log_path})")
    return out


def wallet_saved(log_path: Path) -> bool | None:
    """From a stopped wallet-rpc's output: True it reported "Successfully saved" (it does so on
    SIGTERM, with or without an open wallet), False it began saving and did not finish, None it
    never got that far (e.g. killed)."""
    try:
        text = log_path.read_text(errors="replace")
    except OSError:
        return None
    if "Successfully saved" in text:
        return True
    return False if "Saving wallet" in text else None


def judge_daemon_stop(name: str, code: int | None, tail: str) -> tuple[str | None, str | None]:
    """(failure, note) for a monerod the launcher stopped at the end of the run. monerod
    0.18.0.0 now and then aborts ("stack smashing detected") while deinitializing P2P, or
    segfaults while deinitializing the core, after "Node stopped." — the run had ended and the
    node stopped: a note, not a failure."""
    if code in (0, None):
        return None, None
    if code in (-signal.SIGABRT, -signal.SIGSEGV) and "Node stopped." in tail:
        return None, (f"note: monerod {name} {describe_exit(code)} in its teardown after it had "
                      "stopped (a monerod 0.18.0.0 fault while deinitializing)")
    return f"monerod {name} stopped badly ({describe_exit(code)})", None
