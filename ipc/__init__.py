"""File-based shared state for agents: atomic JSON documents, JSONL journals,
the agent registry and the mining signal. Stdlib only; no locks (Shadow)."""

from .documents import read_document, write_document
from .errors import CorruptDocument, InvalidAgentId, IpcError
from .ids import validate_agent_id
from .journal import JournalReader, JournalWriter, journal_path, read_journal
from .orders import OrderBookWriter, OrderIndex, orders_dir
from .registry import Registry
from .signals import ack_path, read_mining_signal, read_signal_ack, signal_path, write_mining_signal, write_signal_ack
from .status import StatusWriter, status_path

__all__ = [
    "IpcError",
    "CorruptDocument",
    "InvalidAgentId",
    "validate_agent_id",
    "write_document",
    "read_document",
    "JournalWriter",
    "JournalReader",
    "read_journal",
    "journal_path",
    "Registry",
    "OrderBookWriter",
    "OrderIndex",
    "orders_dir",
    "signal_path",
    "write_mining_signal",
    "read_mining_signal",
    "StatusWriter",
    "status_path",
    "ack_path",
    "write_signal_ack",
    "read_signal_ack",
]
