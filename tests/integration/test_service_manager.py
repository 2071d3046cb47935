# SPDX-License-Identifier: Apache-2.0
"""ttygated under systemd: it says when it is ready, proves its loop turns, and says when it stops."""
import socket
import time


def notifications(sock, until, timeout=5.0):
    """Datagrams from the daemon until one contains `until`."""
    got = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        sock.settimeout(max(deadline - time.monotonic(), 0.01))
        try:
            got.append(sock.recv(4096).decode())
        except socket.timeout:
            break
        if until in got[-1]:
            break
    return got


def test_ready_watchdog_and_stopping_are_sent_to_the_service_manager(gateway_factory, device, client, tmp_path):
    path = str(tmp_path / "notify")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    g = gateway_factory()
    g.add_client(client[0], name="laptop")
    g.start(env={"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "400000"})
    ready = notifications(sock, "READY=1")
    assert any("READY=1" in m and "STATUS=Gateway" in m for m in ready), ready
    start = time.monotonic()
    pings = [m for m in notifications(sock, "never", timeout=1.0) if "WATCHDOG=1" in m]
    assert len(pings) >= 3, pings  # every 200 ms: half the interval
    assert time.monotonic() - start >= 0.9
    g.proc.send_signal(15)
    assert any("STOPPING=1" in m for m in notifications(sock, "STOPPING=1")), "no STOPPING=1"
    assert g.proc.wait(timeout=10) == 0
    sock.close()

