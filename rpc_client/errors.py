"""Errors raised by the Monero RPC clients.

RpcError
├── TransportError          the request did not get an answer
│   ├── ConnectionFailed    refused / reset / DNS
│   └── RpcTimeout          no answer within the call's timeout
├── HttpError               an HTTP status other than 200
│   └── AuthError           401: missing or wrong RPC login
├── BadResponse             an answer that is not the JSON-RPC we expect
└── JsonRpcError            the server answered with {"error": {code, message}}
    └── one named subclass per code the simulation reacts to (see CODES)
"""
from __future__ import annotations

from lang.errors import MonerosimError

__all__ = [
    "RpcError", "TransportError", "ConnectionFailed", "RpcTimeout", "HttpError", "AuthError",
    "BadResponse", "JsonRpcError", "WalletOpenFailed", "WrongAddress", "NoWalletOpen",
    "NotEnoughMoney", "TooManyDestinations", "NotEnoughOutputs", "WalletExists",
    "NotEnoughUnlockedMoney", "DaemonUnreachable", "ZeroAmount", "MethodNotFound",
    "CODES", "json_rpc_error",
]


class RpcError(MonerosimError):
    """Base of every client error. `code` is the JSON-RPC error code when there is one."""

    code: int | None = None

    def __init__(self, message: str, *, method: str | None = None, url: str | None = None):
        super().__init__(message)
        self.message = message
        self.method = method
        self.url = url

    def __str__(self) -> str:
        where = f"{self.method}: " if self.method else ""
        return f"{where}{self.message}"


class TransportError(RpcError):
    """No answer: the server is down, unreachable or too slow."""


class ConnectionFailed(TransportError):
    """The connection was refused, reset or could not be made."""


class RpcTimeout(TransportError):
    """The server did not answer within the call's timeout."""


class HttpError(RpcError):
    """The server answered with an HTTP status other than 200."""

    def __init__(self, message: str, *, status: int, **kw):
        super().__init__(message, **kw)
        self.status = status


class AuthError(HttpError):
    """HTTP 401: the RPC login is missing or wrong."""


class BadResponse(RpcError):
    """The answer is not JSON, or not the JSON-RPC shape expected."""


class JsonRpcError(RpcError):
    """The server refused the call: `code` and `message` come from its `error` object."""

    def __init__(self, code: int, message: str, **kw):
        super().__init__(message, **kw)
        self.code = code

    def __str__(self) -> str:
        return f"{super().__str__()} (code {self.code})"


class WalletOpenFailed(JsonRpcError):
    """-1 on open_wallet: the wallet file is missing or the password is wrong."""


class WrongAddress(JsonRpcError):
    """-2: the address (or integrated address) is invalid."""


class NoWalletOpen(JsonRpcError):
    """-13: the wallet-rpc has no wallet open."""


class NotEnoughMoney(JsonRpcError):
    """-17: the amount plus fee exceeds the balance."""


class TooManyDestinations(JsonRpcError):
    """-18: the transaction would be too large (more than 16 destinations)."""


class NotEnoughOutputs(JsonRpcError):
    """-19: too few unlocked outputs on chain to build a ring."""


class WalletExists(JsonRpcError):
    """-21: create_wallet for a wallet that already exists."""


class NotEnoughUnlockedMoney(JsonRpcError):
    """-37: the amount plus fee exceeds the unlocked balance."""


class DaemonUnreachable(JsonRpcError):
    """-38 / -4: the wallet-rpc cannot reach its daemon."""


class ZeroAmount(JsonRpcError):
    """-46: a destination amount is zero."""


class MethodNotFound(JsonRpcError):
    """-32601: the server does not know the method."""


CODES: dict[int, type[JsonRpcError]] = {
    -2: WrongAddress,
    -4: DaemonUnreachable,
    -13: NoWalletOpen,
    -17: NotEnoughMoney,
    -18: TooManyDestinations,
    -19: NotEnoughOutputs,
    -21: WalletExists,
    -37: NotEnoughUnlockedMoney,
    -38: DaemonUnreachable,
    -46: ZeroAmount,
    -32601: MethodNotFound,
}

# Codes whose meaning depends on the method (wallet-rpc's -1 is "unknown error" elsewhere).
METHOD_CODES: dict[tuple[str, int], type[JsonRpcError]] = {
    ("open_wallet", -1): WalletOpenFailed,
}


def json_rpc_error(code: int, message: str, *, method: str | None = None,
                   url: str | None = None) -> JsonRpcError:
    """The most specific JsonRpcError subclass for `code` (and `method`)."""
    cls = METHOD_CODES.get((method or "", code)) or CODES.get(code, JsonRpcError)
    return cls(code, message, method=method, url=url)
