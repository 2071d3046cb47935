# SPDX-License-Identifier: Apache-2.0
"""ttygate-client, the PC side: identity, pins, connect, bridge, pairing, against real peers.

The client's own key is made by ttygate-client and provisioned on a real ttygated with
`--add-client`, so these tests need no pairing; pairing itself is tested against an
`openssl s_server` standing in for the gateway, with the gateway's half of the exchange
computed here (hashlib/hmac, and spake2plus_ref on python3-ecdsa), so the client is checked
against an independent implementation, and then against a real ttygated.
"""
import base64
import hashlib
import os
import re
import select
import socket
import subprocess
import threading
import time
import tty

import pytest

from conftest import BUILD_DIR, OPENSSL, Gateway, make_identity, spki_sha256
from dbus_helpers import (EXPORTER_LABEL, PREFIX, TTYGATECTL, bus, commitment, committed_code,  # noqa: F401
                          pairing_config, start_on_bus)

CLIENT = os.path.join(BUILD_DIR, "tools", "ttygate-client")
EXIT_FAILURE, EXIT_USAGE, EXIT_KEY_MISMATCH, EXIT_PAIRING_REFUSED, EXIT_WRONG_PASSCODE = 1, 2, 3, 4, 5


def fingerprint(pin):
    text = base64.b32encode(pin).decode().rstrip("=")
    return "-".join(text[i:i + 4] for i in range(0, len(text), 4))


def client(idir, *args, timeout=30, **kw):
    return subprocess.run([CLIENT, "--identity-dir", str(idir), *args], capture_output=True, timeout=timeout, **kw)


def client_identity(idir):
    """Makes the client's identity the way a user would, and returns its certificate path."""
    r = client(idir, "fingerprint")
    assert r.returncode == 0, r.stderr
    return os.path.join(idir, "client.crt")


def gateway_pin(g):
    g.cli("--fingerprint")
    return spki_sha256(os.path.join(g.state, "gateway.crt"))


def pin_gateways(idir, entries):
    """Writes the known-gateways file as `pair` would have: (name, host:port, pin) lines."""
    path = os.path.join(idir, "gateways")
    with open(path, "w") as f:
        f.write("# ttygate gateways v1\n")
        for name, endpoint, pin in entries:
            f.write(f"{name} {endpoint} {pin.hex()}\n")
    os.chmod(path, 0o600)


class Reader:
    """Collects everything a pipe delivers, in a thread, so a test can wait for a count."""

    def __init__(self, pipe):
        self.data = bytearray()
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._run, args=(pipe,), daemon=True)
        self.thread.start()

    def _run(self, pipe):
        while chunk := os.read(pipe.fileno(), 65536):
            with self.lock:
                self.data += chunk

    def wait_for(self, count=None, text=None, timeout=20.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if (count is not None and len(self.data) >= count) or (text is not None and text in self.data):
                    return bytes(self.data)
            time.sleep(0.01)
        raise AssertionError(f"waited for {count or text!r}, got {len(self.data)} bytes: {bytes(self.data[-300:])!r}")

    def take(self):
        with self.lock:
            data, self.data = bytes(self.data), bytearray()
            return data


class Proxy:
    """A TCP proxy between client and gateway that counts bytes per connection and can cut them."""

    def __init__(self, target_port):
        self.target_port = target_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.connections = []  # {"up": bytes client->gateway, "down": gateway->client, "socks": [...]}
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                downstream, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            conn = {"up": 0, "down": 0, "socks": [downstream, upstream]}
            with self.lock:
                self.connections.append(conn)
            threading.Thread(target=self._pump, args=(downstream, upstream, conn, "up"), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, downstream, conn, "down"), daemon=True).start()

    def _pump(self, src, dst, conn, key):
        try:
            while data := src.recv(65536):
                dst.sendall(data)
                with self.lock:
                    conn[key] += len(data)
        except OSError:
            pass
        self._close(conn)

    @staticmethod
    def _close(conn):
        for s in conn["socks"]:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def counts(self):
        with self.lock:
            return [(c["up"], c["down"]) for c in self.connections]

    def cut(self):
        """What a network loss looks like at both ends: every live connection ends."""
        with self.lock:
            conns = list(self.connections)
        for conn in conns:
            self._close(conn)

    def close(self):
        self.listener.close()
        self.cut()


@pytest.fixture
def idir(tmp_path):
    d = tmp_path / "client-config"
    return str(d)


