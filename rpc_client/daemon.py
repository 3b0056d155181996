"""monerod RPC: the calls the simulation makes, typed."""
from __future__ import annotations

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

    def get_transaction_pool_hashes(self) -> list[str]:
        """Hashes of the transactions in the pool ([] when empty: monerod omits the key)."""
        return list(self.call_path("/get_transaction_pool_hashes").get("tx_hashes", []))

    def get_transaction_pool_stats(self) -> dict:
        """/get_transaction_pool_stats: the pool's `txs_total`, `bytes_total`, `fee_total`
        (atomic units), `oldest`, histograms, … (monerod's `pool_stats`)."""
        return dict(self.call_path("/get_transaction_pool_stats").get("pool_stats") or {})

    def get_block(self, height: int) -> dict:
        """The block at `height`: `block_header` (hash, num_txes, block_weight, …) and
        `tx_hashes` ([] when it holds only its coinbase: monerod omits the key)."""
        answer = dict(self.call("get_block", {"height": int(height)}))
        answer.setdefault("tx_hashes", [])
        return answer
