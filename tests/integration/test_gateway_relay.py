# SPDX-License-Identifier: Apache-2.0
"""What gets relayed: byte-exact both ways, fan-out, roles, slow readers, a device that comes and goes."""
import os
import select
import socket
import ssl
import subprocess
import threading
import time

from conftest import OPENSSL, make_identity, recv_exactly, refused

ALL_BYTES = bytes(range(256))
MIB = (ALL_BYTES * 4096)[: 1 << 20]


def test_python_ssl_client_relays_every_byte_value_both_ways_byte_exact(gateway_factory, device, client):
    g = gateway_factory()
    g.add_client(client[0], name="laptop")
    g.start()
    with g.connect(*client) as s:
        received = {}
        reader = threading.Thread(target=lambda: received.setdefault("tty", device.read(len(MIB), timeout=60)))
        reader.start()
        s.sendall(MIB)
        reader.join()
        assert received["tty"] == MIB

        writer = threading.Thread(target=device.write, args=(MIB,))
        writer.start()
        assert recv_exactly(s, len(MIB), timeout=60) == MIB
        writer.join()


def test_openssl_s_client_relays_every_byte_value_both_ways_byte_exact(gateway_factory, device, client):
    g = gateway_factory()
    g.add_client(client[0], name="laptop")
    g.start()
    # -quiet implies -ign_eof: stdin is data, never s_client's Q/R commands.
    proc = subprocess.Popen([OPENSSL, "s_client", "-quiet", "-connect", f"127.0.0.1:{g.port}", "-cert", client[0],
                             "-key", client[1], "-tls1_3"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    try:
        writer = threading.Thread(target=lambda: (proc.stdin.write(MIB), proc.stdin.flush()))
        writer.start()
        assert device.read(len(MIB), timeout=60) == MIB  # client → tty
        writer.join()

        feeder = threading.Thread(target=device.write, args=(MIB,))
        feeder.start()
        out = bytearray()
        deadline = time.monotonic() + 60
        while len(out) < len(MIB) and time.monotonic() < deadline:
            ready, _, _ = select.select([proc.stdout], [], [], 1)
            if ready:
                out += os.read(proc.stdout.fileno(), 65536)
        feeder.join()
        assert bytes(out) == MIB  # tty → client
    finally:
        proc.kill()
        proc.wait()


def test_monitor_reads_device_output_but_its_input_never_reaches_the_tty(gateway_factory, device, tmp_path):
    g = gateway_factory()
    watcher = make_identity(str(tmp_path), "watcher")
    g.add_client(watcher[0], name="watcher", role="monitor")
    g.start()
    with g.connect(*watcher, relaying=True) as w:
        w.sendall(b"A motor 255\n")
        device.write(b"S 1 temp=20.0\n")
        assert recv_exactly(w, 14) == b"S 1 temp=20.0\n"
        assert device.read_for(0.5) == b""
    g.wait_log("B of monitor input dropped")


def test_two_sessions_both_receive_device_output(gateway_factory, device, tmp_path):
    g = gateway_factory()
    a, b = make_identity(str(tmp_path), "a"), make_identity(str(tmp_path), "b")
    g.add_client(a[0], name="a")
    g.add_client(b[0], name="b")
    g.start()
    with g.connect(*a) as sa, g.connect(*b) as sb:
        sa.sendall(b"?")  # make sure both sessions are attached before the device speaks
        assert device.read(1) == b"?"
        sb.sendall(b"?")
        assert device.read(1) == b"?"
        device.write(ALL_BYTES)
        assert recv_exactly(sa, 256) == ALL_BYTES
        assert recv_exactly(sb, 256) == ALL_BYTES


def test_slow_reader_is_dropped_while_a_fast_one_keeps_up(gateway_factory, device, tmp_path):
    g = gateway_factory(limits="session_buffer_bytes = 65536")
    fast, slow = make_identity(str(tmp_path), "fast"), make_identity(str(tmp_path), "slow")
    g.add_client(fast[0], name="fast", role="monitor")
    g.add_client(slow[0], name="slow", role="monitor")
    g.start()
    sf = g.connect(*fast, relaying=True)
    ss = g.connect(*slow, relaying=True)
    total = 8 << 20  # far beyond the slow session's socket buffers plus its 64 KiB queue
    writer = threading.Thread(target=lambda: device.write(b"\xa5" * total))
    writer.start()
    got = recv_exactly(sf, total, timeout=60)
    writer.join()
    assert got == b"\xa5" * total
    g.wait_log("too slow")
    ss.close()
    sf.close()


def test_unplugging_the_device_closes_sessions_and_the_port_comes_back(gateway_factory, device, client):
    g = gateway_factory()
    g.add_client(client[0], name="laptop")
    g.start()
    s = g.connect(*client)
    s.sendall(b"a")
    assert device.read(1) == b"a"
    device.unplug()
    s.settimeout(5)
    assert s.recv(10) == b""  # close_notify: the gateway ended the session on purpose
    s.close()
    g.wait_log("lost")
    assert refused(lambda: g.connect(*client))  # no device, no session
    device.plug()
    g.wait_log(f"device {device.link} open", count=2)
    deadline = time.monotonic() + 10
    while True:
        try:
            with g.connect(*client) as s2:
                s2.sendall(b"b")
                if device.read(1, timeout=2) == b"b":
                    break
        except (ssl.SSLError, OSError):
            pass
        assert time.monotonic() < deadline, g.log()
        time.sleep(0.2)
    assert g.proc.poll() is None
