# SPDX-License-Identifier: Apache-2.0
"""The life of a session after it starts: keys that are replaced, idle sessions, vanished peers."""
import os
import re
import subprocess
import sys
import threading
import time
import uuid

import pytest

from conftest import OPENSSL, duplex, recv_exactly
from dbus_helpers import Reader

MIB = 1 << 20


KEY_UPDATED = "traffic keys updated ("  # logged at debug level each time a session replaces its keys
DEBUG = {"TTYGATE_DEBUG": "1"}


def key_updates(g):
    counts = [int(n) for n in re.findall(r"traffic keys were updated (\d+) times", g.log())]
    return max(counts, default=0)


def wait_log_match(g, pattern, timeout=10.0):
    """The first match of `pattern` in the gateway's log, once there is one."""
    deadline = time.monotonic() + timeout
    while not (m := re.search(pattern, g.log())):
        assert time.monotonic() < deadline, f"{pattern!r} never appeared in the log:\n" + g.log()
        time.sleep(0.02)
    return m


def test_keys_are_updated_by_bytes_under_load_with_no_byte_lost_or_duplicated(gateway_factory, device, client):
    g = gateway_factory(extra="[tls]\nrekey_after_bytes = 1048576\n")
    g.add_client(client[0], name="laptop")
    g.start()
    up = os.urandom(6 * MIB)
    down = os.urandom(6 * MIB)
    with g.connect(*client, relaying=True) as s:
        got = {}
        tty_reader = threading.Thread(target=lambda: got.setdefault("tty", device.read(len(up), timeout=60)))
        tty_writer = threading.Thread(target=device.write, args=(down,))
        for t in (tty_reader, tty_writer):
            t.start()
        received = duplex(s, up, len(down))
        for t in (tty_reader, tty_writer):
            t.join()
        assert received == down
        assert got["tty"] == up
    g.wait_log("traffic keys were updated")
    assert key_updates(g) >= 10  # 12 MiB at one update per MiB


def test_keys_are_updated_by_age_while_data_flows(gateway_factory, device, client):
    g = gateway_factory(extra="[tls]\nrekey_after_seconds = 1\n")
    g.add_client(client[0], name="laptop")
    g.start(env=DEBUG)
    sent = bytearray()
    with g.connect(*client, relaying=True) as s:
        deadline = time.monotonic() + 3.5  # three updates at one a second, and scheduling slack
        n = 0
        while g.log().count(KEY_UPDATED) < 3:
            assert time.monotonic() < deadline, "the keys were not updated three times:\n" + g.log()
            frame = f"frame {n}\n".encode()
            s.sendall(frame)
            sent += frame
            device.write(frame)
            assert recv_exactly(s, len(frame)) == frame
            n += 1
            # A pace, not a wait: a few hundred frames over the run, so the device side, read
            # only at the end, never fills and pushes back on the sender.
            time.sleep(0.01)
        assert device.read(len(sent), timeout=10) == bytes(sent)
    g.wait_log("traffic keys were updated")
    assert key_updates(g) >= 3


def test_openssl_s_client_receives_the_gateways_key_update(gateway_factory, device, client):
    g = gateway_factory(extra="[tls]\nrekey_after_seconds = 1\n")
    g.add_client(client[0], name="laptop")
    g.start(env=DEBUG)
    proc = subprocess.Popen([OPENSSL, "s_client", "-msg", "-connect", f"127.0.0.1:{g.port}", "-cert", client[0],
                             "-key", client[1]], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    out = Reader(proc)
    try:
        g.wait_log(KEY_UPDATED)  # the gateway sent its KeyUpdate
        device.write(b"after update\n")  # s_client only reads (and prints) records when data comes
        out.wait_for("after update")
        out.wait_for("KeyUpdate")  # printed with -msg when s_client read the record
    finally:
        proc.kill()
        proc.wait()


def test_a_session_without_payload_is_closed_after_the_idle_timeout(gateway_factory, device, client):
    g = gateway_factory(extra="[keepalive]\nsession_idle_seconds = 1\n")
    g.add_client(client[0], name="laptop")
    g.start()
    with g.connect(*client) as busy, g.connect(*client) as quiet:
        start = time.monotonic()
        for _ in range(8):  # payload every 0.25 s keeps this one alive past the timeout
            busy.sendall(b".")
            time.sleep(0.25)  # the pace of that payload, not a wait for anything
        quiet.settimeout(5)
        assert quiet.recv(10) == b""  # close_notify
        assert 0.9 < time.monotonic() - start < 3
        busy.sendall(b"!")
        assert device.read(9, timeout=5) == b"........!"
    g.wait_log("idle for 1 s")


@pytest.fixture
def netns():
    """A client host in its own network namespace, joined to this one by a veth pair."""
    name = "tg" + uuid.uuid4().hex[:8]
    outer, inner = name + "a", name + "b"
    run = lambda *a: subprocess.run(a, check=True, capture_output=True)
    try:
        run("ip", "netns", "add", name)
    except (subprocess.CalledProcessError, FileNotFoundError) as e:
        pytest.skip(f"no network namespaces here: {e}")
    run("ip", "link", "add", outer, "type", "veth", "peer", "name", inner)
    run("ip", "link", "set", inner, "netns", name)
    run("ip", "addr", "add", "10.231.0.1/30", "dev", outer)
    run("ip", "link", "set", outer, "up")
    run("ip", "netns", "exec", name, "ip", "addr", "add", "10.231.0.2/30", "dev", inner)
    run("ip", "netns", "exec", name, "ip", "link", "set", inner, "up")
    yield name, inner
    subprocess.run(["ip", "netns", "del", name], capture_output=True)
    subprocess.run(["ip", "link", "del", outer], capture_output=True)


CLIENT_IN_NETNS = r"""
import socket, ssl, sys, time
port, cert, key = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
ctx.load_cert_chain(cert, key)
s = ctx.wrap_socket(socket.create_connection(("10.231.0.1", port), timeout=10))
s.sendall(b"hi")
print("connected", flush=True)
time.sleep(60)
"""


def test_a_peer_that_vanishes_is_detected_within_the_keepalive_bound(gateway_factory, device, client, netns):
    name, inner = netns
    g = gateway_factory(host="10.231.0.1",
                        extra="[keepalive]\nidle_seconds = 1\ninterval_seconds = 1\ncount = 2\n")
    g.add_client(client[0], name="laptop")
    g.start()
    peer = subprocess.Popen(["ip", "netns", "exec", name, sys.executable, "-c", CLIENT_IN_NETNS, str(g.port),
                             client[0], client[1]], stdout=subprocess.PIPE)
    try:
        assert peer.stdout.readline() == b"connected\n"
        assert device.read(2) == b"hi"
        g.wait_log("relaying")
        # The laptop's link goes away: from now on nothing it could answer reaches the gateway.
        subprocess.run(["ip", "netns", "exec", name, "ip", "link", "set", inner, "down"], check=True)
        vanished = time.monotonic()
        closed = wait_log_match(g, r"\(10\.231\.0\.2:\d+\): closed: (.*)", timeout=15)
        # idle 1 s + 2 probes 1 s apart, plus scheduling slack
        assert time.monotonic() - vanished < 6, g.log()
        assert "timed out" in closed.group(1)
    finally:
        peer.kill()
        peer.wait()
