"""JSON-RPC clients for monerod and monero-wallet-rpc."""
from . import errors
from .amounts import ATOMIC_PER_XMR, format_xmr, from_atomic, round_to_atomic, to_atomic
from .daemon import DaemonClient
from .errors import *  # noqa: F401,F403  (the exception hierarchy is part of the API)
from .wallet import MAX_DESTINATIONS, WalletClient

__all__ = [
    "ATOMIC_PER_XMR", "DaemonClient", "MAX_DESTINATIONS", "WalletClient", "errors",
    "format_xmr", "from_atomic", "round_to_atomic", "to_atomic", *errors.__all__,
]
