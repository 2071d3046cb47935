# SPDX-License-Identifier: Apache-2.0
"""Shared fixtures for the gateway's integration tests: real ttygated, real TLS peers, ptys.

A PtyDevice is the serial device: the test holds the pty master (the "device side") and the
gateway opens the slave through a symlink, exactly as it would open /dev/ttyUSB0. A Gateway is a
ttygated process with its own state directory, config and provisioned clients.
"""
import hashlib
import os
import select
import signal
import socket
import ssl
import subprocess
import threading
import time
import tty

import pytest

BUILD_DIR = os.environ.get("TTYGATE_BUILD_DIR", os.path.join(os.path.dirname(__file__), "../../build"))
TTYGATED = os.path.join(BUILD_DIR, "tools", "ttygated")
OPENSSL = "/usr/bin/openssl"
RELAYING = " relaying on port "


def sanitized_build():
    """True for the ASan+UBSan build of scripts/test's second pass (TTYGATE_SANITIZE=ON)."""
    try:
        with open(os.path.join(BUILD_DIR, "CMakeCache.txt")) as f:
            return "TTYGATE_SANITIZE:BOOL=ON" in f.read()
    except OSError:
        return False


# Time and memory budgets hold for the build that ships. Under ASan a handshake costs several
# times as much and freed memory is quarantined, so the sanitizer pass checks those tests for
# memory errors only where they don't measure; the budgets are proven in the plain pass.
plain_build_budgets = pytest.mark.skipif(sanitized_build(), reason="time and memory budgets are the plain build's: "
                                         "ASan slows handshakes several times and quarantines freed memory")  # the gateway logs this once a session is attached to its port


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def connect_from(source, port, timeout=10):
    """A TCP connection to the gateway from another loopback address: another host, to it."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.bind((source, 0))
    s.connect(("127.0.0.1", port))
    return s


def make_identity(directory, name, key_type="ec"):
    """A client key and self-signed certificate made with the openssl CLI, as any user could."""
    key, cert = os.path.join(directory, name + ".key"), os.path.join(directory, name + ".crt")
    algo = {"ec": ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
            "ed25519": ["-newkey", "ed25519"],
            "rsa": ["-newkey", "rsa:2048"]}[key_type]
    subprocess.run([OPENSSL, "req", "-x509", *algo, "-nodes", "-keyout", key, "-out", cert,
                    "-subj", "/CN=" + name, "-days", "2"], check=True, capture_output=True)
    return cert, key


def spki_sha256(cert):
    pub = subprocess.run([OPENSSL, "x509", "-in", cert, "-pubkey", "-noout"], check=True, capture_output=True).stdout
    der = subprocess.run([OPENSSL, "pkey", "-pubin", "-outform", "DER"], input=pub, check=True,
                         capture_output=True).stdout
    return hashlib.sha256(der).digest()


class PtyDevice:
    """The far end of a serial line: a pty whose slave is linked at `link`."""

    def __init__(self, link):
        self.link = str(link)
        self.master = self.slave = None
        self.plug()

    def plug(self):
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)  # before the gateway comes: no echo, no translation
        tmp = self.link + ".new"
        if os.path.lexists(tmp):
            os.unlink(tmp)
        os.symlink(os.ttyname(self.slave), tmp)
        os.rename(tmp, self.link)

    def unplug(self):
        """What a pulled USB adapter looks like to the gateway: the line hangs up."""
        os.unlink(self.link)
        os.close(self.master)
        os.close(self.slave)
        self.master = self.slave = None

    def write(self, data):
        view = memoryview(data)
        while view:
            _, w, _ = select.select([], [self.master], [], 10)
            assert w, "device side blocked for 10 s"
            view = view[os.write(self.master, view[:4096]):]

    def read(self, count, timeout=10.0):
        data = bytearray()
        deadline = time.monotonic() + timeout
        while len(data) < count:
            r, _, _ = select.select([self.master], [], [], max(deadline - time.monotonic(), 0))
            if not r:
                break
            data += os.read(self.master, count - len(data))
        return bytes(data)

    def read_for(self, seconds):
        """Everything the gateway writes to the device within `seconds`."""
        data = bytearray()
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            r, _, _ = select.select([self.master], [], [], left)
            if r:
                data += os.read(self.master, 65536)
        return bytes(data)

    def echo_in_background(self):
        """Echoes every byte back until stop() is called; returns the stopper."""
        stop = threading.Event()

        def run():
            while not stop.is_set():
                r, _, _ = select.select([self.master], [], [], 0.05)
                if r:
                    try:
                        self.write(os.read(self.master, 65536))
                    except OSError:
                        return
        t = threading.Thread(target=run, daemon=True)
        t.start()

        class Stopper:
            def stop(self):
                stop.set()
                t.join()
        return Stopper()

    def close(self):
        if self.master is not None:
            self.unplug()


class Gateway:
    def __init__(self, tmp, device, control="shared", limits="", extra="", host="127.0.0.1"):
        self.tmp = str(tmp)
        self.host = host
        self.state = os.path.join(self.tmp, "state")
        self.port = free_port()
        self.config = os.path.join(self.tmp, "ttygated.toml")
        self.log_path = os.path.join(self.tmp, "ttygated.log")
        with open(self.config, "w") as f:
            f.write(f'[gateway]\nstate_dir = "{self.state}"\nname = "test-gateway"\n\n'
                    f'[[port]]\nname = "toy"\ndevice = "{device.link}"\nbaud = 115200\n'
                    f'listen = ["{host}:{self.port}"]\ncontrol = "{control}"\n\n'
                    f'[limits]\n{limits}\n{extra}\n')
        self.proc = None

    def cli(self, *args, check=True):
        r = subprocess.run([TTYGATED, "--config", self.config, *args], capture_output=True, text=True, timeout=30)
        if check:
            assert r.returncode == 0, r.stderr
        return r

    def add_client(self, cert, name, role="control"):
        return self.cli("--add-client", cert, "--name", name, "--role", role)

    def start(self, args=(), env=None):
        """env: extra environment variables (e.g. the private bus address of test_dbus_*.py)."""
        self.logfile = open(self.log_path, "w")
        self.proc = subprocess.Popen([TTYGATED, "--config", self.config, *args], stdout=self.logfile,
                                     stderr=subprocess.STDOUT, env={**os.environ, **(env or {})})
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, "ttygated exited at start:\n" + self.log()
            if "device " in self.log() and "open" in self.log():
                try:
                    socket.create_connection((self.host, self.port), timeout=1).close()
                    return self
                except OSError:
                    pass
            time.sleep(0.02)
        raise AssertionError("ttygated did not come up:\n" + self.log())

    def log(self):
        with open(self.log_path) as f:
            return f.read()

    def wait_log(self, text, timeout=10.0, count=1):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.log().count(text) >= count:
                return True
            time.sleep(0.02)
        raise AssertionError(f"{text!r} never appeared in the log:\n" + self.log())

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                raise
        return self.proc.returncode if self.proc else None

    def tls_context(self, cert=None, key=None, tls12_only=False):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE  # the gateway's pin is checked by the tests that care
        if tls12_only:
            ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        if cert:
            ctx.load_cert_chain(cert, key)
        return ctx

    def connect(self, cert=None, key=None, tls12_only=False, timeout=10, relaying=False):
        """relaying=True returns only once the gateway relays to this session. A TLS 1.3 client
        finishes its handshake before the gateway has read its Finished, and device output in
        between is not the new session's: tests where the device speaks first must wait."""
        before = self.log().count(RELAYING)
        raw = socket.create_connection((self.host, self.port), timeout=timeout)
        # Ragged EOFs raise: a test that sees b"" knows the gateway sent close_notify.
        tls = self.tls_context(cert, key, tls12_only).wrap_socket(raw, suppress_ragged_eofs=False)
        if relaying:
            self.wait_log(RELAYING, count=before + 1)
        return tls


