"""Leaves that use the agent's own wallet: open it, read its address and balance."""
from __future__ import annotations

from rpc_client import RpcError, WalletOpenFailed, from_atomic, round_to_atomic

from .base import Leaf, Status, boolean, duration, key, number, string
from .waiting import WAIT_PARAMS, WaitingLeaf
from lang.events import FUNDED, WALLET_CREATED, WALLET_OPENED

__all__ = ["OpenWallet", "GetAddress", "CheckBalance", "AwaitFunds"]

# create_wallet / open_wallet cost seconds of CPU each; many agents open at once at start.
OPEN_TIMEOUT = 300.0


class OpenWallet(Leaf):
    """Open the agent's wallet, creating it on first use; keep it open.

    Opening is expensive (a key is derived): put this leaf where it runs once. One RPC per
    tick: `open_wallet`; if the wallet does not exist yet, RUNNING, then `create_wallet` on
    the next tick; then (unless `auto_refresh`) `auto_refresh {enable: false}`, since a
    hundred wallets refreshing every 20 s load the daemon and the leaves refresh themselves.
    Returns SUCCESS (on the tick after the last RPC) once the wallet is open, FAILURE on any
    other RPC error. When the agent stops, the wallet is stored. Each RPC touches only the
    agent's own wallet and costs seconds of CPU, so the leaf steps aside (`ctx.step_aside`):
    agents that start together open their wallets in parallel on the lockstep clock.
    """

    PARAMS = {
        "wallet": string("wallet file name (default: the agent id)"),
        "password": string("wallet password (default: none)"),
        "auto_refresh": boolean("keep wallet-rpc's own background refresh (every 20 s); the "
                                "leaves refresh when they need to", default=False),
    }
    RPC = ("wallet.open_wallet", "wallet.create_wallet", "wallet.auto_refresh",
           "wallet.store (at shutdown)")

    opened = False  # a wallet was opened by this leaf (shutdown stores it)

    def initialise(self) -> None:
        self.create = False
        self.opened = False
        self.done = False
        self.filename = self.args.get("wallet") or self.ctx.agent_id

    def update(self) -> Status:
        wallet = self.ctx.wallet
        password = self.args.get("password", "")
        if self.done:
            return Status.SUCCESS
        self.ctx.step_aside()
        if self.opened:  # the tick after the open: background refresh off, one RPC
            wallet.auto_refresh(enable=False)
            self.done = True
            return self.wake_in(0)
        if self.create:
            wallet.create_wallet(self.filename, password, timeout=OPEN_TIMEOUT)
            self.record(WALLET_CREATED, wallet=self.filename)
        else:
            try:
                wallet.open_wallet(self.filename, password, timeout=OPEN_TIMEOUT)
            except WalletOpenFailed:
                self.create = True
                return self.wake_in(0)
            self.record(WALLET_OPENED, wallet=self.filename)
        self.opened = True
        self.done = bool(self.args.auto_refresh)
        return self.wake_in(0)

    def shutdown(self) -> None:
        if self.opened:
            try:
                self.ctx.wallet.store()
            except RpcError as exc:
                self.ctx.logger.warning("storing the wallet failed: %s", exc)


class GetAddress(Leaf):
    """Read the wallet's primary address into `output` (default `address`). SUCCESS, or
    FAILURE on an RPC error."""

    PARAMS = {"output": key("blackboard key for the address", default="address")}
    OUTPUTS = {"output": "primary address"}
    RPC = ("wallet.get_address",)

    def update(self) -> Status:
        self.write("output", self.ctx.wallet.get_address())
        return Status.SUCCESS


class _BalanceLeaf(Leaf):
    """Two ticks per look: `refresh` (when asked), then `get_balance`."""

    OUTPUTS = {"output": "{balance, unlocked} in atomic units"}
    SHOWN = ("min_unlocked",)
    RPC = ("wallet.refresh", "wallet.get_balance")

    def initialise(self) -> None:
        super().initialise()
        self.refreshed = not self.args.get("refresh", True)

    def look(self) -> dict | None:
        """The balance once read this round, else None (RUNNING: the refresh was this tick)."""
        if not self.refreshed:
            self.ctx.wallet.refresh()
            self.refreshed = True
            return None
        self.refreshed = not self.args.get("refresh", True)
        balance = self.ctx.wallet.get_balance()
        self.write("output", {"balance": balance["balance"],
                              "unlocked": balance["unlocked_balance"]})
        return balance


class CheckBalance(_BalanceLeaf):
    """Is the unlocked balance at least `min_unlocked` XMR?

    Refreshes the wallet (one tick, RUNNING), reads the balance (next tick) into `output`
    ({balance, unlocked} in atomic units) and returns SUCCESS when unlocked ≥ `min_unlocked`,
    FAILURE otherwise or on an RPC error.
    """

    PARAMS = {
        "min_unlocked": number("unlocked XMR needed", minimum=0, default=0),
        "refresh": boolean("scan new blocks first", default=True),
        "output": key("blackboard key for {balance, unlocked}"),
    }

    def update(self) -> Status:
        balance = self.look()
        if balance is None:
            return self.wake_in(0)
        if balance["unlocked_balance"] >= round_to_atomic(self.args.min_unlocked):
            return Status.SUCCESS
        return Status.FAILURE


class AwaitFunds(_BalanceLeaf, WaitingLeaf):
    """Wait until the unlocked balance reaches `min_unlocked` XMR.

    Returns RUNNING, refreshing and reading the balance every `poll`, until unlocked ≥
    `min_unlocked`; then journals `funded {unlocked, balance}` (unless `journal` is false)
    and returns SUCCESS. RPC errors are FAILURE, and so is `timeout` passing (journaled
    `wait_timed_out`); `waiting` every `report_every`.
    """

    PARAMS = {
        "min_unlocked": number("unlocked XMR to wait for", exclusive_minimum=0),
        "poll": duration("time between looks", default="10s"),
        "journal": boolean("journal `funded` when the funds are there", default=True),
        "output": key("blackboard key for {balance, unlocked}"),
        **WAIT_PARAMS,
    }
    REQUIRED = ("min_unlocked",)

    def update(self) -> Status:
        balance = self.look()
        if balance is None:
            return self.wake_in(0)
        unlocked = balance["unlocked_balance"]
        if unlocked >= round_to_atomic(self.args.min_unlocked):
            if self.args.journal:
                self.record(FUNDED, unlocked=unlocked, balance=balance["balance"])
            return Status.SUCCESS
        return self.still_waiting(f"{self.args.min_unlocked} XMR unlocked",
                                  f"{from_atomic(unlocked).normalize():f} XMR", self.args.poll)
