# SPDX-License-Identifier: Apache-2.0
"""Resumption: a returning client skips certificates, but never skips the pin check."""
import socket
import ssl

from conftest import recv_exactly


def exchange(s, device, data=b"ping\n"):
    s.sendall(data)
    assert device.read(len(data)) == data
    device.write(data)
    assert recv_exactly(s, len(data)) == data  # reading also takes in the session tickets


def connect_with(g, ctx, session=None):
    raw = socket.create_connection(("127.0.0.1", g.port), timeout=10)
    return ctx.wrap_socket(raw, session=session, suppress_ragged_eofs=False)


def test_python_ssl_client_resumes_with_a_ticket_and_relays(gateway_factory, device, client):
    g = gateway_factory()
    g.add_client(client[0], name="laptop")
    g.start()
    ctx = g.tls_context(*client)
    with connect_with(g, ctx) as first:
        exchange(first, device)
        assert not first.session_reused
        ticket = first.session
    assert ticket is not None and ticket.has_ticket
    with connect_with(g, ctx, ticket) as second:
        exchange(second, device, bytes(range(256)))
        assert second.session_reused
    g.wait_log("resumed")


def test_tickets_from_before_a_restart_fall_back_to_a_full_handshake(gateway_factory, device, client):
    g = gateway_factory()
    g.add_client(client[0], name="laptop")
    g.start()
    ctx = g.tls_context(*client)
    with connect_with(g, ctx) as first:
        exchange(first, device)
        ticket = first.session
    g.stop()
    g.start()  # ticket keys live in memory only
    with connect_with(g, ctx, ticket) as second:
        exchange(second, device)
        assert not second.session_reused


def test_no_tickets_are_issued_when_resumption_is_off(gateway_factory, device, client):
    g = gateway_factory(extra="[tls]\nticket_lifetime_seconds = 0\n")
    g.add_client(client[0], name="laptop")
    g.start()
    ctx = g.tls_context(*client)
    with connect_with(g, ctx) as first:
        exchange(first, device)
        ticket = first.session
    assert ticket is None or not ticket.has_ticket


def test_a_ticket_older_than_its_lifetime_gets_a_full_handshake(gateway_factory, device, client):
    import time
    g = gateway_factory(extra="[tls]\nticket_lifetime_seconds = 1\n")
    g.add_client(client[0], name="laptop")
    g.start()
    ctx = g.tls_context(*client)
    with connect_with(g, ctx) as first:
        exchange(first, device)
        ticket = first.session
    with connect_with(g, ctx, ticket) as fresh:
        exchange(fresh, device)
        assert fresh.session_reused  # within its lifetime it works
    time.sleep(2.5)  # two key rotations: the key that sealed it is gone
    with connect_with(g, ctx, ticket) as stale:
        exchange(stale, device)
        assert not stale.session_reused
