# SPDX-License-Identifier: Apache-2.0
"""A private system bus with ttygate's shipped policy, and the peers the D-Bus tests use:
busctl (as root or as nobody), ttygatectl, dbus-monitor and `openssl s_client` as a pairing
client that prints the TLS exporter, with this file speaking the pairing exchange over it
(docs/pairing.md) independently of ttygate's own code: hashlib/hmac for committed codes,
spake2plus_ref (python3-ecdsa) for the setup code."""
import hashlib
import hmac
import os
import re
import secrets
import shutil
import signal
import subprocess
import tempfile
import threading
import time

from conftest import BUILD_DIR, OPENSSL

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "../.."))
POLICY = os.path.join(ROOT, "units", "org.ttygate.Gateway1.conf")
BUS_CONFIG = os.path.join(ROOT, "tests", "data", "test-system-bus.conf.in")
TTYGATECTL = os.path.join(BUILD_DIR, "tools", "ttygatectl")
SERVICE = "org.ttygate.Gateway1"
GATEWAY = "/org/ttygate/Gateway1"


class PrivateBus:
    """dbus-daemon on a socket that `nobody` can reach too (pytest's tmp_path is 0700).
    management_group: the shipped policy with its group="ttygate" renamed to this group (one
    that exists on the test machine, where no ttygate group does)."""

    def __init__(self, management_group=None):
        self.dir = tempfile.mkdtemp(prefix="ttygate-bus-")
        os.chmod(self.dir, 0o755)
        self.address = "unix:path=" + os.path.join(self.dir, "system_bus_socket")
        config = os.path.join(self.dir, "bus.conf")
        policy = POLICY
        if management_group:
            policy = os.path.join(self.dir, "policy.conf")
            with open(POLICY) as f, open(policy, "w") as out:
                shipped = f.read()
                assert shipped.count('group="ttygate"') == 1
                out.write(shipped.replace('group="ttygate"', f'group="{management_group}"'))
        with open(BUS_CONFIG) as f, open(config, "w") as out:
            out.write(f.read().replace("@LISTEN@", self.address).replace("@POLICY@", policy))
        self.config = config
        self._launch()
        self.env = {**os.environ, "DBUS_SYSTEM_BUS_ADDRESS": self.address}

    def _launch(self):
        self.proc = subprocess.Popen(["dbus-daemon", "--config-file=" + self.config, "--nofork", "--print-address"],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        assert self.proc.stdout.readline(), "dbus-daemon did not start"

    def restart(self, kill=False):
        """A new dbus-daemon on the same address, as after a crash (kill) or an upgrade."""
        self.proc.kill() if kill else self.proc.terminate()
        self.proc.wait(timeout=10)
        socket_path = self.address.split("=", 1)[1]
        if os.path.exists(socket_path):
            os.unlink(socket_path)
        self._launch()

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)
        shutil.rmtree(self.dir, ignore_errors=True)

    def run(self, argv, as_nobody=False, group=None, timeout=20):
        """as_nobody: run as user nobody, with no supplementary group or with `group`."""
        if as_nobody:
            groups = f"--groups={group}" if group else "--clear-groups"
            argv = ["setpriv", "--reuid=nobody", "--regid=nogroup", groups, *argv]
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=self.env)

    def busctl(self, *args, as_nobody=False, group=None, check=True):
        r = self.run(["busctl", "--system", *args], as_nobody=as_nobody, group=group)
        if check:
            assert r.returncode == 0, r.stderr
        return r

    def get(self, path, interface, prop):
        """A property's value as busctl prints it, without the type: 's "x"' -> '"x"'."""
        out = self.busctl("get-property", SERVICE, path, interface, prop).stdout.strip()
        return out.split(" ", 1)[1]

    def ctl(self, *args, as_nobody=False):
        return self.run([TTYGATECTL, *args], as_nobody=as_nobody)

    def monitor(self):
        return Monitor(self.env)

    def wait_property(self, prop, value, timeout=10):
        deadline = time.monotonic() + timeout
        while self.get(GATEWAY, SERVICE, prop) != value:
            assert time.monotonic() < deadline, f"{prop} never became {value}"
            time.sleep(0.05)

    def wait_name(self, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if SERVICE in self.busctl("list", "--acquired").stdout:
                return
            time.sleep(0.05)
        raise AssertionError("ttygated never took its bus name")


class Reader:
    """Collects a process's output in the background."""

    def __init__(self, proc):
        self.proc = proc
        self.data = b""
        self.lock = threading.Lock()
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        while chunk := self.proc.stdout.read1(65536):
            with self.lock:
                self.data += chunk

    def text(self):
        with self.lock:
            return self.data.decode(errors="replace")

    def wait_for(self, pattern, timeout=10.0, count=1):
        """The count-th match of pattern in the output, once there is one."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            matches = list(re.finditer(pattern, self.text()))
            if len(matches) >= count:
                return matches[count - 1]
            time.sleep(0.02)
        raise AssertionError(f"{pattern!r} never appeared in:\n{self.text()}")


class Monitor(Reader):
    """dbus-monitor on the gateway's signals: PropertiesChanged, InterfacesAdded, Pairing*."""

    PROBE = "org.ttygate.Test.Probe"

    def __init__(self, env):
        proc = subprocess.Popen(["dbus-monitor", "--system", f"type='signal',sender='{SERVICE}'",
                                 f"type='signal',interface='{self.PROBE}'"],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
        super().__init__(proc)
        # Subscribed before the test acts: a probe signal sent now shows up in the output.
        deadline = time.monotonic() + 10
        while self.PROBE not in self.text():
            assert time.monotonic() < deadline, "dbus-monitor never subscribed"
            subprocess.run(["dbus-send", "--system", "--type=signal", "/", self.PROBE + ".Ready"], env=env,
                           check=True)
            time.sleep(0.05)

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=5)


EXPORTER_LABEL = "EXPORTER-ttygate-pairing-v1"
PREFIX = "TTYGATE-PAIR 1 "


def committed_code(exporter, gateway_nonce, client_nonce):
    """docs/pairing.md: HMAC-SHA256(exporter, label || Ng || Nc), first 8 bytes, mod 10^6."""
    mac = hmac.new(exporter, b"ttygate pairing code v1" + gateway_nonce + client_nonce, hashlib.sha256).digest()
    return "%06d" % (int.from_bytes(mac[:8], "big") % 1000000)


def commitment(exporter, gateway_nonce):
    return hashlib.sha256(b"ttygate pairing commit v1" + exporter + gateway_nonce).digest()


class PairingClient(Reader):
    """A real TLS 1.3 peer, openssl s_client, which prints EXPORTER-ttygate-pairing-v1; the
    pairing messages are written to its stdin and read from its stdout."""

    def __init__(self, port, cert, key):
        proc = subprocess.Popen(
            [OPENSSL, "s_client", "-connect", f"127.0.0.1:{port}", "-cert", cert, "-key", key, "-tls1_3",
             "-keymatexport", EXPORTER_LABEL, "-keymatexportlen", "32", "-ign_eof", "-nocommands"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        super().__init__(proc)

    def exporter(self, timeout=10.0):
        return bytes.fromhex(self.wait_for(r"Keying material: ([0-9A-F]{64})", timeout).group(1))

    def message(self, verb, timeout=10.0):
        """The arguments of the gateway's next `verb` line."""
        return self.wait_for(re.escape(PREFIX + verb) + r" ([0-9a-f ]+)\n", timeout).group(1).split(" ")

    def say(self, verb, *args):
        self.send((PREFIX + " ".join([verb, *args]) + "\n").encode())

    def code(self, timeout=10.0):
        """Runs the committed-code exchange as docs/pairing.md specifies; returns the code."""
        exporter = self.exporter(timeout)
        (c,) = self.message("commit", timeout)
        nonce = secrets.token_bytes(32)
        self.say("nonce", nonce.hex())
        (revealed,) = self.message("reveal", timeout)
        assert commitment(exporter, bytes.fromhex(revealed)) == bytes.fromhex(c), "the gateway broke its commitment"
        return committed_code(exporter, bytes.fromhex(revealed), nonce)

    def passcode(self, code, timeout=10.0, check_gateway=True):
        """Runs SPAKE2+ with the setup code (spake2plus_ref, python3-ecdsa). Returns True when
        the gateway's confirmation verified (and ours was sent), False when it did not."""
        import spake2plus_ref
        exporter = self.exporter(timeout)
        salt, iterations = self.message("passcode", timeout)
        w0, w1 = spake2plus_ref.derive_secrets(code, bytes.fromhex(salt), int(iterations))
        prover = spake2plus_ref.Prover(w0, w1, b"ttygate pairing passcode v1" + exporter)
        self.say("share", prover.share().hex())
        share_v, confirm_v = self.message("reply", timeout)
        try:
            confirm_p = prover.finish(bytes.fromhex(share_v), bytes.fromhex(confirm_v))
        except ValueError:
            if check_gateway:
                return False
            confirm_p = bytes(32)  # a client that ignores the gateway's proof and guesses on
        self.say("confirm", confirm_p.hex())
        return True

    def send(self, data):
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def ended(self, timeout=5.0):
        """True when the gateway ended the connection (s_client exits after close_notify/EOF)."""
        try:
            self.proc.wait(timeout=timeout)
            return True
        except subprocess.TimeoutExpired:
            return False

    def close(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=5)


import pytest  # noqa: E402


@pytest.fixture
def bus():
    b = PrivateBus()
    yield b
    b.stop()


def start_on_bus(gateway, bus, env=None):
    gateway.start(env={"DBUS_SYSTEM_BUS_ADDRESS": bus.address, **(env or {})})
    bus.wait_name()
    return gateway


def pairing_config(confirm="code", guard_ms=500, default_role="control", attempts=None):
    extra = f"max_passcode_attempts = {attempts}\n" if attempts else ""
    return (f'[pairing]\nconfirm = "{confirm}"\nauto_guard_ms = {guard_ms}\ndefault_role = "{default_role}"\n'
            + extra)


def client_path_of(bus, name):
    out = bus.busctl("tree", "--list", SERVICE).stdout.split()
    for path in out:
        if "/client/" in path and bus.get(path, "org.ttygate.Client1", "Name") == f'"{name}"':
            return path
    raise AssertionError(f"no client object named {name}")


def session_paths(bus):
    return [p for p in bus.busctl("tree", "--list", SERVICE).stdout.split() if "/session/" in p]
