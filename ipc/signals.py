"""Mining signal: RUN/shared/signals/mining.json, written only by the controller; a pool's
acknowledgement of the last signal it answered: RUN/shared/signals/ack-<pool>.json, written only by
that pool (a pool that keeps its blocks off the public chain says so there)."""

import math
from pathlib import Path

from .documents import read_document, write_document
from .errors import CorruptDocument
from .ids import validate_agent_id

__all__ = ["signal_path", "write_mining_signal", "read_mining_signal", "SIGNAL_FIELDS", "ack_path",
           "write_signal_ack", "read_signal_ack"]

SIGNAL_FIELDS = ("seq", "pool", "blocks", "issued_at")


def signal_path(shared_dir) -> Path:
    """Return ``<shared_dir>/signals/mining.json``."""
    return Path(shared_dir) / "signals" / "mining.json"


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def write_mining_signal(shared_dir, *, seq: int, pool: str, blocks: int, issued_at: float, **extra) -> dict:
    """Atomically write the mining signal telling ``pool`` to mine ``blocks`` blocks; return it.

    ``seq`` numbers signals (readers act on a seq they have not seen),
    ``issued_at`` is the controller's clock time; ``extra`` fields are kept.
    Raises TypeError/ValueError for a bad field, InvalidAgentId for a bad pool.
    """
    if not _is_int(seq) or seq < 0:
        raise ValueError(f"mining signal seq must be an int >= 0, got {seq!r}")
    if not _is_int(blocks) or blocks < 1:
        raise ValueError(f"mining signal blocks must be an int >= 1, got {blocks!r}")
    if isinstance(issued_at, bool) or not isinstance(issued_at, (int, float)) or not math.isfinite(issued_at):
        raise ValueError(f"mining signal issued_at must be a finite number, got {issued_at!r}")
    signal = {**extra, "seq": seq, "pool": validate_agent_id(pool), "blocks": blocks, "issued_at": float(issued_at)}
    write_document(signal_path(shared_dir), signal)
    return signal


def read_mining_signal(shared_dir) -> dict | None:
    """Return the current mining signal, or None if none was issued yet.

    Raises CorruptDocument if the file is not valid JSON or lacks a signal field.
    """
    path = signal_path(shared_dir)
    signal = read_document(path)
    if signal is None:
        return None
    if not isinstance(signal, dict):
        raise CorruptDocument(path, "mining signal is not a JSON object")
    missing = [name for name in SIGNAL_FIELDS if name not in signal]
    if missing:
        raise CorruptDocument(path, f"mining signal lacks {', '.join(missing)}")
    return signal


def ack_path(shared_dir, pool: str) -> Path:
    """Return ``<shared_dir>/signals/ack-<pool>.json``."""
    return Path(shared_dir) / "signals" / f"ack-{validate_agent_id(pool)}.json"


def write_signal_ack(shared_dir, pool: str, *, seq: int, **extra) -> dict:
    """Atomically record that ``pool`` answered signal ``seq`` (``extra`` fields kept); return it."""
    if not _is_int(seq) or seq < 0:
        raise ValueError(f"signal acknowledgement seq must be an int >= 0, got {seq!r}")
    ack = {**extra, "seq": seq, "pool": validate_agent_id(pool)}
    write_document(ack_path(shared_dir, pool), ack)
    return ack


def read_signal_ack(shared_dir, pool: str) -> dict | None:
    """The last acknowledgement ``pool`` wrote, or None. CorruptDocument when it is not one."""
    path = ack_path(shared_dir, pool)
    ack = read_document(path)
    if ack is None:
        return None
    if not isinstance(ack, dict) or not _is_int(ack.get("seq")):
        raise CorruptDocument(path, "signal acknowledgement lacks an integer seq")
    return ack