def recv_exactly(sock, count, timeout=10.0):
    data = bytearray()
    sock.settimeout(timeout)
    while len(data) < count:
        chunk = sock.recv(min(65536, count - len(data)))
        if not chunk:
            break
        data += chunk
    return bytes(data)


def duplex(sock, outgoing, incoming_len, timeout=60.0):
    """Sends `outgoing` while receiving `incoming_len` bytes, in one thread: an SSL socket is one
    OpenSSL object and must not be read and written from two threads at once."""
    sock.setblocking(False)
    view, received = memoryview(outgoing), bytearray()
    deadline = time.monotonic() + timeout
    while (view or len(received) < incoming_len) and time.monotonic() < deadline:
        want_w = [sock] if view else []
        r, w, _ = select.select([sock], want_w, [], 0.5)
        if r or sock.pending():
            try:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                received += chunk
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
                pass
        if w and view:
            try:
                view = view[sock.send(view[:16384]):]
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
                pass
    sock.setblocking(True)
    return bytes(received)


def refused(conn_fn):
    """True when the gateway refuses the TLS session: the handshake fails, or the first read does."""
    try:
        s = conn_fn()
    except (ssl.SSLError, ConnectionError, OSError):
        return True
    try:
        s.settimeout(5)
        return s.recv(1) == b""
    except (ssl.SSLError, ConnectionError, OSError):
        return True
    finally:
        s.close()


@pytest.fixture
def device(tmp_path):
    d = PtyDevice(tmp_path / "tty-toy")
    yield d
    d.close()


@pytest.fixture
def client(tmp_path):
    return make_identity(str(tmp_path), "laptop")


@pytest.fixture
def gateway_factory(tmp_path, device):
    made = []

    def make(**kw):
        g = Gateway(tmp_path, device, **kw)
        made.append(g)
        return g
    yield make
    for g in made:
        g.stop()
