"""One JSON-RPC endpoint over one requests.Session: timeouts, digest auth, bounded retries.

A connection error is retried with bounded backoff. A call that may have reached the server
(a read timeout, a reset mid-answer) is retried only when the method is safe to repeat, so a
transfer is never sent twice. JSON-RPC errors are never retried: they are wallet state.
"""
from __future__ import annotations

import json
import time
from typing import Any, Callable

import requests
from requests.auth import HTTPDigestAuth

from . import errors

DEFAULT_TIMEOUT = 30.0
DEFAULT_RETRIES = 3
DEFAULT_BACKOFF = 0.25


def _never_sent(exc: requests.RequestException) -> bool:
    """True when the request cannot have reached the server (the connection was never made)."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    text = repr(exc)
    return "NewConnectionError" in text or "Connection refused" in text


class RpcEndpoint:
    """A Monero RPC server at `url` (scheme://host:port). Thread-unsafe, like the agents.

    With `keep_alive=False` every call asks the server to close the connection after its
    answer, so an idle client holds no socket on the server."""

    def __init__(self, url: str, *, timeout: float = DEFAULT_TIMEOUT,
                 auth: tuple[str, str] | None = None, retries: int = DEFAULT_RETRIES,
                 backoff: float = DEFAULT_BACKOFF, sleep: Callable[[float], None] = time.sleep,
                 keep_alive: bool = True):
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.retries = max(0, retries)
        self.backoff = backoff
        self.sleep = sleep
        self.session = requests.Session()
        self.session.trust_env = False  # never route loopback RPC through a proxy
        if not keep_alive:
            self.session.headers["Connection"] = "close"
        if auth is not None:
            self.session.auth = HTTPDigestAuth(*auth)
        self._next_id = 0

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.url!r})"

    def close(self) -> None:
        self.session.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def call(self, method: str, params: dict | None = None, *, timeout: float | None = None,
             idempotent: bool = True) -> Any:
        """POST /json_rpc; returns `result`. Raises a JsonRpcError subclass for `error`."""
        self._next_id += 1
        body = {"jsonrpc": "2.0", "id": self._next_id, "method": method}
        if params:
            body["params"] = params
        answer = self._post("/json_rpc", body, method, timeout, idempotent)
        if not isinstance(answer, dict):
            raise errors.BadResponse(f"answer is not a JSON object: {answer!r:.200}",
                                     method=method, url=self.url)
        error = answer.get("error")
        if error is not None:
            if not isinstance(error, dict):
                raise errors.BadResponse(f"malformed error: {error!r:.200}", method=method, url=self.url)
            code = error.get("code")
            message = str(error.get("message", ""))
            if not isinstance(code, int):
                raise errors.BadResponse(f"error without an integer code: {error!r:.200}",
                                         method=method, url=self.url)
            raise errors.json_rpc_error(code, message, method=method, url=self.url)
        if "result" not in answer:
            raise errors.BadResponse(f"answer has neither result nor error: {answer!r:.200}",
                                     method=method, url=self.url)
        return answer["result"]

    def call_path(self, path: str, params: dict | None = None, *, timeout: float | None = None,
                  idempotent: bool = True) -> dict:
        """POST to a plain endpoint (e.g. /get_transactions); checks its `status`."""
        answer = self._post(path, params or {}, path.lstrip("/"), timeout, idempotent)
        if not isinstance(answer, dict):
            raise errors.BadResponse(f"answer is not a JSON object: {answer!r:.200}",
                                     method=path, url=self.url)
        status = answer.get("status")
        if status is not None and status != "OK":
            raise errors.BadResponse(f"status {status!r}", method=path, url=self.url)
        return answer

    def _post(self, path: str, body: dict, method: str, timeout: float | None,
              idempotent: bool) -> Any:
        url = self.url + path
        attempt = 0
        while True:
            try:
                response = self.session.post(url, json=body, timeout=timeout or self.timeout)
            except requests.RequestException as exc:
                failure = self._transport_error(exc, method)
                # A hung server is not asked again: the timeout already bounded the wait.
                retryable = _never_sent(exc) or (
                    idempotent and isinstance(exc, requests.ConnectionError)
                    and not isinstance(exc, requests.Timeout))
                if not retryable or attempt >= self.retries:
                    raise failure from None
                self.sleep(self.backoff * (2 ** attempt))
                attempt += 1
                continue
            return self._decode(response, method)

    def _transport_error(self, exc: requests.RequestException, method: str) -> errors.RpcError:
        if isinstance(exc, requests.ConnectTimeout):
            return errors.ConnectionFailed(f"connect timeout to {self.url}", method=method, url=self.url)
        if isinstance(exc, requests.Timeout):
            return errors.RpcTimeout(f"no answer from {self.url} within the timeout",
                                     method=method, url=self.url)
        if isinstance(exc, requests.ConnectionError):
            return errors.ConnectionFailed(f"cannot reach {self.url}: {type(exc).__name__}",
                                           method=method, url=self.url)
        return errors.TransportError(f"{type(exc).__name__}: {exc}", method=method, url=self.url)

    def _decode(self, response: requests.Response, method: str) -> Any:
        if response.status_code == 401:
            raise errors.AuthError("HTTP 401: RPC login missing or wrong", status=401,
                                   method=method, url=self.url)
        if response.status_code != 200:
            raise errors.HttpError(f"HTTP {response.status_code}", status=response.status_code,
                                   method=method, url=self.url)
        try:
            return response.json()
        except (ValueError, json.JSONDecodeError):
            raise errors.BadResponse(f"answer is not JSON: {response.text[:200]!r}",
                                     method=method, url=self.url) from None