@pytest.fixture
def paired(tmp_path, gateway_factory, idir):
    """A running gateway that knows the client's key, and a client that pins the gateway's."""
    g = gateway_factory()
    g.add_client(client_identity(idir), name="laptop")
    pin_gateways(idir, [("toy", f"127.0.0.1:{g.port}", gateway_pin(g))])
    return g.start()


# --- identity -------------------------------------------------------------------------------

def test_identity_is_made_0600_on_first_use_and_reused(idir):
    first = client(idir, "fingerprint")
    assert first.returncode == 0, first.stderr
    key = os.path.join(idir, "client.key")
    assert os.stat(key).st_mode & 0o777 == 0o600
    assert os.stat(idir).st_mode & 0o777 == 0o700
    before = open(key, "rb").read()
    again = client(idir, "fingerprint")
    assert again.stdout == first.stdout and open(key, "rb").read() == before


def test_fingerprint_is_the_sha256_of_the_key_files_public_key(idir):
    printed = client(idir, "fingerprint").stdout.decode().strip()
    pub = subprocess.run([OPENSSL, "pkey", "-in", os.path.join(idir, "client.key"), "-pubout", "-outform", "DER"],
                         check=True, capture_output=True).stdout
    assert printed == fingerprint(hashlib.sha256(pub).digest())
    assert printed == fingerprint(spki_sha256(os.path.join(idir, "client.crt")))


def test_the_default_directory_is_under_xdg_config_home(tmp_path):
    env = dict(os.environ, XDG_CONFIG_HOME=str(tmp_path / "xdg"))
    r = subprocess.run([CLIENT, "fingerprint"], capture_output=True, env=env, timeout=30)
    assert r.returncode == 0, r.stderr
    assert os.path.exists(tmp_path / "xdg" / "ttygate" / "client.key")


def test_a_private_key_others_can_read_is_refused_not_replaced(idir):
    client_identity(idir)
    key = os.path.join(idir, "client.key")
    os.chmod(key, 0o644)
    r = client(idir, "fingerprint")
    assert r.returncode == EXIT_FAILURE and b"chmod 600" in r.stderr


# --- known gateways -------------------------------------------------------------------------

def test_list_shows_paired_gateways_and_forget_removes_one(idir):
    os.makedirs(idir, mode=0o700)
    a, b = hashlib.sha256(b"a").digest(), hashlib.sha256(b"b").digest()
    pin_gateways(idir, [("toy", "127.0.0.1:7000", a), ("plc", "[::1]:7001", b)])
    r = client(idir, "list")
    assert r.returncode == 0
    assert r.stdout.decode().splitlines() == [f"toy 127.0.0.1:7000 {fingerprint(a)}",
                                              f"plc [::1]:7001 {fingerprint(b)}"]
    r = client(idir, "forget", "toy")
    assert r.returncode == 0
    assert client(idir, "list").stdout.decode().splitlines() == [f"plc [::1]:7001 {fingerprint(b)}"]
    assert os.stat(os.path.join(idir, "gateways")).st_mode & 0o777 == 0o600
    r = client(idir, "forget", "toy")
    assert r.returncode == EXIT_FAILURE and b"no paired gateway is named toy" in r.stderr


def test_a_damaged_gateways_file_is_an_error_naming_file_and_line(idir):
    os.makedirs(idir, mode=0o700)
    path = os.path.join(idir, "gateways")
    damaged = f"# ttygate gateways v1\ntoy 127.0.0.1:7000 {'ab' * 32}\nplc 10.0.0.1:70000 {'cd' * 32}\n"
    with open(path, "w") as f:
        f.write(damaged)
    for command in (["list"], ["forget", "toy"], ["connect", "toy"]):
        r = client(idir, *command)
        assert r.returncode == EXIT_FAILURE
        assert f"{path}:3: invalid HOST:PORT".encode() in r.stderr, r.stderr
    assert open(path).read() == damaged  # forget changed nothing


def test_usage_errors_exit_2(idir):
    assert client(idir).returncode == EXIT_USAGE
    assert client(idir, "connect").returncode == EXIT_USAGE
    assert client(idir, "bridge", "toy").returncode == EXIT_USAGE  # no --link
    assert client(idir, "frobnicate").returncode == EXIT_USAGE
    assert client(idir, "pair", "127.0.0.1:1", "--name", "-bad").returncode == EXIT_USAGE
    assert client(idir, "pair", "127.0.0.1:1", "--expect-fingerprint", "nonsense").returncode == EXIT_USAGE


def test_connect_to_an_unknown_gateway_says_to_pair_first(idir):
    r = client(idir, "connect", "nowhere")
    assert r.returncode == EXIT_FAILURE and b"pair first" in r.stderr


# --- connect --------------------------------------------------------------------------------

