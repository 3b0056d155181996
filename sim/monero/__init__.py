"""Monero's processes as this project starts them: command lines and TLS."""
from __future__ import annotations

__all__ = ["ProcessError"]


class ProcessError(RuntimeError):
    """A Monero process could not be started or did not become ready."""
