"""Pairing end to end (docs/pairing.md): a real TLS client (openssl s_client, which prints the
TLS exporter the code comes from) pairs in each confirmation mode; overlap, a wrong code, a
timeout and StopPairing abort; a candidate never reaches the tty."""
import os
import subprocess
import time

import pytest

from conftest import make_identity, recv_exactly
from dbus_helpers import (GATEWAY, SERVICE, TTYGATECTL, PairingClient, bus, client_path_of, pairing_config,  # noqa: F401
                          start_on_bus)


def clients_in_store(gateway):
    return gateway.cli("--list-clients").stdout.splitlines()[1:]


@pytest.fixture
def phone(tmp_path):
    return make_identity(str(tmp_path), "phone")


def paired_and_relaying(candidate, device, role="control"):
    candidate.wait_for(f"TTYGATE PAIRED {role}\n")
    candidate.send(b"A led on\n")
    if role == "control":
        assert device.read(9) == b"A led on\n"
    device.write(b"OK led on\n")
    candidate.wait_for("OK led on\n")


def test_pairing_by_code_with_a_real_tls_client(gateway_factory, bus, device, phone):
    g = start_on_bus(gateway_factory(extra=pairing_config("code")), bus)
    watcher = subprocess.Popen([TTYGATECTL, "pair", "--seconds", "60"], env=bus.env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    bus.wait_property("PairingActive", "true")
    candidate = PairingClient(g.port, *phone)
    try:
        code = candidate.code()
        candidate.send(b"A motor 255\n")  # before the verdict: must never reach the device
        g.wait_log("shows code " + code)
        assert device.read_for(0.5) == b""
        assert not candidate.ended(0.2)
        r = bus.ctl("confirm", code)
        assert r.returncode == 0, r.stderr
        candidate.wait_for("TTYGATE PAIRED control\n")
        out, _ = watcher.communicate(timeout=10)
        assert watcher.returncode == 0, out
        assert code in out and '"phone"' in out and "Paired" in out
        # What the candidate sent before the verdict was its own business: it arrives now that
        # the client is paired, and only now.
        assert device.read(12) == b"A motor 255\n"
        device.write(b"OK motor\n")
        candidate.wait_for("OK motor\n")
        assert bus.get(GATEWAY, SERVICE, "PairingActive") == "false"
        path = client_path_of(bus, "phone")
        assert bus.get(path, "org.ttygate.Client1", "Role") == '"control"'
    finally:
        candidate.close()
        watcher.kill()


def test_the_verdict_is_the_first_and_only_extra_line(gateway_factory, bus, device, phone):
    g = start_on_bus(gateway_factory(extra=pairing_config("code")), bus)
    bus.busctl("call", SERVICE, GATEWAY, SERVICE, "StartPairing", "u", "60")
    candidate = PairingClient(g.port, *phone)
    try:
        bus.busctl("call", SERVICE, GATEWAY, SERVICE, "ConfirmPairing", "s", candidate.code())
        device.write(b"sensor 1\n")
        candidate.wait_for("TTYGATE PAIRED control\nsensor 1\n")
    finally:
        candidate.close()
    # Next time it is a known client: a byte-exact relay, no greeting.
    with g.connect(*phone, relaying=True) as s:
        device.write(b"sensor 2\n")
        assert recv_exactly(s, 9) == b"sensor 2\n"


def test_automatic_confirmation_accepts_after_the_guard(gateway_factory, bus, device, phone):
    g = start_on_bus(gateway_factory(extra=pairing_config("auto", guard_ms=500, default_role="monitor")), bus)
    assert bus.ctl("pair", "--no-wait").returncode == 0
    candidate = PairingClient(g.port, *phone)
    try:
        candidate.code()
        started = time.monotonic()
        paired_and_relaying(candidate, device, role="monitor")
        assert time.monotonic() - started >= 0.4
        assert device.read_for(0.3) == b""  # monitor input dropped
    finally:
        candidate.close()


def test_button_opens_the_window_and_a_second_press_confirms(gateway_factory, bus, device, phone, tmp_path):
    fifo = str(tmp_path / "button")
    # The GPIO line is configured as on a real gateway; the test hook swaps the line for a FIFO
    # behind the same ButtonSource interface, debounced by the configured time.
    button = '[pairing.button]\nchip = "gpiochip0"\nline = 17\ndebounce_ms = 20\n'
    g = start_on_bus(gateway_factory(extra=pairing_config("button") + button), bus,
                     env={"TTYGATE_FAKE_BUTTON": fifo})
    g.wait_log("Pairing button: fake button")
    press = os.open(fifo, os.O_WRONLY)
    try:
        os.write(press, b"1")
        g.wait_log("Pairing window open")
        assert bus.get(GATEWAY, SERVICE, "PairingActive") == "true"
        candidate = PairingClient(g.port, *phone)
        candidate.code()
        g.wait_log("Pairing candidate")
        assert not candidate.ended(0.3)
        os.write(press, b"1")
        paired_and_relaying(candidate, device)
        candidate.close()
    finally:
        os.close(press)


def test_a_second_client_in_the_window_aborts_pairing_for_both(gateway_factory, bus, device, phone, tmp_path):
    g = start_on_bus(gateway_factory(extra=pairing_config("code")), bus)
    monitor = bus.monitor()
    bus.busctl("call", SERVICE, GATEWAY, SERVICE, "StartPairing", "u", "60")
    first = PairingClient(g.port, *phone)
    rival = None
    try:
        first.code()
        g.wait_log("Pairing candidate")
        rival = PairingClient(g.port, *make_identity(str(tmp_path), "rival"))
        assert first.ended() and rival.ended()
        monitor.wait_for(r'member=PairingFailed\n\s+string "overlap"')
        assert bus.get(GATEWAY, SERVICE, "PairingActive") == "false"
        assert clients_in_store(g) == []
        assert device.read_for(0.3) == b""
        assert "TTYGATE PAIRED" not in first.text() + rival.text()
    finally:
        monitor.stop()
        first.close()
        if rival:
            rival.close()


@pytest.mark.parametrize("ending,reason", [("wrong code", "wrong code"), ("stop", "stopped"),
                                          ("timeout", "timeout"), ("leave", "candidate disconnected")])
def test_a_failed_window_closes_the_candidate_and_stores_nothing(gateway_factory, bus, device, phone, ending,
                                                                  reason):
    g = start_on_bus(gateway_factory(extra=pairing_config("code")), bus)
    monitor = bus.monitor()
    seconds = "2" if ending == "timeout" else "60"
    bus.busctl("call", SERVICE, GATEWAY, SERVICE, "StartPairing", "u", seconds)
    candidate = PairingClient(g.port, *phone)
    try:
        code = candidate.code()
        candidate.send(b"A motor 255\n")
        g.wait_log("Pairing candidate")
        if ending == "wrong code":
            wrong = "%06d" % ((int(code) + 1) % 1000000)
            r = bus.ctl("confirm", wrong)
            assert r.returncode == 1 and "WrongCode" in r.stderr
        elif ending == "stop":
            assert bus.ctl("pair", "--stop").returncode == 0
        elif ending == "leave":
            candidate.close()
        if ending != "leave":
            assert candidate.ended(5)
        monitor.wait_for(r'member=PairingFailed\n\s+string "' + reason + '"')
        assert "TTYGATE PAIRED" not in candidate.text()
        assert clients_in_store(g) == []
        assert device.read_for(0.3) == b""
        assert bus.get(GATEWAY, SERVICE, "PairingActive") == "false"
    finally:
        monitor.stop()
        candidate.close()


def test_an_unknown_client_is_refused_outside_a_window(gateway_factory, bus, device, phone):
    g = start_on_bus(gateway_factory(extra=pairing_config("auto")), bus)
    candidate = PairingClient(g.port, *phone)
    try:
        assert candidate.ended(5)
        assert device.read_for(0.3) == b""
        assert "unknown client key" in g.log()
    finally:
        candidate.close()
