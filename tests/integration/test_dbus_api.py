# SPDX-License-Identifier: Apache-2.0
"""org.ttygate.Gateway1 on a private bus with the shipped policy: every method and property
through busctl, the policy (nobody reads, only root manages), and that a rejected call changes
nothing stored. ttygatectl's own tests are in test_ttygatectl.py; pairing in test_pairing.py."""
import os
import re
import socket
import time
import xml.etree.ElementTree as ET

import pytest

from conftest import make_identity, recv_exactly, refused
from dbus_helpers import (GATEWAY, ROOT, SERVICE, TTYGATECTL, PrivateBus, bus, client_path_of,  # noqa: F401
                          session_paths, start_on_bus)

CLIENT = "org.ttygate.Client1"
SESSION = "org.ttygate.Session1"


def members(xml_text, interface):
    root = ET.fromstring(re.sub(r"<!DOCTYPE[^>]*>", "", xml_text))
    for node in root.iter("interface"):
        if node.get("name") == interface:
            return {(child.tag, child.get("name")) for child in node}
    return set()


def documented(interface):
    """Methods, properties and signals of one interface in docs/org.ttygate.Gateway1.txt (iwd's
    layout: a section keyword, then entries indented by two tabs, descriptions by three)."""
    text = open(os.path.join(ROOT, "docs", "org.ttygate.Gateway1.txt")).read()
    section = text.split(f"Interface\t{interface}\n", 1)[1].split("\nInterface\t", 1)[0]
    found, kind = set(), None
    for line in section.splitlines():
        keyword = re.match(r"^(Methods|Signals|Properties)(\t+)", line)
        if keyword:
            kind = {"Methods": "method", "Signals": "signal", "Properties": "property"}[keyword.group(1)]
            line = "\t\t" + line[keyword.end():]
        entry = re.match(r"^\t\t(?!\t)(.+)$", line)
        if not (kind and entry):
            continue
        if kind == "property":
            found.add((kind, re.search(r"(\w+)(?: \[[^\]]*\])?\s*$", entry.group(1)).group(1)))
        else:
            found.add((kind, re.search(r"(\w+)\(", entry.group(1)).group(1)))
    return found


def gvariant_string(text):
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n").replace("\t", "\\t") + "'"


def gdbus_call(method, *args, bus):
    """gdbus prints the error's name (busctl only its message)."""
    return bus.run(["gdbus", "call", "--system", "--dest", SERVICE, "--object-path", GATEWAY, "--method",
                    SERVICE + "." + method, "--", *[gvariant_string(a) for a in args]])


@pytest.fixture
def gateway(gateway_factory, bus, client):
    g = gateway_factory()
    g.add_client(client[0], name="laptop")
    return start_on_bus(g, bus)


def test_introspection_shows_the_documented_api(gateway, bus, client):
    with gateway.connect(*client, relaying=True):
        shipped = open(os.path.join(ROOT, "dbus", "org.ttygate.Gateway1.xml")).read()
        live = {
            "org.ttygate.Gateway1": bus.busctl("introspect", "--xml-interface", SERVICE, GATEWAY).stdout,
            CLIENT: bus.busctl("introspect", "--xml-interface", SERVICE, client_path_of(bus, "laptop")).stdout,
            SESSION: bus.busctl("introspect", "--xml-interface", SERVICE, session_paths(bus)[0]).stdout,
        }
    for interface, xml_text in live.items():
        assert members(xml_text, interface), interface
        assert members(xml_text, interface) == members(shipped, interface), interface
        assert {m for m in members(xml_text, interface) if m[0] != "annotation"} == documented(interface), interface
    assert "org.freedesktop.DBus.ObjectManager" in live["org.ttygate.Gateway1"]


def test_gateway_properties_read_through_busctl(gateway, bus):
    fingerprint = gateway.cli("--fingerprint").stdout.strip()
    assert bus.get(GATEWAY, SERVICE, "Fingerprint") == f'"{fingerprint}"'
    assert re.fullmatch(r'"\d+\.\d+\.\d+"', bus.get(GATEWAY, SERVICE, "Version"))
    assert bus.get(GATEWAY, SERVICE, "KernelTLS") in ("true", "false")
    assert bus.get(GATEWAY, SERVICE, "PairingActive") == "false"
    assert bus.get(GATEWAY, SERVICE, "PairingRemaining") == "0"
    assert bus.get(GATEWAY, SERVICE, "PairingConfirmation") == '"code"'
    ports = bus.get(GATEWAY, SERVICE, "Ports")
    assert '"toy"' in ports and f'"127.0.0.1:{gateway.port}"' in ports


