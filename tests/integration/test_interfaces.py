# SPDX-License-Identifier: Apache-2.0
"""Ports that listen on named interfaces follow their addresses (route netlink, libnl): in a
private network namespace with a veth pair, addresses come and go and ttygated's listening
sockets (as `ss` reports them) follow within a second, on the named interface only."""
import signal
import socket
import subprocess
import time

import pytest

from conftest import make_identity, recv_exactly
from netns import ip, listening, private_netns

IF, OTHER = "t0", "t1"


@pytest.fixture
def netns():
    with private_netns():
        ip("link", "add", IF, "type", "veth", "peer", "name", OTHER)
        for name in (IF, OTHER):
            ip("link", "set", name, "addrgenmode", "none")  # no automatic link-local: the test decides
            ip("link", "set", name, "up")
            # Removing a primary IPv4 address would otherwise take its secondaries with it.
            with open(f"/proc/sys/net/ipv4/conf/{name}/promote_secondaries", "w") as f:
                f.write("1\n")
        yield


def interface_gateway(gateway_factory, interfaces=(IF,)):
    """A gateway whose port listens on the interfaces' addresses, and on 127.0.0.1 (how the
    fixture sees it come up)."""
    g = gateway_factory()
    with open(g.config) as f:
        text = f.read()
    names = ", ".join(f'"{name}"' for name in interfaces)
    text = text.replace(f'listen = ["127.0.0.1:{g.port}"]',
                        f'listen = ["127.0.0.1:{g.port}"]\ninterfaces = [{names}]\nlisten_port = {g.port}')
    with open(g.config, "w") as f:
        f.write(text)
    return g


def wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return time.monotonic()
        time.sleep(0.01)
    raise AssertionError(f"not within {timeout} s: {what}")


def connects(host, port):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as s:
        s.settimeout(0.5)
        try:
            s.connect((host, port))
            return True
        except OSError:
            return False


def test_a_port_follows_its_interfaces_addresses_and_never_listens_elsewhere(netns, gateway_factory, device, tmp_path):
    g = interface_gateway(gateway_factory)
    cert, key = make_identity(str(tmp_path), "laptop")
    g.add_client(cert, name="laptop")
    g.start()
    P = g.port
    local = f"127.0.0.1:{P}"
    assert listening(P) == {local}, "no address on t0 yet: only the explicit listen address"

    # An address on an interface that is not named: never listened on (checked again at the end).
    ip("addr", "add", "10.88.0.1/24", "dev", OTHER)

    added = time.monotonic()
    ip("addr", "add", "10.77.0.1/24", "dev", IF)
    connected = wait_for(lambda: connects("10.77.0.1", P), 1.0, "a client connects to the new address")
    assert connected - added < 1.0

    # A real session on the first address: it outlives its listener.
    g.host = "10.77.0.1"
    session = g.connect(cert, key, relaying=True)
    echo = device.echo_in_background()
    try:
        session.sendall(b"before")
        assert recv_exactly(session, 6, timeout=5) == b"before"

        # A second IPv4 address, an IPv6 one without DAD, one with DAD (tentative first), a link-local one.
        ip("addr", "add", "10.77.0.2/24", "dev", IF)
        ip("addr", "add", "fd00:77::1/64", "dev", IF, "nodad")
        ip("addr", "add", "fd00:77::2/64", "dev", IF)
        ip("addr", "add", "fe80::77:1/64", "dev", IF, "nodad")
        want = {local, f"10.77.0.1:{P}", f"10.77.0.2:{P}", f"[fd00:77::1]:{P}", f"[fd00:77::2]:{P}",
                f"[fe80::77:1]%{IF}:{P}"}
        wait_for(lambda: listening(P) == want, 5.0, f"listening on {want}, got {listening(P)}")
        assert connects("fd00:77::2", P)
        assert "Failed to listen" not in g.log() and "failed to listen" not in g.log(), g.log()

        # Removing the first address closes its listener only.
        removed = time.monotonic()
        ip("addr", "del", "10.77.0.1/24", "dev", IF)
        gone = wait_for(lambda: f"10.77.0.1:{P}" not in listening(P), 1.0, "the removed address's listener closes")
        assert gone - removed < 1.0
        assert listening(P) == want - {f"10.77.0.1:{P}"}
        assert connects("10.77.0.2", P) and connects("fd00:77::1", P)

        # The session on the removed address was not closed by the gateway: with the address back,
        # it relays again.
        ip("addr", "add", "10.77.0.1/24", "dev", IF)
        wait_for(lambda: f"10.77.0.1:{P}" in listening(P), 1.0, "the address is back")
        session.sendall(b"after")
        assert recv_exactly(session, 5, timeout=10) == b"after"
    finally:
        echo.stop()
        session.close()

    # Down: every address of the interface closes; up: they come back.
    ip("link", "set", IF, "down")
    wait_for(lambda: listening(P) == {local}, 1.0, "nothing but 127.0.0.1 while t0 is down")
    ip("link", "set", IF, "up")
    wait_for(lambda: {f"10.77.0.1:{P}", f"10.77.0.2:{P}"} <= listening(P), 1.0, "IPv4 addresses back after up")
    for address in ("fd00:77::1/64", "fd00:77::2/64", "fe80::77:1/64"):
        ip("addr", "del", address, "dev", IF, check=False)  # whether the kernel kept them on down varies

    # 200 changes in one burst: 150 addresses added, then 50 of them removed again.
    batch = tmp_path / "burst.batch"
    lines = [f"addr add 10.99.{i // 200}.{i % 200 + 1}/32 dev {IF}" for i in range(150)]
    lines += [f"addr del 10.99.{i // 200}.{i % 200 + 1}/32 dev {IF}" for i in range(0, 100, 2)]
    batch.write_text("\n".join(lines) + "\n")
    subprocess.run(["ip", "-batch", str(batch)], check=True)
    kept = {f"10.99.{i // 200}.{i % 200 + 1}:{P}" for i in range(150) if not (i < 100 and i % 2 == 0)}
    want = {local, f"10.77.0.1:{P}", f"10.77.0.2:{P}"} | kept
    wait_for(lambda: listening(P) == want, 10.0, "the final set after the burst")
    assert len(want) == 103
    assert not any(a.startswith("10.88.") for a in listening(P)), "never on the interface not named"
    assert not connects("10.88.0.1", P)
    assert g.proc.poll() is None