def test_connect_relays_every_byte_value_and_a_mebibyte_both_ways(paired, device, idir):
    p = subprocess.Popen([CLIENT, "--identity-dir", idir, "connect", "toy"], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out = Reader(p.stdout)
    try:
        paired.wait_log("relaying on port toy")
        every = bytes(range(256))
        p.stdin.write(every)
        p.stdin.flush()
        assert device.read(256) == every
        device.write(every[::-1])
        assert out.wait_for(count=256) == every[::-1]
        out.take()

        payload = os.urandom(1 << 20)
        echo = device.echo_in_background()
        writer = threading.Thread(target=lambda: (p.stdin.write(payload), p.stdin.flush()))
        writer.start()
        received = out.wait_for(count=len(payload), timeout=60)
        writer.join()
        echo.stop()
        assert received == payload
        p.stdin.close()  # EOF: close_notify, and a clean exit
        assert p.wait(timeout=10) == 0
    finally:
        p.kill()
        p.wait()


def test_connect_exits_0_when_the_gateway_ends_the_session(paired, device, idir):
    p = subprocess.Popen([CLIENT, "--identity-dir", idir, "connect", "toy"], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        paired.wait_log("relaying on port toy")
        paired.stop()  # SIGTERM: close_notify to every session
        assert p.wait(timeout=10) == 0
    finally:
        p.kill()
        p.wait()


def test_a_gateway_whose_key_changed_is_refused_with_a_warning(tmp_path, device, idir):
    for sub in ("old", "new"):
        os.makedirs(tmp_path / sub)
    old_pin = gateway_pin(Gateway(tmp_path / "old", device))
    new = Gateway(tmp_path / "new", device)  # same device, new state directory: a new key
    new.add_client(client_identity(idir), name="laptop")
    new.start()
    try:
        new_pin = gateway_pin(new)
        pin_gateways(idir, [("toy", f"127.0.0.1:{new.port}", old_pin)])
        r = subprocess.run([CLIENT, "--identity-dir", idir, "connect", "toy"], input=b"LED ON\n",
                           capture_output=True, timeout=30)
        assert r.returncode == EXIT_KEY_MISMATCH, r.stderr
        warning = r.stderr.decode()
        assert "WARNING: THE GATEWAY'S KEY HAS CHANGED!" in warning
        assert f"Expected:  {fingerprint(old_pin)}" in warning
        assert f"Presented: {fingerprint(new_pin)}" in warning
        assert "ttygate-client forget toy" in warning
        assert r.stdout == b""
        assert device.read_for(0.5) == b""  # nothing reached the device
        assert "relaying" not in new.log()
    finally:
        new.stop()


# --- bridge ---------------------------------------------------------------------------------

def open_link(link, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not os.path.islink(link):
        assert time.monotonic() < deadline, "the bridge never made its link"
        time.sleep(0.02)
    fd = os.open(link, os.O_RDWR | os.O_NOCTTY)
    tty.setraw(fd)  # what serial software does
    return fd


def link_write(fd, data):
    view = memoryview(data)
    while view:
        _, w, _ = select.select([], [fd], [], 10)
        assert w, "the local port blocked for 10 s"
        view = view[os.write(fd, view[:4096]):]


def link_read(fd, count, timeout=20.0):
    data = bytearray()
    deadline = time.monotonic() + timeout
    while len(data) < count:
        r, _, _ = select.select([fd], [], [], max(deadline - time.monotonic(), 0))
        if not r:
            break
        data += os.read(fd, count - len(data))
    return bytes(data)


def wait_file(path, text, count=1, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        content = open(path).read()
        if content.count(text) >= count:
            return content
        time.sleep(0.02)
    raise AssertionError(f"{text!r} never appeared {count} times in {path}:\n" + open(path).read())


def stats_of(line):
    m = re.search(r"\((full handshake|resumed), TCP ([\d.]+) ms, TLS ([\d.]+) ms, (\d+) bytes sent, (\d+) received\)",
                  line)
    assert m, line
    return {"kind": m[1], "tls_ms": float(m[3]), "sent": int(m[4]), "received": int(m[5])}


def ticket_crossed(proxy, index, handshake, timeout=10.0):
    """Connection `index`'s (up, down) counts once the gateway's ticket has crossed the proxy. The
    ticket is the first thing the gateway sends after the handshake, whose bytes the client
    counted (`handshake`, from stats_of): it has crossed when more than those came down."""
    deadline = time.monotonic() + timeout
    while (counts := proxy.counts())[index][1] <= handshake["received"]:
        assert time.monotonic() < deadline, f"no ticket after the {handshake['received']} handshake bytes: {counts}"
        time.sleep(0.01)
    return counts[index]


def test_bridge_keeps_the_local_port_working_across_a_cut_and_resumes(tmp_path, gateway_factory, device, idir):
    g = gateway_factory()
    g.add_client(client_identity(idir), name="laptop")
    g.start()
    proxy = Proxy(g.port)
    pin_gateways(idir, [("toy", f"127.0.0.1:{proxy.port}", gateway_pin(g))])
    link, log_path = str(tmp_path / "ttyTOY"), str(tmp_path / "bridge.log")
    with open(log_path, "w") as log:
        p = subprocess.Popen([CLIENT, "--identity-dir", idir, "bridge", "toy", "--link", link], stdout=log,
                             stderr=subprocess.STDOUT)
    try:
        fd = open_link(link)
        full_handshake = stats_of(wait_file(log_path, "connected to toy (full handshake"))
        g.wait_log("relaying on port toy")
        full_setup = ticket_crossed(proxy, 0, full_handshake)  # handshake and tickets, before any data
        link_write(fd, b"before the cut\n")
        assert device.read(15) == b"before the cut\n"
        device.write(b"device says hi\n")
        assert link_read(fd, 15) == b"device says hi\n"

        proxy.cut()
        wait_file(log_path, "connection lost")
        log_text = wait_file(log_path, "reconnected to toy (")
        g.wait_log("relaying on port toy", count=2)
        assert "reconnected to toy (resumed" in log_text, log_text
        resumed_setup = ticket_crossed(proxy, 1, stats_of(log_text[log_text.index("reconnected to toy ("):]))
        assert g.log().count("relaying on port toy") == 2 and g.log().count(", resumed") == 1
        last_session = [line for line in g.log().splitlines() if "relaying on port toy" in line][-1]
        assert last_session.endswith(", resumed")

        # The same open fd, after the reconnection: nothing lost, both ways.
        up, down = os.urandom(64 * 1024), os.urandom(64 * 1024)
        link_write(fd, up)
        assert device.read(len(up), timeout=20) == up
        device.write(down)
        assert link_read(fd, len(down)) == down
        os.close(fd)

        lines = [line for line in open(log_path).read().splitlines() if "connected to toy (" in line]
        full, resumed = stats_of(lines[0]), stats_of(lines[1])
        report = (f"full handshake: {full['tls_ms']:.2f} ms, {full['sent']} B sent, {full['received']} B received; "
                  f"resumed: {resumed['tls_ms']:.2f} ms, {resumed['sent']} B sent, {resumed['received']} B received; "
                  f"through the proxy with tickets (up, down): full {full_setup}, resumed {resumed_setup}")
        print("\n" + report)
        with open(os.path.join(BUILD_DIR, "client-handshake-stats.txt"), "w") as f:
            f.write(report + "\n")
        assert full["kind"] == "full handshake" and resumed["kind"] == "resumed"
        assert resumed["sent"] + resumed["received"] < full["sent"] + full["received"]
    finally:
        p.terminate()
        rc = p.wait(timeout=10)
        proxy.close()
    assert rc == 0
    assert not os.path.lexists(link)  # the bridge removes its link on the way out


def test_bridge_refuses_to_replace_a_file_at_the_link(paired, tmp_path, idir):
    link = tmp_path / "not-a-link"
    link.write_text("precious")
    r = client(idir, "bridge", "toy", "--link", str(link))
    assert r.returncode == EXIT_FAILURE and b"exists and is not a symlink" in r.stderr
    assert link.read_text() == "precious"


def test_bridge_stops_on_a_changed_gateway_key(tmp_path, gateway_factory, device, idir):
    g = gateway_factory()
    g.add_client(client_identity(idir), name="laptop")
    g.start()
    pin_gateways(idir, [("toy", f"127.0.0.1:{g.port}", hashlib.sha256(b"someone else").digest())])
    link = str(tmp_path / "ttyTOY")
    r = client(idir, "bridge", "toy", "--link", link)
    assert r.returncode == EXIT_KEY_MISMATCH and b"HAS CHANGED" in r.stderr
    assert not os.path.lexists(link)


# --- pairing, against openssl s_server standing in for the gateway ----------------------------

class FakePairingGateway:
    """openssl s_server with the gateway's pairing behaviour driven by the test: it exports the same
    keying material, the test computes the gateway's messages (docs/pairing.md) and writes them,
    then the verdict line, or closes."""

    def __init__(self, tmp_path, name="fake-gw"):
        self.cert, self.key = make_identity(str(tmp_path), name)
        self.pin = spki_sha256(self.cert)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.proc = subprocess.Popen(
            [OPENSSL, "s_server", "-accept", f"127.0.0.1:{self.port}", "-cert", self.cert, "-key", self.key,
             "-tls1_3", "-naccept", "1", "-verify", "1", "-keymatexport", EXPORTER_LABEL,
             "-keymatexportlen", "32"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.out = Reader(self.proc.stdout)
        self.out.wait_for(text=b"ACCEPT")

    def exporter(self):
        text = self.out.wait_for(text=b"CIPHER is").decode()
        return bytes.fromhex(re.search(r"Keying material: ([0-9A-F]{64})", text)[1])

    def say(self, line):
        self.proc.stdin.write(line.encode())
        self.proc.stdin.flush()

    def message(self, verb, timeout=20.0):
        """The arguments of the client's next `verb` line, once it is whole."""
        pattern = re.compile(re.escape(PREFIX + verb) + r" ([0-9a-f ]+)\n")
        deadline = time.monotonic() + timeout
        while not (m := pattern.search(self.out.wait_for(text=(PREFIX + verb).encode()).decode())):
            assert time.monotonic() < deadline, f"no whole {verb} line"
            time.sleep(0.01)
        return m.group(1).split(" ")

    def committed_code(self, tamper=False):
        """The gateway's half of the committed-code exchange; returns the code it would show."""
        exporter, nonce = self.exporter(), os.urandom(32)
        self.say(PREFIX + "commit " + commitment(exporter, nonce).hex() + "\n")
        (client_nonce,) = self.message("nonce")
        revealed = os.urandom(32) if tamper else nonce
        self.say(PREFIX + "reveal " + revealed.hex() + "\n")
        return committed_code(exporter, nonce, bytes.fromhex(client_nonce))

    def setup_code(self, code, expect_confirmation=True):
        """The gateway's half of SPAKE2+ for `code`; True when the client's confirmation verified
        (expect_confirmation=False: stop after the gateway's proof, for a client that refuses it)."""
        import spake2plus_ref
        exporter, salt = self.exporter(), os.urandom(32)
        w0, w1 = spake2plus_ref.derive_secrets(code, salt, 1000)
        self.say(PREFIX + f"passcode {salt.hex()} 1000\n")
        (share_p,) = self.message("share")
        verifier = spake2plus_ref.Verifier(w0, spake2plus_ref.make_verifier(w1), b"ttygate pairing passcode v1" + exporter,
                                           bytes.fromhex(share_p))
        self.say(PREFIX + f"reply {verifier.share().hex()} {verifier.confirm().hex()}\n")
        if not expect_confirmation:
            return None
        (confirm_p,) = self.message("confirm")
        try:
            verifier.finish(bytes.fromhex(confirm_p))
            return True
        except ValueError:
            return False

    def accept(self, role="control"):
        self.proc.stdin.write(f"TTYGATE PAIRED {role}\n".encode())
        self.proc.stdin.flush()

    def refuse(self):
        self.proc.stdin.close()

    def stop(self):
        self.proc.kill()
        self.proc.wait()


def start_pair(idir, fake, *args):
    p = subprocess.Popen([CLIENT, "--identity-dir", idir, "pair", f"127.0.0.1:{fake.port}", *args],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return p, Reader(p.stdout)


def test_pair_shows_the_committed_code_and_pins_the_gateway(tmp_path, idir):
    fake = FakePairingGateway(tmp_path)
    try:
        p, out = start_pair(idir, fake)
        code = fake.committed_code()
        shown = out.wait_for(text=b"check that the gateway shows the same code").decode()
        assert re.search(r"Pairing code: (\d{6}) \u2014 check that the gateway shows the same code", shown)[1] == code
        fake.accept("monitor")
        assert p.wait(timeout=10) == 0, p.stderr.read()
        assert "Paired with fake-gw at 127.0.0.1:%d as monitor" % fake.port in out.wait_for(text=b"fingerprint").decode()
    finally:
        fake.stop()
    listed = client(idir, "list").stdout.decode().splitlines()
    assert listed == [f"fake-gw 127.0.0.1:{fake.port} {fingerprint(fake.pin)}"]


def test_pair_refuses_a_reveal_that_breaks_the_gateways_commitment(tmp_path, idir):
    fake = FakePairingGateway(tmp_path)
    try:
        p, out = start_pair(idir, fake)
        fake.committed_code(tamper=True)
        assert p.wait(timeout=10) == EXIT_FAILURE
        assert b"does not match the gateway's commitment" in p.stderr.read()
        assert b"Pairing code" not in out.take()  # no code to compare, nothing to confirm
    finally:
        fake.stop()
    assert client(idir, "list").stdout == b""


def test_pair_takes_the_verdict_directly_when_the_gateway_confirms_by_button(tmp_path, idir):
    fake = FakePairingGateway(tmp_path)
    try:
        p, out = start_pair(idir, fake, "--name", "bench-plc", "--expect-fingerprint", fingerprint(fake.pin).lower())
        fake.exporter()  # the handshake is done
        fake.accept()
        assert p.wait(timeout=10) == 0, p.stderr.read()
        assert b"Pairing code" not in out.take()
    finally:
        fake.stop()
    assert client(idir, "list").stdout.decode().split()[0] == "bench-plc"


def test_pair_refuses_a_gateway_that_is_not_the_expected_fingerprint(tmp_path, idir):
    fake = FakePairingGateway(tmp_path)
    label = hashlib.sha256(b"the key printed on the label").digest()
    try:
        p, out = start_pair(idir, fake, "--expect-fingerprint", fingerprint(label))
        assert p.wait(timeout=10) == EXIT_KEY_MISMATCH
        err = p.stderr.read().decode()
        assert fingerprint(fake.pin) in err and fingerprint(label) in err
        assert b"Pairing code" not in out.take()
    finally:
        fake.stop()
    assert client(idir, "list").stdout == b""


def test_pair_refused_by_the_gateway_exits_4_and_stores_nothing(tmp_path, idir):
    fake = FakePairingGateway(tmp_path)
    try:
        p, out = start_pair(idir, fake)
        fake.committed_code()
        out.wait_for(text=b"Pairing code:")
        fake.refuse()
        assert p.wait(timeout=10) == EXIT_PAIRING_REFUSED
        assert b"did not accept the pairing" in p.stderr.read()
    finally:
        fake.stop()
    assert client(idir, "list").stdout == b""


@pytest.mark.parametrize("typed,matches", [("2468-1357", True), ("24681357", True), ("24681358", False)])
def test_pair_with_a_setup_code_against_an_independent_spake2plus_gateway(tmp_path, idir, typed, matches):
    fake = FakePairingGateway(tmp_path)
    try:
        p, out = start_pair(idir, fake, "--passcode", typed)
        if matches:
            assert fake.setup_code("24681357")
            fake.accept()
            assert p.wait(timeout=10) == 0, p.stderr.read()
        else:
            fake.setup_code("24681357", expect_confirmation=False)
            assert p.wait(timeout=10) == EXIT_WRONG_PASSCODE
            assert b"setup code was not accepted" in p.stderr.read()
            assert (PREFIX + "confirm").encode() not in fake.out.take()  # it proved nothing to a wrong gateway
    finally:
        fake.stop()
    assert (client(idir, "list").stdout != b"") == matches


def test_pair_without_a_setup_code_says_the_gateway_needs_one(tmp_path, idir):
    fake = FakePairingGateway(tmp_path)
    try:
        p, out = start_pair(idir, fake)
        fake.exporter()
        fake.say(PREFIX + f"passcode {os.urandom(32).hex()} 1000\n")
        assert p.wait(timeout=10) == EXIT_USAGE
        assert b"--passcode" in p.stderr.read()
    finally:
        fake.stop()


# --- handshake costs --------------------------------------------------------------------------

def test_bridge_resumes_each_time_the_gateway_ends_an_idle_session_and_handshake_costs(
        tmp_path, gateway_factory, device, idir):
    """One run, no proxy: full handshakes from `connect --stats`, resumed ones from a bridge whose
    sessions the gateway closes when idle (close_notify; the bridge resumes). Medians reported."""
    g = gateway_factory(extra="[keepalive]\nsession_idle_seconds = 1\n")
    g.add_client(client_identity(idir), name="laptop")
    pin_gateways(idir, [("toy", f"127.0.0.1:{g.port}", gateway_pin(g))])
    g.start()
    full = []
    for _ in range(5):
        r = client(idir, "--stats", "connect", "toy", stdin=subprocess.DEVNULL)
        assert r.returncode == 0, r.stderr
        full.append(stats_of("(" + r.stderr.decode().split("handshake: ", 1)[1].splitlines()[0] + ")"))
    link, log_path = str(tmp_path / "ttyTOY"), str(tmp_path / "bridge.log")
    with open(log_path, "w") as log:
        p = subprocess.Popen([CLIENT, "--identity-dir", idir, "bridge", "toy", "--link", link], stdout=log,
                             stderr=subprocess.STDOUT)
    try:
        fd = open_link(link)
        wait_file(log_path, "reconnected to toy (", count=5, timeout=30)
        link_write(fd, b"still here\n")
        assert device.read(11) == b"still here\n"
        os.close(fd)
    finally:
        p.terminate()
        assert p.wait(timeout=10) == 0
    lines = [line for line in open(log_path).read().splitlines() if "connected to toy (" in line]
    assert "the gateway closed the session; reconnecting" in open(log_path).read()
    resumed = [stats_of(line) for line in lines[1:]]
    assert all(s["kind"] == "full handshake" for s in full) and all(s["kind"] == "resumed" for s in resumed)

    def median(samples, key):
        return sorted(s[key] for s in samples)[len(samples) // 2]
    report = (f"median of {len(full)} full handshakes: {median(full, 'tls_ms'):.2f} ms, "
              f"{median(full, 'sent')} B sent, {median(full, 'received')} B received; "
              f"median of {len(resumed)} resumed: {median(resumed, 'tls_ms'):.2f} ms, "
              f"{median(resumed, 'sent')} B sent, {median(resumed, 'received')} B received")
    print("\n" + report)
    with open(os.path.join(BUILD_DIR, "client-handshake-costs.txt"), "w") as f:
        f.write(report + "\n")
    assert median(resumed, "received") < median(full, "received")


# --- pairing with a real ttygated -----------------------------------------------------------

def connect_echoes(idir, device):
    """A paired client's `connect` relays to the device and back (the device echoes)."""
    echo = device.echo_in_background()
    try:
        c = subprocess.Popen([CLIENT, "--identity-dir", idir, "connect", "test-gateway"], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        got = Reader(c.stdout)
        c.stdin.write(b"A led on\n")
        c.stdin.flush()
        assert got.wait_for(count=9) == b"A led on\n"
        c.stdin.close()
        assert c.wait(timeout=10) == 0
    finally:
        echo.stop()


def pairing_code_of(out):
    shown = out.wait_for(text=b"check that the gateway shows the same code").decode()
    return re.search(r"Pairing code: (\d{6}) \u2014", shown)[1]


def test_pair_with_a_real_gateway_in_auto_mode_then_connect(gateway_factory, bus, device, idir):
    g = start_on_bus(gateway_factory(extra=pairing_config("auto", guard_ms=500)), bus)
    assert bus.ctl("pair", "--no-wait").returncode == 0
    p = subprocess.Popen([CLIENT, "--identity-dir", idir, "pair", f"127.0.0.1:{g.port}"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out = Reader(p.stdout)
    assert p.wait(timeout=15) == 0, p.stderr.read()
    assert b"Pairing code" not in out.wait_for(text=b"fingerprint")  # "auto": nothing to compare
    g.wait_log("Pairing candidate")
    assert f"Paired with test-gateway at 127.0.0.1:{g.port} as control" in out.wait_for(text=b"fingerprint").decode()
    pin = gateway_pin(g)
    assert client(idir, "list").stdout.decode().splitlines() == [
        f"test-gateway 127.0.0.1:{g.port} {fingerprint(pin)}"]
    mine = client(idir, "fingerprint").stdout.decode().strip()
    assert mine in g.cli("--list-clients").stdout  # the gateway pinned our key

    # Paired: a plain connect now relays, with no pairing line.
    connect_echoes(idir, device)


def test_pair_with_a_real_gateway_confirmed_by_code_over_dbus(gateway_factory, bus, device, idir):
    g = start_on_bus(gateway_factory(extra=pairing_config("code")), bus)
    assert bus.ctl("pair", "--no-wait").returncode == 0
    p = subprocess.Popen([CLIENT, "--identity-dir", idir, "pair", f"127.0.0.1:{g.port}", "--name", "toy",
                          "--expect-fingerprint", fingerprint(gateway_pin(g))],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out = Reader(p.stdout)
    try:
        code = pairing_code_of(out)
        g.wait_log("shows code " + code)  # the same code on both sides
        time.sleep(0.3)  # a bound, not a wait: 0.3 s on, the client must not have given up
        assert p.poll() is None  # waiting for the person
        r = bus.ctl("confirm", code)
        assert r.returncode == 0, r.stderr
        assert p.wait(timeout=10) == 0, p.stderr.read()
    finally:
        p.kill()
        p.wait()
    assert client(idir, "list").stdout.decode().split()[0] == "toy"


def test_a_wrong_code_confirmed_on_the_gateway_refuses_the_client(gateway_factory, bus, device, idir):
    g = start_on_bus(gateway_factory(extra=pairing_config("code")), bus)
    assert bus.ctl("pair", "--no-wait").returncode == 0
    p = subprocess.Popen([CLIENT, "--identity-dir", idir, "pair", f"127.0.0.1:{g.port}"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out = Reader(p.stdout)
    try:
        code = pairing_code_of(out)
        wrong = f"{(int(code) + 1) % 1000000:06d}"
        g.wait_log("shows code " + code)
        bus.ctl("confirm", wrong)
        assert p.wait(timeout=10) == EXIT_PAIRING_REFUSED
        assert b"did not accept the pairing" in p.stderr.read()
    finally:
        p.kill()
        p.wait()
    assert client(idir, "list").stdout == b""
    assert client(idir, "fingerprint").stdout.decode().strip() not in g.cli("--list-clients").stdout


def new_passcode(g):
    return re.search(r"^(\d{8})$", g.cli("--new-passcode").stdout, re.M)[1]


def test_pair_with_a_real_gateway_by_its_setup_code_followed_by_ttygatectl(gateway_factory, bus, device, idir):
    g = gateway_factory(extra=pairing_config("passcode"))
    code = new_passcode(g)
    start_on_bus(g, bus)
    watcher = subprocess.Popen([TTYGATECTL, "pair", "--seconds", "60"], env=bus.env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    try:
        bus.wait_property("PairingActive", "true")
        # The code as printed on the label, read from stdin so it stays out of the process list.
        p = subprocess.run([CLIENT, "--identity-dir", idir, "pair", f"127.0.0.1:{g.port}", "--passcode", "-"],
                           input=(code[:4] + "-" + code[4:] + "\n").encode(), capture_output=True, timeout=30)
        assert p.returncode == 0, p.stderr
        assert b"Paired with test-gateway" in p.stdout
        out, _ = watcher.communicate(timeout=10)
        assert watcher.returncode == 0, out
        assert "asks to pair" in out and "It is proving the setup code." in out and "Paired \"" in out
    finally:
        watcher.kill()
    assert client(idir, "fingerprint").stdout.decode().strip() in g.cli("--list-clients").stdout
    connect_echoes(idir, device)  # paired: connect relays


def test_pair_with_a_wrong_setup_code_exits_5_and_the_gateway_counts_the_attempt(gateway_factory, bus, device,
                                                                                  idir):
    g = gateway_factory(extra=pairing_config("passcode"))
    code = new_passcode(g)
    start_on_bus(g, bus)
    monitor = bus.monitor()
    try:
        assert bus.ctl("pair", "--no-wait").returncode == 0
        wrong = "%08d" % ((int(code) + 1) % 100000000)
        p = client(idir, "pair", f"127.0.0.1:{g.port}", "--passcode", wrong)
        assert p.returncode == EXIT_WRONG_PASSCODE, p.stderr
        assert b"setup code was not accepted" in p.stderr
        monitor.wait_for(r'member=PairingFailed\n\s+string "wrong-passcode"\n\s+string "passcode"')
        assert client(idir, "list").stdout == b""
        assert g.cli("--list-clients").stdout.splitlines()[1:] == []
        assert bus.get("/org/ttygate/Gateway1", "org.ttygate.Gateway1", "PairingActive") == "true"
        assert device.read_for(0.3) == b""
    finally:
        monitor.stop()


def test_pair_with_a_real_gateway_confirmed_by_a_second_button_press(gateway_factory, bus, device, idir, tmp_path):
    fifo = str(tmp_path / "button")
    button = '[pairing.button]\nchip = "gpiochip0"\nline = 17\ndebounce_ms = 20\n'
    g = start_on_bus(gateway_factory(extra=pairing_config("button") + button), bus, env={"TTYGATE_FAKE_BUTTON": fifo})
    g.wait_log("Pairing button: fake button")
    press = os.open(fifo, os.O_WRONLY)
    try:
        os.write(press, b"1")
        g.wait_log("Pairing window open")
        p = subprocess.Popen([CLIENT, "--identity-dir", idir, "pair", f"127.0.0.1:{g.port}", "--name", "toy"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        out = Reader(p.stdout)
        g.wait_log("Pairing candidate")
        time.sleep(0.3)  # a bound, not a wait: 0.3 s on, the client must not have finished
        assert p.poll() is None  # waiting for the second press
        os.write(press, b"1")
        assert p.wait(timeout=10) == 0, p.stderr.read()
        assert b"Pairing code" not in out.wait_for(text=b"fingerprint")
    finally:
        os.close(press)
    assert client(idir, "fingerprint").stdout.decode().strip() in g.cli("--list-clients").stdout