def test_start_and_stop_pairing_through_busctl(gateway, bus):
    monitor = bus.monitor()
    bus.busctl("call", SERVICE, GATEWAY, SERVICE, "StartPairing", "u", "30")
    assert bus.get(GATEWAY, SERVICE, "PairingActive") == "true"
    assert 28 <= int(bus.get(GATEWAY, SERVICE, "PairingRemaining")) <= 30
    busy = bus.busctl("call", SERVICE, GATEWAY, SERVICE, "StartPairing", "u", "30", check=False)
    assert busy.returncode != 0 and "already open" in busy.stderr
    bus.busctl("call", SERVICE, GATEWAY, SERVICE, "StopPairing")
    assert bus.get(GATEWAY, SERVICE, "PairingActive") == "false"
    inactive = bus.busctl("call", SERVICE, GATEWAY, SERVICE, "StopPairing", check=False)
    assert inactive.returncode != 0 and "no pairing window" in inactive.stderr
    too_long = bus.busctl("call", SERVICE, GATEWAY, SERVICE, "StartPairing", "u", "3601", check=False)
    assert too_long.returncode != 0 and bus.get(GATEWAY, SERVICE, "PairingActive") == "false"
    monitor.wait_for(r'PropertiesChanged(.|\n)*"PairingActive"(.|\n)*boolean true')
    monitor.wait_for(r'member=PairingFailed\n\s+string "stopped"')
    monitor.stop()


def test_errors_are_named_org_ttygate_error(gateway, bus):
    r = bus.run(["gdbus", "call", "--system", "--dest", SERVICE, "--object-path", GATEWAY, "--method",
                 SERVICE + ".ConfirmPairing", "12"])
    assert "org.ttygate.Error.InvalidArgs" in r.stderr
    r = bus.run(["gdbus", "call", "--system", "--dest", SERVICE, "--object-path", GATEWAY, "--method",
                 SERVICE + ".StopPairing"])
    assert "org.ttygate.Error.NotActive" in r.stderr
    r = bus.run(["gdbus", "call", "--system", "--dest", SERVICE, "--object-path", GATEWAY, "--method",
                 SERVICE + ".ConfirmPairing", "123456"])
    assert "org.ttygate.Error.NotActive" in r.stderr


def test_client_objects_are_added_renamed_and_removed_through_busctl(gateway, bus, tmp_path):
    monitor = bus.monitor()
    cert, _ = make_identity(str(tmp_path), "phone")
    pem = open(cert).read()
    path = bus.busctl("--", "call", SERVICE, GATEWAY, SERVICE, "AddClient", "sss", pem, "phone",
                      "monitor").stdout.split()[1].strip('"')
    assert path.startswith(GATEWAY + "/client/")
    assert bus.get(path, CLIENT, "Name") == '"phone"'
    assert bus.get(path, CLIENT, "Role") == '"monitor"'
    assert abs(int(bus.get(path, CLIENT, "PairedAt")) - time.time()) < 60
    assert bus.get(path, CLIENT, "LastSeen") == "0"
    assert re.fullmatch(r'"[A-Z2-7]{4}(-[A-Z2-7]{1,4}){12}"', bus.get(path, CLIENT, "Fingerprint"))
    bus.busctl("set-property", SERVICE, path, CLIENT, "Name", "s", "tablet")
    bus.busctl("set-property", SERVICE, path, CLIENT, "Role", "s", "control")
    assert bus.get(path, CLIENT, "Name") == '"tablet"' and bus.get(path, CLIENT, "Role") == '"control"'
    listed = gateway.cli("--list-clients").stdout
    assert re.search(r"tablet\s+control", listed)
    monitor.wait_for(r"member=InterfacesAdded(.|\n)*" + re.escape(path))
    monitor.wait_for(r'PropertiesChanged(.|\n)*"Name"(.|\n)*string "tablet"')
    bus.busctl("call", SERVICE, path, CLIENT, "Remove")
    assert "tablet" not in gateway.cli("--list-clients").stdout
    monitor.wait_for(r"member=InterfacesRemoved(.|\n)*" + re.escape(path))
    monitor.stop()
    gone = bus.busctl("call", SERVICE, path, CLIENT, "Remove", check=False)
    assert gone.returncode != 0


