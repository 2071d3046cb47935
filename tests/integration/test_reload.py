# SPDX-License-Identifier: Apache-2.0
"""SIGHUP reload with a real ttygated: ports added, removed and changed take effect, sessions on
unchanged ports keep relaying, and a bad file changes nothing."""
import os
import signal
import socket

import pytest

from conftest import PtyDevice, free_port, recv_exactly
from dbus_helpers import GATEWAY, SERVICE, bus, start_on_bus  # noqa: F401

RELOADED = "Reloaded "


def port_table(name, device, port, control="shared", serial=None):
    extra = f'serial = "{serial}"\n' if serial else ""
    return (f'[[port]]\nname = "{name}"\ndevice = "{device.link}"\nbaud = 115200\n'
            f'listen = ["127.0.0.1:{port}"]\ncontrol = "{control}"\n{extra}\n')


def write_config(gateway, *tables):
    text = f'[gateway]\nstate_dir = "{gateway.state}"\nname = "test-gateway"\n\n' + "".join(tables)
    tmp = gateway.config + ".new"
    with open(tmp, "w") as f:
        f.write(text)
    os.rename(tmp, gateway.config)


def reload(gateway, expect=RELOADED):
    before = gateway.log().count(expect)
    gateway.proc.send_signal(signal.SIGHUP)
    gateway.wait_log(expect, count=before + 1)
    assert gateway.proc.poll() is None


def echoes(sock, payload):
    sock.sendall(payload)
    return recv_exactly(sock, len(payload)) == payload


def refuses_connections(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except ConnectionRefusedError:
        return True
    return False


@pytest.fixture
def second_device(tmp_path):
    d = PtyDevice(tmp_path / "tty-two")
    yield d
    d.close()


@pytest.fixture
def running(gateway_factory, device, second_device, client):
    """A gateway with ports "toy" (the fixture's port) and "two", both devices echoing, and one
    session relaying on each."""
    g = gateway_factory()
    two = free_port()
    write_config(g, port_table("toy", device, g.port), port_table("two", second_device, two))
    g.add_client(client[0], "laptop")
    g.start()
    g.wait_log("Port two: device")
    echo1, echo2 = device.echo_in_background(), second_device.echo_in_background()
    s1 = g.connect(*client, relaying=True)
    before = g.log().count(" relaying on port two")
    raw = socket.create_connection(("127.0.0.1", two), timeout=10)
    s2 = g.tls_context(*client).wrap_socket(raw, suppress_ragged_eofs=False)
    g.wait_log(" relaying on port two", count=before + 1)
    assert echoes(s1, b"one before") and echoes(s2, b"two before")
    yield g, two, s1, s2
    s1.close()
    s2.close()
    echo1.stop()
    echo2.stop()


def test_a_reload_that_adds_a_port_starts_it_and_keeps_the_running_sessions(running, device, second_device, tmp_path,
                                                                           client):
    g, two, s1, s2 = running
    third = PtyDevice(tmp_path / "tty-three")
    echo3 = third.echo_in_background()
    try:
        three = free_port()
        write_config(g, port_table("toy", device, g.port), port_table("two", second_device, two),
                     port_table("three", third, three))
        reload(g)
        assert "1 ports added, 0 removed, 0 changed, 2 unchanged" in g.log()
        raw = socket.create_connection(("127.0.0.1", three), timeout=10)
        s3 = g.tls_context(*client).wrap_socket(raw, suppress_ragged_eofs=False)
        assert echoes(s3, b"three is new")
        s3.close()
        assert echoes(s1, b"one after") and echoes(s2, b"two after")
    finally:
        echo3.stop()
        third.close()


def test_a_reload_that_removes_a_port_closes_its_sessions_and_listener_only(running, device):
    g, two, s1, s2 = running
    write_config(g, port_table("toy", device, g.port))
    reload(g)
    assert "0 ports added, 1 removed, 0 changed, 1 unchanged" in g.log()
    s2.settimeout(10)
    assert s2.recv(1) == b""  # close_notify: a ragged EOF would raise
    assert refuses_connections(two)
    assert echoes(s1, b"one survives")


def test_a_reload_that_changes_a_port_restarts_that_port_alone(running, device, second_device, client):
    g, two, s1, s2 = running
    moved = free_port()
    write_config(g, port_table("toy", device, g.port), port_table("two", second_device, moved, control="exclusive"))
    reload(g)
    assert "0 ports added, 0 removed, 1 changed, 1 unchanged" in g.log()
    s2.settimeout(10)
    assert s2.recv(1) == b""
    assert refuses_connections(two)
    raw = socket.create_connection(("127.0.0.1", moved), timeout=10)
    s3 = g.tls_context(*client).wrap_socket(raw, suppress_ragged_eofs=False)
    assert echoes(s3, b"two moved")
    s3.close()
    assert echoes(s1, b"one survives")


def test_a_reload_that_changes_only_the_announced_serial_restarts_that_port(running, device, second_device):
    g, two, s1, s2 = running
    write_config(g, port_table("toy", device, g.port), port_table("two", second_device, two, serial="SN-0042"))
    reload(g)
    assert "0 ports added, 0 removed, 1 changed, 1 unchanged" in g.log()
    s2.settimeout(10)
    assert s2.recv(1) == b""
    assert echoes(s1, b"one survives")


def test_a_bad_file_is_one_logged_line_and_the_running_configuration_stays(running, client):
    g, two, s1, s2 = running
    with open(g.config, "a") as f:
        f.write('[[port]]\nname = "bad"\ndevice = "relative/tty"\nlisten = ["127.0.0.1:1"]\n')
    reload(g, expect="Failed to reload")
    lines = [line for line in g.log().splitlines() if "Failed to reload" in line]
    assert len(lines) == 1
    assert g.config in lines[0] and "port[2].device" in lines[0], lines[0]
    assert RELOADED not in g.log()
    assert echoes(s1, b"one survives") and echoes(s2, b"two survives")
    s3 = g.connect(*client, relaying=True)
    assert echoes(s3, b"still accepting")
    assert recv_exactly(s1, len(b"still accepting")) == b"still accepting"  # the device's output fans out
    s3.close()
    # A missing file is refused the same way.
    os.unlink(g.config)
    reload(g, expect="Failed to reload")
    assert RELOADED not in g.log()
    assert echoes(s1, b"one still") and echoes(s2, b"two still")


def test_a_reload_signals_the_new_ports_on_d_bus(gateway_factory, device, second_device, client, bus):
    g = gateway_factory()
    g.add_client(client[0], "laptop")
    start_on_bus(g, bus)
    monitor = bus.monitor()
    two = free_port()
    write_config(g, port_table("toy", device, g.port), port_table("two", second_device, two))
    reload(g)
    monitor.wait_for(r'PropertiesChanged(.|\n)*"Ports"(.|\n)*string "two"')
    monitor.stop()
    ports = bus.get(GATEWAY, SERVICE, "Ports")
    assert '"toy"' in ports and '"two"' in ports and f"127.0.0.1:{two}" in ports, ports
