"""monero-wallet-rpc RPC: the calls the simulation makes, typed. Amounts in atomic units."""
from __future__ import annotations

from typing import Iterable

from .errors import DaemonUnreachable, JsonRpcError, NoWalletOpen
from .session import RpcEndpoint

# A transaction has at most 16 outputs, change included: 16 destinations plus change is
# refused (-18, measured), so one `transfer` pays at most 15. Beyond that use transfer_split.
MAX_DESTINATIONS = 15


# Calls that open or close wallets themselves are never preceded by a re-open.
_OPENING = frozenset({"open_wallet", "create_wallet", "close_wallet", "stop_wallet"})
# Reads that may be asked again when wallet-rpc answers -38 "no connection to daemon" although
# monerod is up. wallet-rpc keeps one connection to its daemon and notices that monerod closed
# it (idle for 300 s from a non-private address, or 7 s once monerod holds over 120 sockets)
# only when a call fails: the first call after the close fails; the next one fails too if it
# is sent before the close has reached the wallet (its data is lost; on Linux a RST answers
# it); the one after that reconnects (measured locally and under Shadow, docs/shadow.md).
_ASK_AGAIN = frozenset({"refresh", "get_balance", "get_transfers", "get_payments", "get_height",
                        "get_address", "get_transfer_by_txid", "incoming_transfers"})
# relay_tx answers -4 "Failed to commit tx." both when the daemon refused the tx and when the
# wallet could not reach it (measured with monerod down; a closed connection, as above, is the
# same failure). Relaying one signed tx again is one payment (same txid, same key images; a tx
# the daemon holds, in its pool or a block, is accepted again: measured), so it is asked again.
_RELAY_AGAIN = frozenset({"relay_tx"})
RECONNECT_PAUSES = (0.1, 1.0)   # real seconds before each new ask


def _daemon_gone(exc: JsonRpcError) -> bool:
    """-38 "no connection to daemon"; or code 0 with no message, which is how wallet-rpc
    0.18.0.0's get_transfers reports the same (its log: "no connection to daemon")."""
    return isinstance(exc, DaemonUnreachable) or (exc.code == 0 and not exc.message)


def _destinations(destinations: Iterable[tuple[str, int]]) -> list[dict]:
    return [{"address": address, "amount": int(amount)} for address, amount in destinations]