@pytest.mark.parametrize("pem,name,role,error", [
    ("not a certificate", "phone", "control", "InvalidArgs"),
    ("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "phone", "control", "InvalidArgs"),
    (None, "", "control", "InvalidArgs"),
    (None, " leading space", "control", "InvalidArgs"),
    (None, "x" * 65, "control", "InvalidArgs"),
    (None, "tab\there", "control", "InvalidArgs"),
    (None, "phone", "admin", "InvalidArgs"),
    (None, "laptop", "control", "AlreadyExists"),  # the name is taken
])
def test_bad_pem_name_or_role_is_rejected_and_the_store_is_unchanged(gateway, bus, tmp_path, pem, name, role,
                                                                     error):
    store = os.path.join(gateway.state, "clients")
    before = open(store, "rb").read()
    if pem is None:
        pem = open(make_identity(str(tmp_path), "phone")[0]).read()
    r = gdbus_call("AddClient", pem, name, role, bus=bus)
    assert r.returncode != 0 and "org.ttygate.Error." + error in r.stderr, r.stderr
    assert open(store, "rb").read() == before
    assert len([p for p in bus.busctl("tree", "--list", SERVICE).stdout.split() if "/client/" in p]) == 1


def test_a_known_key_cannot_be_added_twice(gateway, bus, client):
    r = gdbus_call("AddClient", open(client[0]).read(), "again", "control", bus=bus)
    assert "org.ttygate.Error.AlreadyExists" in r.stderr and "laptop" in r.stderr


def test_bad_name_or_role_written_to_a_client_is_rejected_and_changes_nothing(gateway, bus):
    path = client_path_of(bus, "laptop")
    store = os.path.join(gateway.state, "clients")
    before = open(store, "rb").read()
    for prop, value in (("Name", ""), ("Name", "a\x01b"), ("Role", "root")):
        r = bus.busctl("set-property", SERVICE, path, CLIENT, prop, "s", value, check=False)
        assert r.returncode != 0, (prop, value)
    assert open(store, "rb").read() == before
    assert bus.get(path, CLIENT, "Name") == '"laptop"'


def test_a_caller_outside_the_policy_may_read_but_not_manage(gateway, bus):
    path = client_path_of(bus, "laptop")
    assert bus.busctl("get-property", SERVICE, GATEWAY, SERVICE, "Fingerprint", as_nobody=True).returncode == 0
    assert bus.busctl("introspect", SERVICE, GATEWAY, as_nobody=True).returncode == 0
    assert bus.busctl("get-property", SERVICE, path, CLIENT, "Name", as_nobody=True).returncode == 0
    denied = [
        ("call", SERVICE, GATEWAY, SERVICE, "StartPairing", "u", "30"),
        ("call", SERVICE, GATEWAY, SERVICE, "StopPairing"),
        ("call", SERVICE, path, CLIENT, "Remove"),
        ("set-property", SERVICE, path, CLIENT, "Name", "s", "mine"),
    ]
    for args in denied:
        r = bus.busctl(*args, as_nobody=True, check=False)
        assert r.returncode != 0 and ("Access denied" in r.stderr or "AccessDenied" in r.stderr), (args, r.stderr)
    assert bus.get(GATEWAY, SERVICE, "PairingActive") == "false"
    assert bus.get(path, CLIENT, "Name") == '"laptop"'
    r = bus.ctl("pair", "--no-wait", as_nobody=True)
    assert r.returncode == 1 and "AccessDenied" in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_a_member_of_the_management_group_may_manage(gateway_factory, client):
    """The shipped policy's group rule, with the group renamed to one this machine has ("users")
    since there is no ttygate group here: nobody with that supplementary group may manage,
    nobody without it may not."""
    bus = PrivateBus(management_group="users")
    try:
        g = gateway_factory()
        g.add_client(client[0], name="laptop")
        start_on_bus(g, bus)
        path = client_path_of(bus, "laptop")
        r = bus.busctl("call", SERVICE, GATEWAY, SERVICE, "StartPairing", "u", "30", as_nobody=True, check=False)
        assert r.returncode != 0 and "Access denied" in r.stderr, r.stderr
        assert bus.get(GATEWAY, SERVICE, "PairingActive") == "false"
        r = bus.run([TTYGATECTL, "pair", "--no-wait", "--seconds", "20"], as_nobody=True, group="users")
        assert r.returncode == 0, r.stderr
        assert bus.get(GATEWAY, SERVICE, "PairingActive") == "true"
        bus.busctl("call", SERVICE, GATEWAY, SERVICE, "StopPairing", as_nobody=True, group="users")
        assert bus.get(GATEWAY, SERVICE, "PairingActive") == "false"
        bus.busctl("set-property", SERVICE, path, CLIENT, "Name", "s", "desk", as_nobody=True, group="users")
        assert bus.get(path, CLIENT, "Name") == '"desk"'
    finally:
        bus.stop()


def test_a_session_that_chose_rfc2217_by_alpn_shows_it_as_its_protocol(gateway, bus, client, device):
    ctx = gateway.tls_context(*client)
    ctx.set_alpn_protocols(["ttygate-rfc2217"])
    with ctx.wrap_socket(socket.create_connection(("127.0.0.1", gateway.port), timeout=10)) as s:
        assert s.selected_alpn_protocol() == "ttygate-rfc2217"
        gateway.wait_log("RFC 2217 line control")
        [path] = session_paths(bus)
        assert bus.get(path, SESSION, "Protocol") == '"rfc2217"'


def removed(path):
    """dbus-monitor's text for the gateway's InterfacesRemoved signal about `path`."""
    return r'member=InterfacesRemoved\n\s+object path "' + re.escape(path) + '"'


def test_session_objects_show_live_sessions_and_disconnect_them(gateway, bus, client, device):
    monitor = bus.monitor()
    with gateway.connect(*client) as s:
        s.sendall(b"ping\n")
        assert device.read(5) == b"ping\n"
        device.write(b"pong!\n")
        assert recv_exactly(s, 6) == b"pong!\n"
        [path] = session_paths(bus)
        assert bus.get(path, SESSION, "Client") == f'"{client_path_of(bus, "laptop")}"'
        assert re.fullmatch(r'"127\.0\.0\.1:\d+"', bus.get(path, SESSION, "Peer"))
        assert bus.get(path, SESSION, "Port") == '"toy"'
        assert bus.get(path, SESSION, "Role") == '"control"'
        assert bus.get(path, SESSION, "Offload") in ('"kernel"', '"user"')
        # User space always updates keys in place; kernel space only on a kernel that re-keys.
        offload = bus.get(path, SESSION, "Offload")
        expected = ('"keyupdate"',) if offload == '"user"' else ('"keyupdate"', '"resume"')
        assert bus.get(path, SESSION, "Rekey") in expected
        assert bus.get(path, SESSION, "Resumed") == "false"
        assert bus.get(path, SESSION, "Protocol") == '"raw"'  # no ALPN: the byte-exact relay
        assert bus.get(path, SESSION, "BytesIn") == "5"
        assert bus.get(path, SESSION, "BytesOut") == "6"
        assert abs(int(bus.get(path, SESSION, "Since")) - time.time()) < 60
        bus.busctl("call", SERVICE, path, SESSION, "Disconnect")
        s.settimeout(2)
        assert s.recv(1) == b""
    monitor.wait_for(removed(path), timeout=2)
    monitor.stop()
    assert session_paths(bus) == []


def test_removing_a_client_closes_its_live_session_within_a_second(gateway, bus, client, device):
    with gateway.connect(*client) as s:
        s.sendall(b"hi\n")
        assert device.read(3) == b"hi\n"
        started = time.monotonic()
        bus.busctl("call", SERVICE, client_path_of(bus, "laptop"), CLIENT, "Remove")
        s.settimeout(1)
        assert s.recv(1) == b""  # close_notify
        assert time.monotonic() - started < 1.0
    assert refused(lambda: gateway.connect(*client))
    assert device.read_for(0.3) == b""


def resume_with(gateway, ctx, ticket):
    raw = socket.create_connection(("127.0.0.1", gateway.port), timeout=10)
    return ctx.wrap_socket(raw, session=ticket, suppress_ragged_eofs=False)


def first_ticket(gateway, ctx, device):
    """A full handshake that relays one byte each way, and the ticket it brought."""
    with resume_with(gateway, ctx, None) as first:
        first.sendall(b"1")
        assert device.read(1) == b"1"
        device.write(b"2")
        assert recv_exactly(first, 1) == b"2"  # takes in the ticket too
        return first.session


def test_a_resumed_session_says_so_and_a_removed_clients_ticket_gets_nothing(gateway, bus, client, device):
    ctx = gateway.tls_context(*client)
    ticket = first_ticket(gateway, ctx, device)
    with resume_with(gateway, ctx, ticket) as second:
        second.sendall(b"3")
        assert device.read(1) == b"3"
        assert second.session_reused
        [path] = session_paths(bus)
        assert bus.get(path, SESSION, "Resumed") == "true"
        device.write(b"4")
        assert recv_exactly(second, 1) == b"4"
        ticket = second.session  # the renewed ticket
    bus.busctl("call", SERVICE, client_path_of(bus, "laptop"), CLIENT, "Remove")

    def resume_after_removal():
        s = resume_with(gateway, ctx, ticket)
        s.sendall(b"A motor 255\n")
        return s
    assert refused(resume_after_removal)  # the ticket is ignored, the full handshake refused
    assert refused(lambda: gateway.connect(*client))
    assert device.read_for(0.5) == b""
    assert '"laptop": 1 resumable session(s) forgotten' in gateway.log()  # the renewed ticket
    assert "unknown client key" in gateway.log()


def test_a_new_role_closes_the_clients_sessions_so_they_reconnect_with_it(gateway, bus, client, device):
    with gateway.connect(*client) as s:
        s.sendall(b"x")
        assert device.read(1) == b"x"
        bus.busctl("set-property", SERVICE, client_path_of(bus, "laptop"), CLIENT, "Role", "s", "monitor")
        s.settimeout(2)
        assert s.recv(1) == b""
    with gateway.connect(*client) as s:
        s.sendall(b"ignored\n")
        assert device.read_for(0.5) == b""  # monitor input never reaches the device


def test_a_re_roled_clients_ticket_does_not_resume(gateway, bus, client, device):
    ctx = gateway.tls_context(*client)
    ticket = first_ticket(gateway, ctx, device)
    bus.busctl("set-property", SERVICE, client_path_of(bus, "laptop"), CLIENT, "Role", "s", "monitor")
    gateway.wait_log('"laptop": 1 resumable session(s) forgotten')
    with resume_with(gateway, ctx, ticket) as second:
        second.sendall(b"ignored\n")
        device.write(b"3")
        assert recv_exactly(second, 1) == b"3"
        assert not second.session_reused  # a full handshake, admitted in the new role
    assert device.read_for(0.5) == b""  # monitor input never reaches the device


def test_gateway_without_a_bus_says_so_and_keeps_relaying(gateway_factory, client, device, tmp_path):
    g = gateway_factory()
    g.add_client(client[0], name="laptop")
    g.start(env={"DBUS_SYSTEM_BUS_ADDRESS": "unix:path=" + str(tmp_path / "nobody-listens")})
    g.wait_log("running without the management API")  # the bus is tried once the listeners are up
    with g.connect(*client) as s:
        s.sendall(b"ok\n")
        assert device.read(3) == b"ok\n"


def test_bus_none_does_not_try_the_bus(gateway_factory, client, device, bus):
    g = gateway_factory()
    g.add_client(client[0], name="laptop")
    g.start(args=("--bus", "none"), env={"DBUS_SYSTEM_BUS_ADDRESS": bus.address})
    g.wait_log("running with")  # logged after the step that would have taken the bus name
    assert SERVICE not in bus.busctl("list", "--acquired").stdout
    assert "D-Bus" not in g.log()


def test_install_puts_the_bus_policy_and_the_interface_where_dbus_looks(tmp_path):
    from conftest import BUILD_DIR
    import subprocess
    # DESTDIR keeps every file (the absolute sysconfdir too) inside tmp_path.
    r = subprocess.run(["cmake", "--install", BUILD_DIR, "--prefix", "/usr"], capture_output=True, text=True,
                       timeout=120, env={**os.environ, "DESTDIR": str(tmp_path)})
    assert r.returncode == 0, r.stderr
    policy = tmp_path / "usr/share/dbus-1/system.d/org.ttygate.Gateway1.conf"
    assert policy.read_bytes() == open(os.path.join(ROOT, "units", "org.ttygate.Gateway1.conf"), "rb").read()
    assert (tmp_path / "usr/share/dbus-1/interfaces/org.ttygate.Gateway1.xml").exists()
    assert (tmp_path / "usr/bin/ttygatectl").exists()
