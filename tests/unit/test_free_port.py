"""Ports handed to daemons, wallets and links lie below the kernel's ephemeral range, so no
outgoing connection on the machine can take one before its server binds it."""
import socket

from sim.local.processes import _ephemeral_start, free_port


def test_ports_are_below_the_ephemeral_range_distinct_and_bindable():
    top = _ephemeral_start()
    ports = [free_port() for _ in range(50)]
    assert len(set(ports)) == 50
    assert all(10000 <= p < top for p in ports), (top, ports)
    for port in ports[:5]:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", port))


def test_a_port_in_use_is_skipped(monkeypatch):
    from sim.local import processes
    busy, spare = free_port(), free_port()
    processes._handed_out.discard(busy)          # only the bind can refuse it now
    tries = iter([busy, busy, spare + 1])
    monkeypatch.setattr(processes._pick, "randrange", lambda low, high: next(tries))
    with socket.socket() as held:
        held.bind(("127.0.0.1", busy))
        held.listen()
        assert free_port() == spare + 1
