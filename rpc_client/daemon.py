"""monerod RPC: the calls the simulation makes, typed."""
from __future__ import annotations

from .errors import BadResponse
from .session import RpcEndpoint


class DaemonClient(RpcEndpoint):
    """A monerod RPC endpoint, e.g. DaemonClient("http://127.0.0.1:18081")."""

    def get_info(self) -> dict:
        """Node state: height, target_height, tx_pool_size, nettype, synchronized, …"""
        return self.call("get_info")

    def get_block_count(self) -> int:
        """Number of blocks on the chain (the top block's height + 1)."""
        return int(self.call("get_block_count")["count"])

    def get_height(self) -> int:
        """Chain height via the plain /get_height endpoint (same as get_block_count)."""
        return int(self.call_path("/get_height")["height"])

    def generateblocks(self, amount_of_blocks: int, wallet_address: str,
                       starting_nonce: int = 0) -> dict:
        """Mine `amount_of_blocks` to `wallet_address` (regtest). Returns {blocks, height}
        where `height` is the index of the last block mined. Not repeated on a lost answer.
        The timeout grows with the blocks asked for (the first call also builds RandomX's
        dataset; a loaded machine mines slower)."""
        return self.call("generateblocks", {
            "amount_of_blocks": int(amount_of_blocks),
            "wallet_address": wallet_address,
            "starting_nonce": int(starting_nonce),
        }, idempotent=False, timeout=max(self.timeout, 30.0 + 2.0 * int(amount_of_blocks)))

    def get_block_header_by_height(self, height: int) -> dict:
        """The header of the block at `height`."""
        return self.call("get_block_header_by_height", {"height": int(height)})["block_header"]

    def get_last_block_header(self) -> dict:
        """The header of the top block."""
        return self.call("get_last_block_header")["block_header"]

    def get_transactions(self, txids: list[str], decode_as_json: bool = False) -> dict:
        """/get_transactions: `txs` (with in_pool, block_height) and `missed_tx` for unknown hashes."""
        answer = self.call_path("/get_transactions", {
            "txs_hashes": list(txids), "decode_as_json": bool(decode_as_json)})
        answer.setdefault("txs", [])
        answer.setdefault("missed_tx", [])
        return answer

    def get_connections(self) -> list[dict]:
        """The daemon's P2P connections: each with `address`, `host`, `incoming`, `state`,
        `peer_id`, `height`, `live_time`, ... ([] when it has none: monerod omits the key)."""
        return list(self.call("get_connections").get("connections", []))

    def set_bans(self, host: str, *, ban: bool = True, seconds: int = 3600) -> None:
        """Ban the IP `host` for `seconds` (its connections are dropped and it may not connect
        again), or lift its ban with `ban=False`."""
        self.call("set_bans", {"bans": [{"host": host, "ban": bool(ban), "seconds": int(seconds)}]})

    def get_bans(self) -> list[dict]:
        """The IPs banned now: each with `host`, `ip`, `seconds` left ([] when none)."""
        return list(self.call("get_bans").get("bans", []))

    def get_transaction_pool_hashes(self) -> list[str]:
        """Hashes of the transactions in the pool ([] when empty: monerod omits the key)."""
        return list(self.call_path("/get_transaction_pool_hashes").get("tx_hashes", []))

    # blocks as blobs: what a private chain needs to copy blocks between daemons
    def get_block(self, *, height: int | None = None, hash: str | None = None) -> dict:
        """The block at `height` or with `hash`: `blob` (hex), `block_header`, `tx_hashes`
        ([] when the block holds only its coinbase: monerod omits the key)."""
        params = {"hash": hash} if hash is not None else {"height": int(height)}
        answer = self.call("get_block", params)
        answer.setdefault("tx_hashes", [])
        return answer

    def submit_block(self, blob: str) -> None:
        """Hand the daemon a mined block (hex blob). monerod answers OK for a block it adds to its
        main chain, keeps as an alternative, already has, or drops for want of its parent:
        read the chain to know which."""
        self.call("submit_block", [blob])

    def get_block_headers_range(self, start_height: int, end_height: int) -> list[dict]:
        """Headers of the main-chain blocks at heights `start_height`..`end_height` (inclusive)."""
        return list(self.call("get_block_headers_range", {
            "start_height": int(start_height), "end_height": int(end_height)})["headers"])

    def get_alt_blocks_hashes(self) -> list[str]:
        """Ids of the blocks the daemon keeps off its main chain (alternatives)."""
        return list(self.call_path("/get_alt_blocks_hashes").get("blks_hashes", []))

    def get_transaction_hex(self, txids: list[str]) -> list[str]:
        """The transactions `txids` as hex blobs, in order (pool or chain); BadResponse when the
        daemon lacks one."""
        answer = self.get_transactions(txids)
        txs = {tx.get("tx_hash"): tx.get("as_hex") for tx in answer["txs"]}
        missing = [t for t in txids if not txs.get(t)]
        if missing:
            raise BadResponse(f"the daemon lacks transaction {missing[0]}", method="get_transactions",
                              url=self.url)
        return [txs[txid] for txid in txids]

    def send_raw_transaction(self, tx_as_hex: str, *, do_not_relay: bool = True) -> dict:
        """/send_raw_transaction: put a transaction in the pool (not relayed by default)."""
        return self.call_path("/send_raw_transaction", {"tx_as_hex": tx_as_hex,
                                                        "do_not_relay": bool(do_not_relay)})

    def get_transaction_pool_stats(self) -> dict:
        """/get_transaction_pool_stats: the pool's `txs_total`, `bytes_total`, `fee_total`
        (atomic units), `oldest`, histograms, … (monerod's `pool_stats`)."""
        return dict(self.call_path("/get_transaction_pool_stats").get("pool_stats") or {})
