# SPDX-License-Identifier: Apache-2.0
"""Pairing end to end (docs/pairing.md): a real TLS client (openssl s_client, which prints the
TLS exporter, with the exchange computed independently in dbus_helpers.py) pairs in each
confirmation mode; overlap, a wrong code, a timeout, StopPairing, a broken exchange (device
bytes, replayed or reordered messages) and wrong setup codes abort; a candidate never reaches
the tty."""
import os
import re
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
        g.wait_log("shows code " + code)  # the same code on both ends
        assert device.read_for(0.5) == b""
        assert not candidate.ended(0.2)
        r = bus.ctl("confirm", code)
        assert r.returncode == 0, r.stderr
        candidate.wait_for("TTYGATE PAIRED control\n")
        out, _ = watcher.communicate(timeout=10)
        assert watcher.returncode == 0, out
        assert code in out and '"phone"' in out and "Paired" in out
        candidate.send(b"A motor 255\n")
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
        monitor.wait_for(r'member=PairingFailed\n\s+string "overlap"\n\s+string "code"')
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
        g.wait_log("shows code " + code)
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


# --- the committed-code exchange refuses anything but its own messages ----------------------

def refused_for(g, bus, monitor, candidate, device, reason, mode="code"):
    """The candidate was refused for `reason`: closed, nothing stored, nothing at the tty."""
    assert candidate.ended(5)
    monitor.wait_for(r'member=PairingFailed\n\s+string "' + reason + r'"\n\s+string "' + mode + '"')
    assert "TTYGATE PAIRED" not in candidate.text()
    assert clients_in_store(g) == []
    assert device.read_for(0.3) == b""


@pytest.mark.parametrize("misbehaviour", ["device bytes instead of the nonce", "device bytes after the code",
                                          "device bytes with the nonce", "nonce twice", "a reveal of its own",
                                          "a malformed nonce"])
def test_a_candidate_that_breaks_the_exchange_is_refused_with_nothing_at_the_tty(gateway_factory, bus, device,
                                                                                phone, misbehaviour):
    g = start_on_bus(gateway_factory(extra=pairing_config("code")), bus)
    monitor = bus.monitor()
    bus.busctl("call", SERVICE, GATEWAY, SERVICE, "StartPairing", "u", "60")
    candidate = PairingClient(g.port, *phone)
    try:
        candidate.message("commit")
        nonce = "TTYGATE-PAIR 1 nonce " + os.urandom(32).hex() + "\n"
        if misbehaviour == "device bytes instead of the nonce":
            candidate.send(b"A motor 255\n")
        elif misbehaviour == "device bytes after the code":
            candidate.send(nonce.encode())
            candidate.message("reveal")
            g.wait_log("shows code")
            candidate.send(b"A motor 255\n")
        elif misbehaviour == "device bytes with the nonce":
            candidate.send(nonce.encode() + b"A motor 255\n")
        elif misbehaviour == "nonce twice":
            candidate.send(nonce.encode())
            candidate.message("reveal")
            candidate.send(nonce.encode())  # replayed
        elif misbehaviour == "a reveal of its own":
            candidate.say("reveal", os.urandom(32).hex())  # out of order: the gateway's message
        elif misbehaviour == "a malformed nonce":
            candidate.say("nonce", os.urandom(31).hex())
        refused_for(g, bus, monitor, candidate, device, "protocol")
        assert bus.get(GATEWAY, SERVICE, "PairingActive") == "false"
        assert "pairing exchange failed (protocol)" in g.log()
    finally:
        monitor.stop()
        candidate.close()


# --- the setup code (SPAKE2+) -----------------------------------------------------------------

def new_passcode(g, *args):
    out = g.cli("--new-passcode", *args).stdout
    return re.search(r"^(\d{8})$", out, re.M)[1]


def test_pairing_by_setup_code_with_an_independent_spake2plus_client(gateway_factory, bus, device, phone):
    g = gateway_factory(extra=pairing_config("passcode"))
    code = new_passcode(g)
    start_on_bus(g, bus)
    assert bus.get(GATEWAY, SERVICE, "PasscodeSet") == "true"
    monitor = bus.monitor()
    bus.busctl("call", SERVICE, GATEWAY, SERVICE, "StartPairing", "u", "60")
    candidate = PairingClient(g.port, *phone)
    try:
        assert candidate.passcode(code)
        candidate.wait_for("TTYGATE PAIRED control\n")
        monitor.wait_for(r'member=PairingCompleted\n\s+object path "[^"]+"\n\s+string "passcode"')
        assert clients_in_store(g)[0].split()[0] == "phone"
        candidate.send(b"A led on\n")
        assert device.read(9) == b"A led on\n"
        assert bus.get(GATEWAY, SERVICE, "PairingActive") == "false"
    finally:
        monitor.stop()
        candidate.close()


@pytest.mark.parametrize("how", ["the client sees the gateway's proof fail", "the client confirms anyway"])
def test_a_wrong_setup_code_is_a_failed_attempt_and_the_window_stays_open(gateway_factory, bus, device, phone,
                                                                          tmp_path, how):
    g = gateway_factory(extra=pairing_config("passcode"))
    code = new_passcode(g)
    start_on_bus(g, bus)
    monitor = bus.monitor()
    bus.busctl("call", SERVICE, GATEWAY, SERVICE, "StartPairing", "u", "60")
    wrong = "%08d" % ((int(code) + 1) % 100000000)
    guesser = PairingClient(g.port, *make_identity(str(tmp_path), "guesser"))
    try:
        verified = guesser.passcode(wrong, check_gateway=how != "the client confirms anyway")
        assert verified == (how == "the client confirms anyway")
        if not verified:
            guesser.close()  # it knows its code was wrong, and leaves
        refused_for(g, bus, monitor, guesser, device, "wrong-passcode", mode="passcode")
    finally:
        guesser.close()
    # The window is still open for the right code.
    assert bus.get(GATEWAY, SERVICE, "PairingActive") == "true"
    candidate = PairingClient(g.port, *phone)
    try:
        assert candidate.passcode(code)
        candidate.wait_for("TTYGATE PAIRED control\n")
    finally:
        monitor.stop()
        candidate.close()