def test_a_vanished_interface_is_logged_once_and_followed_again_when_it_returns(netns, gateway_factory, device):
    g = interface_gateway(gateway_factory)
    g.start()
    P = g.port
    ip("addr", "add", "10.66.0.1/24", "dev", IF)
    wait_for(lambda: f"10.66.0.1:{P}" in listening(P), 1.0, "listening on t0's address")

    ip("link", "set", IF, "down")
    ip("link", "set", IF, "name", "t9")
    ip("link", "set", "t9", "up")
    wait_for(lambda: "interface t0 vanished or was renamed" in g.log(), 2.0, "the rename is logged")
    assert f"10.66.0.1:{P}" not in listening(P), "t9 is not named: its address is not listened on"
    for i in range(5):  # more changes (more resyncs) while t0 is missing: no new message
        ip("addr", "add", f"10.67.0.{i + 1}/32", "dev", OTHER)

    ip("link", "set", "t9", "down")
    ip("link", "set", "t9", "name", IF)
    ip("link", "set", IF, "up")
    wait_for(lambda: f"10.66.0.1:{P}" in listening(P), 1.0, "listening on t0's address again")
    assert g.log().count("interface t0 vanished or was renamed") == 1
    assert "interface t0 appeared" in g.log()


def test_an_overflowing_netlink_socket_resyncs_to_the_right_set(netns, gateway_factory, device, tmp_path):
    """700 changes while the gateway is stopped (SIGSTOP) overflow its netlink socket: the
    notifications of the last ones are lost (ENOBUFS). It reads everything again and ends in the
    right set, including the addresses whose notifications it never saw, and keeps watching."""
    g = interface_gateway(gateway_factory)
    g.start()
    P = g.port
    address = [f"10.55.{i // 200}.{i % 200 + 1}" for i in range(400)]
    lines = [f"addr add {a}/32 dev {IF}" for a in address] + [f"addr del {a}/32 dev {IF}" for a in address[:300]]
    batch = tmp_path / "burst.batch"
    batch.write_text("\n".join(lines) + "\n")
    g.proc.send_signal(signal.SIGSTOP)
    try:
        subprocess.run(["ip", "-batch", str(batch)], check=True)
    finally:
        g.proc.send_signal(signal.SIGCONT)
    want = {f"127.0.0.1:{P}"} | {f"{a}:{P}" for a in address[300:]}
    wait_for(lambda: listening(P) == want, 10.0, "the final set after the overflow")
    assert "Netlink notifications overflowed (ENOBUFS): resyncing from a full dump" in g.log()
    ip("addr", "add", "10.56.0.1/24", "dev", IF)
    wait_for(lambda: f"10.56.0.1:{P}" in listening(P), 1.0, "a change after the overflow is followed")
