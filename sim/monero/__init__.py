"""Monero's processes as this project starts them: command lines and TLS."""
from __future__ import annotations

from lang.errors import MonerosimError

__all__ = ["ProcessError"]


class ProcessError(MonerosimError, RuntimeError):
    """A Monero process could not be started or did not become ready."""
