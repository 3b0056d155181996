"""Errors raised by the ipc package."""
from lang.errors import InputError, MonerosimError


class IpcError(MonerosimError):
    """Base class for every error the ipc package raises on purpose."""


class InvalidAgentId(IpcError, InputError, ValueError):
    """An agent id that is not a valid Shadow host name (see ipc.ids)."""


class CorruptDocument(IpcError):
    """A shared JSON document exists but cannot be decoded.

    Attributes: ``path`` (the file) and ``reason`` (what was wrong).
    """

    def __init__(self, path, reason):
        self.path = path
        self.reason = reason
        super().__init__(f"corrupt document {path}: {reason}")
