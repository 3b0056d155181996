"""RpcEndpoint against a local misbehaving HTTP server: shapes, statuses, hangs, retries."""
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from rpc_client import (AuthError, BadResponse, ConnectionFailed, DaemonClient, HttpError,
                        JsonRpcError, NotEnoughMoney, RpcError, RpcTimeout, WalletClient,
                        WalletOpenFailed, errors)


class Script:
    """What the fake server answers next: (status, body bytes) or 'hang'."""

    def __init__(self):
        self.answers = []
        self.requests = []


@pytest.fixture
def server():
    script = Script()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            script.requests.append((self.path, json.loads(body)))
            answer = script.answers.pop(0) if script.answers else (200, b'{"result": {}}')
            if answer == "hang":
                time.sleep(1.5)
                return
            status, payload = answer
            self.send_response(status)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    script.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    yield script
    httpd.shutdown()
    httpd.server_close()


def answer(obj) -> tuple[int, bytes]:
    return 200, json.dumps(obj).encode()


def test_result_is_returned_and_request_is_json_rpc(server):
    server.answers = [answer({"jsonrpc": "2.0", "id": 1, "result": {"count": 42}})]
    assert DaemonClient(server.url).get_block_count() == 42
    path, body = server.requests[0]
    assert path == "/json_rpc" and body["method"] == "get_block_count" and body["jsonrpc"] == "2.0"


def test_error_object_maps_to_named_subclass(server):
    server.answers = [answer({"error": {"code": -17, "message": "not enough money"}})]
    with pytest.raises(NotEnoughMoney) as err:
        WalletClient(server.url).transfer([("4abc", 1)])
    assert err.value.code == -17 and err.value.method == "transfer"
    assert "not enough money (code -17)" in str(err.value)


def test_unknown_code_is_plain_json_rpc_error(server):
    server.answers = [answer({"error": {"code": -999, "message": "odd"}})]
    with pytest.raises(JsonRpcError) as err:
        WalletClient(server.url).get_balance()
    assert type(err.value) is JsonRpcError and err.value.code == -999


def test_minus_one_means_open_failed_only_for_open_wallet():
    assert type(errors.json_rpc_error(-1, "x", method="open_wallet")) is WalletOpenFailed
    assert type(errors.json_rpc_error(-1, "x", method="transfer")) is JsonRpcError


@pytest.mark.parametrize("status, payload, exc", [
    (200, b"<html>not json</html>", BadResponse),
    (200, b"[1, 2]", BadResponse),
    (200, b'{"jsonrpc": "2.0"}', BadResponse),
    (200, b'{"error": "boom"}', BadResponse),
    (200, b'{"error": {"message": "no code"}}', BadResponse),
    (500, b"internal", HttpError),
    (401, b"<html>401</html>", AuthError),
])
def test_garbage_answers_are_clear_errors(server, status, payload, exc):
    server.answers = [(status, payload)]
    with pytest.raises(exc) as err:
        DaemonClient(server.url, retries=0).get_info()
    assert isinstance(err.value, RpcError) and err.value.method == "get_info"


def test_plain_endpoint_checks_status(server):
    server.answers = [answer({"status": "BUSY"})]
    with pytest.raises(BadResponse, match="BUSY"):
        DaemonClient(server.url).get_height()
    server.answers = [answer({"status": "OK"})]
    assert DaemonClient(server.url).get_transaction_pool_hashes() == []


def test_hung_server_is_bounded_and_not_retried(server):
    server.answers = ["hang", "hang"]
    client = WalletClient(server.url, timeout=0.3, retries=3, sleep=lambda s: None)
    started = time.monotonic()
    with pytest.raises(RpcTimeout):
        client.get_balance()
    assert time.monotonic() - started < 1.2
    assert len(server.requests) == 1


def test_refused_connection_is_retried_with_backoff_then_fails():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens
    sleeps = []
    client = WalletClient(f"http://127.0.0.1:{port}", retries=2, backoff=0.5, sleep=sleeps.append)
    with pytest.raises(ConnectionFailed):
        client.transfer([("4abc", 1)])  # never sent, so safe to retry even a transfer
    assert sleeps == [0.5, 1.0]


