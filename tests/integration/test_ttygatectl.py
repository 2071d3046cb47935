# SPDX-License-Identifier: Apache-2.0
"""ttygatectl against a running gateway on a private bus: every command, tables and --json,
usage errors (exit 2) and D-Bus errors (one line, exit 1)."""
import json
import re

import pytest

from conftest import make_identity, recv_exactly
from dbus_helpers import GATEWAY, SERVICE, bus, pairing_config, start_on_bus  # noqa: F401


@pytest.fixture
def gateway(gateway_factory, bus, client):
    g = gateway_factory(extra=pairing_config("code"))
    g.add_client(client[0], name="laptop")
    return start_on_bus(g, bus)


def ok(r):
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_status_shows_the_gateway(gateway, bus):
    out = ok(bus.ctl("status"))
    assert gateway.cli("--fingerprint").stdout.strip() in out
    assert re.search(r"Pairing:\s+closed \(confirmation: code\)", out)
    assert f"127.0.0.1:{gateway.port}" in out and re.search(r"Clients:\s+1", out)
    status = json.loads(ok(bus.ctl("--json", "status")))
    assert status["PairingActive"] is False and status["Clients"] == 1 and status["Ports"][0][0] == "toy"


def test_pair_opens_and_stop_closes_the_window(gateway, bus):
    assert "open for 45 s" in ok(bus.ctl("pair", "--seconds", "45", "--no-wait"))
    assert re.search(r"Pairing:\s+open, 4[45] s left", ok(bus.ctl("status")))
    busy = bus.ctl("pair", "--no-wait")
    assert busy.returncode == 1 and busy.stderr.startswith("ttygatectl: Busy: ")
    ok(bus.ctl("pair", "--stop"))
    assert bus.get(GATEWAY, SERVICE, "PairingActive") == "false"


def test_clients_add_rename_role_remove(gateway, bus, tmp_path):
    cert, _ = make_identity(str(tmp_path), "phone")
    assert 'Added "phone" as monitor' in ok(bus.ctl("add", cert, "--name", "phone", "--role", "monitor"))
    table = ok(bus.ctl("clients"))
    assert table.splitlines()[0].split() == ["NAME", "ROLE", "PAIRED", "LAST", "SEEN", "FINGERPRINT"]
    assert re.search(r"^phone\s+monitor\s+\d{4}-", table, re.M)
    listed = json.loads(ok(bus.ctl("clients", "--json")))
    phone = next(c for c in listed if c["Name"] == "phone")
    assert phone["Role"] == "monitor" and phone["Path"].startswith(GATEWAY + "/client/")
    ok(bus.ctl("rename", "phone", "tablet"))
    ok(bus.ctl("role", phone["Fingerprint"].lower().replace("-", ""), "control"))  # any spelling of it
    assert re.search(r"^tablet\s+control", ok(bus.ctl("clients")), re.M)
    ok(bus.ctl("remove", "tablet"))
    assert "tablet" not in ok(bus.ctl("clients"))


def test_sessions_lists_and_disconnect_closes(gateway, bus, client, device):
    monitor = bus.monitor()
    with gateway.connect(*client) as s:
        s.sendall(b"ping\n")
        assert device.read(5) == b"ping\n"
        table = ok(bus.ctl("sessions"))
        row = re.search(r"^(\d+)\s+laptop\s+127\.0\.0\.1:\d+\s+toy\s+control\s+(user|kernel)\s+(keyupdate|resume)\s+5 B", table, re.M)
        assert row, table
        [session] = json.loads(ok(bus.ctl("sessions", "--json")))
        assert session["BytesIn"] == 5 and session["Port"] == "toy"
        ok(bus.ctl("disconnect", row.group(1)))
        s.settimeout(2)
        assert s.recv(1) == b""
    # The gateway says the session object is gone; only then is the empty table a fact.
    monitor.wait_for(r'member=InterfacesRemoved\n\s+object path "' + re.escape(session["Path"]) + '"', timeout=2)
    monitor.stop()
    assert ok(bus.ctl("sessions")).strip().splitlines() == ["ID  CLIENT  PEER  PORT  ROLE  TLS  REKEY  IN  OUT  SINCE"]


def test_remove_by_name_closes_the_live_session(gateway, bus, client, device):
    with gateway.connect(*client) as s:
        s.sendall(b"a")
        assert device.read(1) == b"a"
        ok(bus.ctl("remove", "laptop"))
        s.settimeout(1)
        assert s.recv(1) == b""


@pytest.mark.parametrize("args", [
    [], ["frobnicate"], ["status", "extra"], ["pair", "--seconds", "ten"], ["confirm"],
    ["add", "x.pem"], ["add", "x.pem", "--name", "n"], ["remove"], ["rename", "a"], ["role", "a"],
    ["disconnect", "abc"], ["clients", "--name", "x"], ["status", "--bogus"],
])
def test_wrong_arguments_give_usage_and_exit_2(bus, args):
    r = bus.ctl(*args)
    assert r.returncode == 2, (args, r.stdout, r.stderr)
    assert "Usage: ttygatectl" in r.stderr


@pytest.mark.parametrize("args,message", [
    (["confirm", "12"], "InvalidArgs: code \"12\""),
    (["confirm", "123456"], "NotActive: "),
    (["remove", "nobody-by-that-name"], "NotFound: "),
    (["rename", "laptop", ""],
     'InvalidArgs: name "" is not 1 to 64 printable ASCII characters without leading or trailing spaces'),
    (["role", "laptop", "admin"], 'InvalidArgs: role "admin" (expected control or monitor)'),
    (["disconnect", "999"], "NotFound: no session 999"),  # a gone object is NotFound, as documented
])
def test_bus_errors_are_one_line_and_exit_1(gateway, bus, args, message):
    r = bus.ctl(*args)
    assert r.returncode == 1 and message in r.stderr, (args, r.stderr)
    assert len(r.stderr.strip().splitlines()) == 1 and r.stderr.startswith("ttygatectl: ")


def test_add_rejects_a_bad_certificate_and_the_store_is_unchanged(gateway, bus, tmp_path):
    bad = tmp_path / "bad.pem"
    bad.write_text("-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n")
    before = gateway.cli("--list-clients").stdout
    r = bus.ctl("add", str(bad), "--name", "phone", "--role", "control")
    assert r.returncode == 1 and "InvalidArgs: certificate" in r.stderr
    assert gateway.cli("--list-clients").stdout == before


def test_without_a_gateway_on_the_bus_it_says_so(bus):
    r = bus.ctl("status")
    assert r.returncode == 1 and "ttygated is not on the bus" in r.stderr