class WalletClient(RpcEndpoint):
    """A monero-wallet-rpc endpoint, e.g. WalletClient("http://127.0.0.1:18083").

    With `reopen=True` the client remembers the wallet it last opened or created; when the
    wallet-rpc answers "no wallet open" (-13: it was restarted under us) it opens that wallet
    again, calls `on_reopen(filename)`, and repeats the call once. A read (or `refresh`)
    answered "no connection to daemon" is asked again after each of RECONNECT_PAUSES.
    """

    def __init__(self, url: str, *, reopen: bool = False, on_reopen=None, **kw):
        super().__init__(url, **kw)
        self.reopen = reopen
        self.on_reopen = on_reopen
        self._opened: tuple[str, str] | None = None

    def call(self, method: str, params: dict | None = None, **kw):
        for pause in RECONNECT_PAUSES:
            try:
                return self._call_reopening(method, params, **kw)
            except JsonRpcError as exc:
                if method not in _ASK_AGAIN | _RELAY_AGAIN or not _daemon_gone(exc):
                    raise
            self.sleep(pause)
        return self._call_reopening(method, params, **kw)

    def _call_reopening(self, method: str, params: dict | None = None, **kw):
        try:
            return super().call(method, params, **kw)
        except NoWalletOpen:
            if not (self.reopen and self._opened) or method in _OPENING:
                raise
            filename, password = self._opened
            super().call("open_wallet", {"filename": filename, "password": password},
                         timeout=max(self.timeout, 300.0))
            if self.on_reopen is not None:
                self.on_reopen(filename)
            return super().call(method, params, **kw)

    # -- wallet files ---------------------------------------------------------------------
    def create_wallet(self, filename: str, password: str = "", language: str = "English", *,
                      timeout: float | None = None) -> None:
        """Create and open `filename` in the wallet dir. WalletExists (-21) if it exists.
        Costs seconds of CPU (a key is generated): give a generous `timeout` under load."""
        self.call("create_wallet", {"filename": filename, "password": password,
                                    "language": language}, idempotent=False, timeout=timeout)
        self._opened = (filename, password)

    def open_wallet(self, filename: str, password: str = "", *,
                    timeout: float | None = None) -> None:
        """Open `filename`. WalletOpenFailed (-1) if missing or the password is wrong."""
        self.call("open_wallet", {"filename": filename, "password": password}, timeout=timeout)
        self._opened = (filename, password)

    def close_wallet(self) -> None:
        """Store and close the open wallet (a closed wallet is not re-opened)."""
        self.call("close_wallet")
        self._opened = None

    def store(self) -> None:
        """Save the open wallet's cache to disk."""
        self.call("store")

    def stop_wallet(self) -> None:
        """Store the wallet and stop the wallet-rpc process."""
        self.call("stop_wallet", idempotent=False)

    # -- state ----------------------------------------------------------------------------
    def get_address(self, account_index: int = 0) -> str:
        """The primary address of `account_index`."""
        return self.call("get_address", {"account_index": account_index})["address"]

    def get_balance(self, account_index: int = 0) -> dict:
        """{balance, unlocked_balance, blocks_to_unlock, …} in atomic units."""
        return self.call("get_balance", {"account_index": account_index})

    def refresh(self, start_height: int | None = None) -> dict:
        """Scan new blocks now. Returns {blocks_fetched, received_money}."""
        return self.call("refresh", {} if start_height is None else {"start_height": start_height})

    def auto_refresh(self, enable: bool = True, period: int | None = None) -> None:
        """Turn the wallet-rpc's background refresh (every 20 s by default) on or off."""
        params: dict = {"enable": bool(enable)}
        if period is not None:
            params["period"] = int(period)
        self.call("auto_refresh", params)

    def get_height(self) -> int:
        """The height the wallet has scanned to."""
        return int(self.call("get_height")["height"])

    # -- sending --------------------------------------------------------------------------
    def transfer(self, destinations: Iterable[tuple[str, int]], *, priority: int = 0,
                 ring_size: int = 16, get_tx_key: bool = False, do_not_relay: bool = False,
                 get_tx_metadata: bool = False, get_tx_hex: bool = False, **extra) -> dict:
        """Send to ≤15 (address, atomic amount) pairs in one transaction (16 outputs with change).
        Returns {tx_hash, amount, fee, weight, spent_key_images, …}. Never repeated on a lost
        answer.

        With `do_not_relay` the transaction is built and signed, not sent: the daemon does not
        know it and the wallet does not book it (its inputs stay unspent to it, its balance
        whole; measured on 0.18.0.0). `get_tx_metadata` adds `tx_metadata` (~7,500 hex digits
        for one input and two outputs) for `relay_tx`; `get_tx_hex` adds `tx_blob`, the raw
        transaction for the daemon's /send_raw_transaction."""
        params = {"destinations": _destinations(destinations), "priority": priority,
                  "ring_size": ring_size, "get_tx_key": get_tx_key, **extra}
        for flag, value in (("do_not_relay", do_not_relay), ("get_tx_metadata", get_tx_metadata),
                            ("get_tx_hex", get_tx_hex)):
            if value:
                params[flag] = True
        return self.call("transfer", params, idempotent=False)

    def relay_tx(self, metadata: str) -> str:
        """Send a transaction `transfer {do_not_relay, get_tx_metadata}` signed (its
        `tx_metadata`); the wallet books it as pending. Returns its txid. Never repeated on a
        lost answer; asked again on -4 (see _RELAY_AGAIN).

        Measured on 0.18.0.0: a wallet-rpc restarted from a wallet file saved before the tx
        was signed (or relayed) relays it; a tx the daemon already holds in its pool or a block
        is accepted again (same txid); a tx whose inputs another tx spent, or any relay while
        the daemon is down, is -4 "Failed to commit tx."; bad metadata -27, bad hex -26."""
        return self.call("relay_tx", {"hex": metadata}, idempotent=False)["tx_hash"]

    def transfer_split(self, destinations: Iterable[tuple[str, int]], *, priority: int = 0,
                       ring_size: int = 16, **extra) -> dict:
        """Send to any number of destinations, split over several transactions.
        Returns {tx_hash_list, amount_list, fee_list, …}. Never repeated on a lost answer."""
        params = {"destinations": _destinations(destinations), "priority": priority,
                  "ring_size": ring_size, **extra}
        return self.call("transfer_split", params, idempotent=False)

    def make_integrated_address(self, payment_id: str, standard_address: str | None = None) -> dict:
        """An integrated address carrying the 16-hex `payment_id`. Returns
        {integrated_address, payment_id}."""
        params = {"payment_id": payment_id}
        if standard_address:
            params["standard_address"] = standard_address
        return self.call("make_integrated_address", params)

    def create_address(self, account_index: int = 0, label: str = "") -> dict:
        """A new subaddress. Returns {address, address_index}."""
        return self.call("create_address", {"account_index": account_index, "label": label},
                         idempotent=False)

    # -- receiving ------------------------------------------------------------------------
    def get_transfers(self, *, incoming: bool = False, outgoing: bool = False,
                      pending: bool = False, failed: bool = False, pool: bool = False,
                      min_height: int | None = None, max_height: int | None = None) -> dict:
        """Transfers by kind: keys `in`, `out`, `pending`, `failed`, `pool` (absent when empty
        are filled with [] here). Heights filter confirmed transfers (min exclusive)."""
        params = {"in": incoming, "out": outgoing, "pending": pending, "failed": failed,
                  "pool": pool}
        if min_height is not None or max_height is not None:
            params["filter_by_height"] = True
            if min_height is not None:
                params["min_height"] = int(min_height)
            if max_height is not None:
                params["max_height"] = int(max_height)
        answer = self.call("get_transfers", params)
        for key in ("in", "out", "pending", "failed", "pool"):
            answer.setdefault(key, [])
        return answer

    def get_transfer_by_txid(self, txid: str) -> dict:
        """The transfer `txid` of this wallet: {transfer: {...}, transfers: [...]}."""
        return self.call("get_transfer_by_txid", {"txid": txid})

    def get_payments(self, payment_id: str) -> list[dict]:
        """Confirmed incoming payments with `payment_id` ([] when none)."""
        return list(self.call("get_payments", {"payment_id": payment_id}).get("payments", []))