def test_five_wrong_setup_codes_close_the_window(gateway_factory, bus, device, phone, tmp_path):
    g = gateway_factory(extra=pairing_config("passcode"))
    code = new_passcode(g)
    start_on_bus(g, bus)
    monitor = bus.monitor()
    watcher = subprocess.Popen([TTYGATECTL, "pair", "--seconds", "120"], env=bus.env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    bus.wait_property("PairingActive", "true")
    try:
        for attempt in range(5):
            guesser = PairingClient(g.port, *make_identity(str(tmp_path), f"guesser{attempt}"))
            wrong = "%08d" % ((int(code) + 1 + attempt) % 100000000)
            assert not guesser.passcode(wrong)
            guesser.close()
            monitor.wait_for(r'member=PairingFailed\n\s+string "wrong-passcode"', count=attempt + 1)
        bus.wait_property("PairingActive", "false")
        out, _ = watcher.communicate(timeout=10)
        assert watcher.returncode == 1, out
        assert out.count("pairing failed: wrong-passcode") == 5
        assert out.count("The window stays open for another attempt") == 4
        # Even the right code gets nothing now: the window is closed.
        late = PairingClient(g.port, *phone)
        assert late.ended(5)
        assert "TTYGATE-PAIR" not in late.text()
        late.close()
        assert clients_in_store(g) == []
        assert device.read_for(0.3) == b""
    finally:
        monitor.stop()
        watcher.kill()


@pytest.mark.parametrize("misbehaviour", ["confirm before share", "share twice", "a replayed confirmation",
                                          "device bytes instead of the share"])
def test_a_reordered_or_replayed_setup_code_exchange_is_refused(gateway_factory, bus, device, phone, misbehaviour):
    g = gateway_factory(extra=pairing_config("passcode"))
    code = new_passcode(g)
    start_on_bus(g, bus)
    monitor = bus.monitor()
    bus.busctl("call", SERVICE, GATEWAY, SERVICE, "StartPairing", "u", "60")
    reason = "protocol"
    try:
        if misbehaviour == "a replayed confirmation":
            # Record a whole successful exchange's messages from one session ...
            import spake2plus_ref
            first = PairingClient(g.port, *phone)
            exporter = first.exporter()
            salt, iterations = first.message("passcode")
            w0, w1 = spake2plus_ref.derive_secrets(code, bytes.fromhex(salt), int(iterations))
            prover = spake2plus_ref.Prover(w0, w1, b"ttygate pairing passcode v1" + exporter)
            first.say("share", prover.share().hex())
            share_v, confirm_v = first.message("reply")
            confirm_p = prover.finish(bytes.fromhex(share_v), bytes.fromhex(confirm_v))
            first.close()  # ... without sending the confirmation there (that attempt fails)
            monitor.wait_for(r'member=PairingFailed\n\s+string "wrong-passcode"')
            # ... and replay them in another TLS session.
            candidate = PairingClient(g.port, *phone)
            candidate.message("passcode")
            candidate.say("share", prover.share().hex())
            candidate.message("reply")
            candidate.say("confirm", confirm_p.hex())
            reason = "wrong-passcode"
        else:
            candidate = PairingClient(g.port, *phone)
            candidate.message("passcode")
            if misbehaviour == "confirm before share":
                candidate.say("confirm", os.urandom(32).hex())
            elif misbehaviour == "share twice":
                import spake2plus_ref
                share = spake2plus_ref.Prover(1, 2, b"x").share().hex()
                candidate.say("share", share)
                candidate.message("reply")
                candidate.say("share", share)
            else:
                candidate.send(b"A motor 255\n")
        refused_for(g, bus, monitor, candidate, device, reason, mode="passcode")
        candidate.close()
    finally:
        monitor.stop()


def test_a_passcode_window_needs_a_setup_code(gateway_factory, bus):
    g = start_on_bus(gateway_factory(extra=pairing_config("passcode")), bus)
    assert bus.get(GATEWAY, SERVICE, "PasscodeSet") == "false"
    r = bus.busctl("call", SERVICE, GATEWAY, SERVICE, "StartPairing", "u", "60", check=False)
    assert r.returncode != 0 and "--new-passcode" in r.stderr
    assert bus.get(GATEWAY, SERVICE, "PairingActive") == "false"
    status = bus.ctl("status").stdout
    assert "Setup code:   not set" in status and "confirmation: passcode" in status


def test_a_second_stranger_during_a_setup_code_attempt_aborts_both(gateway_factory, bus, device, phone, tmp_path):
    g = gateway_factory(extra=pairing_config("passcode"))
    new_passcode(g)
    start_on_bus(g, bus)
    monitor = bus.monitor()
    bus.busctl("call", SERVICE, GATEWAY, SERVICE, "StartPairing", "u", "60")
    first = PairingClient(g.port, *phone)
    rival = None
    try:
        first.message("passcode")
        rival = PairingClient(g.port, *make_identity(str(tmp_path), "rival"))
        assert first.ended() and rival.ended()
        monitor.wait_for(r'member=PairingFailed\n\s+string "overlap"\n\s+string "passcode"')
        assert bus.get(GATEWAY, SERVICE, "PairingActive") == "false"
        assert clients_in_store(g) == []
        assert device.read_for(0.3) == b""
    finally:
        monitor.stop()
        first.close()
        if rival:
            rival.close()