def test_transfer_is_not_repeated_when_the_answer_is_lost():
    """The server reads the request, then drops the connection: the transfer may have happened."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    accepted = []

    def drop():
        listener.settimeout(3)
        try:
            while True:
                conn, _ = listener.accept()
                accepted.append(conn.recv(65536))
                conn.close()
        except OSError:
            pass

    thread = threading.Thread(target=drop, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    with pytest.raises(ConnectionFailed):
        WalletClient(url, retries=3, sleep=lambda s: None).transfer([("4abc", 1)])
    time.sleep(0.2)
    assert len(accepted) == 1
    with pytest.raises(ConnectionFailed):
        WalletClient(url, retries=2, sleep=lambda s: None).get_balance()  # safe: asked again
    time.sleep(0.2)
    assert len(accepted) == 1 + 3
    listener.close()


NO_DAEMON = (200, b'{"error": {"code": -38, "message": "no connection to daemon"}}')


def test_a_read_answered_no_connection_to_daemon_is_asked_twice_more(server):
    """wallet-rpc answers -38 once or twice after the daemon closed its idle connection: the
    second ask can still go into the closed connection when the close is in flight (measured
    under Shadow with 240 ms between wallet and daemon)."""
    pauses = []
    server.answers = [NO_DAEMON, (200, b'{"result": {"blocks_fetched": 2}}')]
    with WalletClient(server.url, sleep=pauses.append) as wallet:
        assert wallet.refresh()["blocks_fetched"] == 2
    assert [body["method"] for _, body in server.requests] == ["refresh", "refresh"] and pauses == [0.1]
    server.answers, server.requests, pauses[:] = [NO_DAEMON, NO_DAEMON, (200, b'{"result": {}}')], [], []
    with WalletClient(server.url, sleep=pauses.append) as wallet:
        assert wallet.refresh() == {}
    assert len(server.requests) == 3 and pauses == [0.1, 1.0]
    server.answers, server.requests = [NO_DAEMON] * 3, []
    with WalletClient(server.url, sleep=lambda s: None) as wallet:
        with pytest.raises(errors.DaemonUnreachable):
            wallet.refresh()
    assert len(server.requests) == 3        # twice more, not forever


def test_get_transfers_answered_code_0_without_a_message_is_asked_once_more(server):
    """wallet-rpc 0.18.0.0's get_transfers says "no connection to daemon" only in its log."""
    gone = (200, b'{"error": {"code": 0, "message": ""}}')
    server.answers = [gone, (200, b'{"result": {"in": []}}')]
    with WalletClient(server.url, sleep=lambda s: None) as wallet:
        assert wallet.get_transfers(incoming=True)["in"] == []
    server.answers, server.requests = [(200, b'{"error": {"code": 0, "message": "x"}}')], []
    with WalletClient(server.url, sleep=lambda s: None) as wallet:
        with pytest.raises(JsonRpcError):
            wallet.get_transfers(incoming=True)
    assert len(server.requests) == 1         # a code 0 that says something is not asked again


def test_a_transfer_answered_no_connection_to_daemon_is_not_sent_again(server):
    server.answers = [NO_DAEMON]
    with WalletClient(server.url, sleep=lambda s: None) as wallet:
        with pytest.raises(errors.DaemonUnreachable):
            wallet.transfer([("4" + "1" * 94, 5)])
    assert [body["method"] for _, body in server.requests] == ["transfer"]


class KeepingHandler(BaseHTTPRequestHandler):
    """Answers every call with a block count of 7 and would keep the connection open."""

    protocol_version = "HTTP/1.1"

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        payload = b'{"result": {"count": 7}}'
        self.send_response(200)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


@pytest.mark.parametrize("keep_alive", [True, False])
def test_keep_alive_false_holds_no_connection_between_calls(keep_alive):
    """monerod counts idle client connections (>120 sockets: it drops idle ones after 7 s), so
    agents' daemon clients close theirs after each answer."""
    seen = []

    class Handler(KeepingHandler):
        def do_POST(self):
            seen.append((self.client_address[1], self.headers.get("Connection")))
            super().do_POST()

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        with DaemonClient(f"http://127.0.0.1:{httpd.server_address[1]}",
                          keep_alive=keep_alive) as client:
            assert [client.get_block_count() for _ in range(3)] == [7, 7, 7]
    finally:
        httpd.shutdown()
        httpd.server_close()
    ports = {port for port, _ in seen}
    if keep_alive:
        assert len(ports) == 1 and {c for _, c in seen} != {"close"}
    else:
        assert len(ports) == 3 and {c for _, c in seen} == {"close"}


def test_relay_tx_answered_failed_to_commit_is_asked_again_with_the_same_tx(server):
    """-4 is also what a wallet-rpc that cannot reach its daemon answers; the same signed tx
    relayed again is one payment."""
    refused = (200, b'{"error": {"code": -4, "message": "Failed to commit tx."}}')
    server.answers = [refused, (200, b'{"result": {"tx_hash": "ab"}}')]
    with WalletClient(server.url, sleep=lambda s: None) as wallet:
        assert wallet.relay_tx("0f0f") == "ab"
    assert [(b["method"], b["params"]) for _, b in server.requests] == \
        [("relay_tx", {"hex": "0f0f"})] * 2
    server.answers, server.requests = [refused] * 3, []
    with WalletClient(server.url, sleep=lambda s: None) as wallet:
        with pytest.raises(errors.DaemonUnreachable):
            wallet.relay_tx("0f0f")
    assert len(server.requests) == 3


def test_transfer_sends_the_two_phase_flags_only_when_asked(server):
    server.answers = [answer({"result": {"tx_hash": "ab"}})] * 2
    with WalletClient(server.url) as wallet:
        wallet.transfer([("4" + "1" * 94, 5)])
        wallet.transfer([("4" + "1" * 94, 5)], do_not_relay=True, get_tx_metadata=True)
    plain, signed = (b["params"] for _, b in server.requests)
    assert not {"do_not_relay", "get_tx_metadata", "get_tx_hex"} & set(plain)
    assert (signed["do_not_relay"], signed["get_tx_metadata"]) == (True, True)
    assert "get_tx_hex" not in signed
