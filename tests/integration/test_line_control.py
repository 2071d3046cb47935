# SPDX-License-Identifier: Apache-2.0
"""RFC 2217 line control over the TLS session (docs/line-control.md), with real clients:
pyserial's rfc2217:// through `ttygate-client serve`, and Python ssl speaking ALPN
ttygate-rfc2217 byte by byte. The device is a pty: its termios is read from the master side
(the kernel answers TCGETS on a master with the slave's settings). A pty has no modem lines
(TIOCM* answer ENOTTY), so DTR/RTS replies are checked to be the honest "off", and pyserial is
run with ?ign_set_control, its documented mode for such servers; TIOCSBRK/TIOCCBRK succeed on a
pty (doing nothing), so BREAK is answered as the driver took it.
"""
import fcntl
import os
import re
import select
import socket
import ssl
import struct
import subprocess
import termios
import time

import pytest
import serial

from conftest import Gateway, recv_exactly
from test_client import CLIENT, client_identity, gateway_pin, idir, pin_gateways  # noqa: F401

IAC, SB, SE, WILL, DO = 255, 250, 240, 251, 253
COM_PORT = 44
EXTPROC, TIOCPKT_IOCTL, TIOCPKT_FLUSHREAD = 0o200000, 0x40, 0x01  # not in Python's termios
TIOCSBRK, TIOCCBRK = 0x5427, 0x5428


def line_config(g, text):
    """Adds keys to the [[port]] table of a Gateway's config before it starts."""
    config = open(g.config).read().replace('control = "', text + '\ncontrol = "', 1)
    open(g.config, "w").write(config)


@pytest.fixture
def gateway(tmp_path, device, idir):  # noqa: F811
    made = []

    def make(role="control", line=""):
        directory = tmp_path / f"g{len(made)}"
        os.makedirs(directory)
        g = Gateway(directory, device)
        if line:
            line_config(g, line)
        g.add_client(client_identity(idir), name="laptop", role=role)
        pin_gateways(idir, [("toy", f"127.0.0.1:{g.port}", gateway_pin(g))])
        made.append(g)
        return g.start()
    yield make
    for g in made:
        g.stop()


class Serve:
    """`ttygate-client serve toy --rfc2217 127.0.0.1:0`, and the port it bound."""

    def __init__(self, idir, tmp_path):  # noqa: F811
        self.log_path = str(tmp_path / "serve.log")
        with open(self.log_path, "w") as log:
            self.proc = subprocess.Popen([CLIENT, "--identity-dir", idir, "serve", "toy", "--rfc2217", "127.0.0.1:0"],
                                         stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            m = re.search(r"RFC 2217 on 127\.0\.0\.1:(\d+)", open(self.log_path).read())
            if m:
                self.port = int(m.group(1))
                return
            assert self.proc.poll() is None, open(self.log_path).read()
            time.sleep(0.02)
        raise AssertionError("serve never listened: " + open(self.log_path).read())

    def url(self, options="?ign_set_control"):
        return f"rfc2217://127.0.0.1:{self.port}{options}"

    def stop(self):
        self.proc.terminate()
        assert self.proc.wait(timeout=10) == 0


@pytest.fixture
def serve(idir, tmp_path):  # noqa: F811
    """Starts `serve` once called (after the gateway it pins)."""
    made = []

    def make():
        made.append(Serve(idir, tmp_path))
        return made[-1]
    yield make
    for s in made:
        s.stop()


def device_termios(device):
    iflag, oflag, cflag, lflag, ispeed, ospeed, cc = termios.tcgetattr(device.master)
    return cflag, iflag, ospeed


class ComPortClient:
    """A TLS client offering ALPN ttygate-rfc2217 that speaks Telnet by hand."""

    def __init__(self, g, idir, alpn=("ttygate-rfc2217",)):  # noqa: F811
        ctx = g.tls_context(os.path.join(idir, "client.crt"), os.path.join(idir, "client.key"))
        ctx.set_alpn_protocols(list(alpn))
        raw = socket.create_connection(("127.0.0.1", g.port), timeout=10)
        self.tls = ctx.wrap_socket(raw, suppress_ragged_eofs=False)
        self.buffer = bytearray()

    def send(self, data):
        self.tls.sendall(bytes(data))

    def request(self, command, value):
        payload = bytes([command]) + value
        self.send(bytes([IAC, SB, COM_PORT]) + payload.replace(b"\xff", b"\xff\xff") + bytes([IAC, SE]))

    def reply(self, command, timeout=10):
        """The value bytes of the next COM-PORT-OPTION message with this server code."""
        deadline = time.monotonic() + timeout
        while True:
            for m in re.finditer(rb"\xff\xfa\x2c(.*?)\xff\xf0", bytes(self.buffer), re.S):
                body = m.group(1).replace(b"\xff\xff", b"\xff")
                if body[0] == command:
                    del self.buffer[:m.end()]
                    return body[1:]
            assert time.monotonic() < deadline, f"no reply {command}: {bytes(self.buffer)!r}"
            self.tls.settimeout(max(deadline - time.monotonic(), 0.01))
            chunk = self.tls.recv(4096)
            assert chunk, "the gateway closed the session"
            self.buffer += chunk

    def closed(self, timeout=10):
        self.tls.settimeout(timeout)
        try:
            while self.tls.recv(4096):
                pass
            return True
        except (ssl.SSLError, ConnectionError, OSError):
            return True


def test_pyserial_sets_9600_8n2_rtscts_on_the_device_and_relays_every_byte_through_serve(gateway, serve, device):
    g = gateway()
    port = serial.serial_for_url(serve().url(), baudrate=9600, bytesize=8, parity="N", stopbits=2, rtscts=True,
                                 timeout=5)
    try:
        g.wait_log("RFC 2217 line control")
        cflag, iflag, speed = device_termios(device)
        assert speed == termios.B9600
        assert cflag & termios.CSIZE == termios.CS8 and not cflag & termios.PARENB
        assert cflag & termios.CSTOPB
        assert cflag & termios.CRTSCTS and not iflag & termios.IXON

        every = bytes(range(256)) * 4  # 0xFF too: IAC doubled by pyserial, undone by the gateway
        port.write(every)
        assert device.read(len(every)) == every
        device.write(every[::-1])
        assert port.read(len(every)) == every[::-1]  # escaped by the gateway, undone by pyserial

        port.send_break(0.05)
        port.dtr = False
        port.dtr = True
        port.rts = False
        port.rts = True
        port.reset_input_buffer()
        port.reset_output_buffer()
        port.write(b"\xffstill in order\xff")
        assert device.read(16) == b"\xffstill in order\xff"
    finally:
        port.close()
    assert g.proc.poll() is None


def test_pyserial_hears_the_truth_when_the_device_cannot_take_even_parity(gateway, serve, device):
    """A pty slave drops PARENB and CS7 inside tcsetattr (pty_set_termios forces CS8, no parity):
    the gateway answers with the parity in effect, and pyserial refuses to pretend."""
    gateway()
    with pytest.raises(ValueError, match="remote rejected value for option 'parity'"):
        serial.serial_for_url(serve().url(), baudrate=9600, bytesize=8, parity="E", stopbits=2, timeout=5)
    cflag, _, speed = device_termios(device)
    assert speed == termios.B9600 and cflag & termios.CSTOPB  # what the pty could take, it took
    assert not cflag & termios.PARENB


def test_a_monitor_may_query_but_its_changes_are_refused_and_nothing_changes(gateway, serve, device, idir):  # noqa: F811
    g = gateway(role="monitor")
    before = termios.tcgetattr(device.master)
    with pytest.raises(ValueError, match="remote rejected value"):  # pyserial's word for a refusal
        serial.serial_for_url(serve().url(), baudrate=9600, bytesize=7, parity="E", timeout=5)
    assert termios.tcgetattr(device.master) == before
    c = ComPortClient(g, idir)
    c.request(1, (0).to_bytes(4, "big"))  # a query
    assert int.from_bytes(c.reply(101), "big") == 115200
    c.request(1, (9600).to_bytes(4, "big"))  # a change: answered with the value in effect
    assert int.from_bytes(c.reply(101), "big") == 115200
    c.request(3, bytes([3]))
    assert c.reply(103) == bytes([1])  # parity stays none
    assert termios.tcgetattr(device.master) == before


def test_a_raw_session_stays_byte_exact_next_to_an_rfc2217_one(gateway, device, idir):  # noqa: F811
    g = gateway()
    c = ComPortClient(g, idir)
    c.send([IAC, WILL, COM_PORT])
    c.reply(107)  # the modem state once COM-PORT-OPTION is on
    raw = g.connect(os.path.join(idir, "client.crt"), os.path.join(idir, "client.key"), relaying=False)
    g.wait_log("relaying on port toy", count=2)
    every = bytes(range(256))
    raw.sendall(every)
    assert device.read(256) == every  # not unescaped, not interpreted
    device.write(every)
    assert recv_exactly(raw, 256) == every
    escaped = every.replace(b"\xff", b"\xff\xff")
    data = bytearray()
    while len(data) < len(escaped):  # the RFC 2217 session gets the same bytes, escaped
        chunk = c.tls.recv(4096)
        assert chunk
        data += chunk
    assert bytes(data).endswith(escaped)


def test_out_of_range_and_disallowed_values_are_answered_with_the_value_in_effect(gateway, device, idir):  # noqa: F811
    g = gateway(line="allowed_bauds = [9600, 115200]")
    before = termios.tcgetattr(device.master)
    c = ComPortClient(g, idir)
    for command, value, reply in [(1, (57600).to_bytes(4, "big"), (115200).to_bytes(4, "big")),  # not allowed
                                  (1, (12345).to_bytes(4, "big"), (115200).to_bytes(4, "big")),  # no such rate
                                  (2, bytes([9]), bytes([8])), (2, bytes([4]), bytes([8])),
                                  (3, bytes([6]), bytes([1])), (4, bytes([3]), bytes([1])),  # 1.5 stop bits
                                  (5, bytes([8]), bytes([9])),   # DTR on: a pty has no DTR, it stays off
                                  (5, bytes([5]), bytes([5])),   # BREAK: a pty takes TIOCSBRK as a no-op
                                  (5, bytes([6]), bytes([6]))]:
        c.request(command, value)
        assert c.reply(command + 100) == reply, (command, value)
    assert termios.tcgetattr(device.master) == before
    c.request(1, (9600).to_bytes(4, "big"))  # allowed: applied, and the reply says so
    assert int.from_bytes(c.reply(101), "big") == 9600
    assert device_termios(device)[2] == termios.B9600
    assert device.read_for(0.2) == b""


@pytest.mark.parametrize("malformed", [
    b"abc\xff\x01",                                  # IAC then a byte that is no command
    b"abc\xff\xf0",                                  # SE outside a subnegotiation
    b"abc\xff\xfa\x2c\x01\x00\x25\xff\xf0",          # SET-BAUDRATE with 3 value bytes
    b"abc\xff\xfa\x2c\x02\x07\xff\x41\xff\xf0",      # IAC A inside a subnegotiation
    b"abc\xff\xfa\x2c\x00" + b"x" * 200 + b"\xff\xf0",  # a subnegotiation without bound
    b"abc\xff\xfa\x2c\x63\x01\xff\xf0",              # unknown command 99
], ids=["iac-junk", "stray-se", "short-baud", "iac-in-sb", "endless-sb", "unknown-command"])
def test_a_malformed_sequence_closes_the_session_and_reaches_no_tty(gateway, device, idir, malformed):  # noqa: F811
    g = gateway()
    before = termios.tcgetattr(device.master)
    c = ComPortClient(g, idir)
    c.send(malformed)
    assert c.closed()
    g.wait_log("malformed")
    assert device.read_for(0.2) == b""  # not even the "abc" before it
    assert termios.tcgetattr(device.master) == before


def test_a_port_without_line_control_refuses_rfc2217_in_the_handshake_and_offers_raw(gateway, device, idir):  # noqa: F811
    g = gateway(line='line_control = "none"')
    with pytest.raises((ssl.SSLError, ConnectionError)):
        c = ComPortClient(g, idir)
        c.tls.recv(1)
    g.wait_log('has line_control = "none"')
    c = ComPortClient(g, idir, alpn=("ttygate-rfc2217", "ttygate-raw"))
    assert c.tls.selected_alpn_protocol() == "ttygate-raw"
    c.send(b"\xff\x01")  # raw: just bytes
    assert device.read(2) == b"\xff\x01"


def start_bridge(g, idir, tmp_path):  # noqa: F811
    """`ttygate-client bridge toy --link ...` on its RFC 2217 session: (process, link path)."""
    link, log_path = str(tmp_path / "ttyTOY"), str(tmp_path / "bridge.log")
    with open(log_path, "w") as log:
        p = subprocess.Popen([CLIENT, "--identity-dir", idir, "bridge", "toy", "--link", link], stdout=log,
                             stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 10
    while "line settings follow the pty" not in open(log_path).read():
        if time.monotonic() > deadline or p.poll() is not None:
            p.kill()
            raise AssertionError(open(log_path).read())
        time.sleep(0.01)
    g.wait_log("RFC 2217 line control")
    return p, link


def test_the_bridge_carries_a_tcsetattr_on_its_pty_to_the_device_within_100_ms(gateway, device, idir, tmp_path):  # noqa: F811,E501
    g = gateway()
    p, link = start_bridge(g, idir, tmp_path)
    try:
        fd = os.open(link, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        try:
            a = termios.tcgetattr(fd)
            a[2] = (a[2] & ~termios.CSIZE) | termios.CS7 | termios.PARENB | termios.CSTOPB | termios.CRTSCTS
            a[4] = a[5] = termios.B57600
            termios.tcsetattr(fd, termios.TCSANOW, a)
            start = time.monotonic()
            while True:
                cflag, _, speed = device_termios(device)
                if speed == termios.B57600 and cflag & termios.CSTOPB and cflag & termios.CRTSCTS:
                    break
                assert time.monotonic() - start < 0.1, "the device did not follow within 100 ms"
                time.sleep(0.002)
            # CS7 and PARENB never reach the bridge: the kernel forces CS8 without parity on a pty
            # slave inside tcsetattr (docs/line-control.md); `serve` carries them.

            every = bytes(range(256))
            os.write(fd, every)
            assert device.read(256) == every
            device.write(every)
            got = bytearray()
            deadline = time.monotonic() + 10
            while len(got) < 256 and time.monotonic() < deadline:
                r, _, _ = select.select([fd], [], [], 1)
                if r:
                    got += os.read(fd, 4096)
            assert bytes(got) == every
        finally:
            os.close(fd)

        # A raw session on the same port, next to the bridge's RFC 2217 one: byte-exact.
        raw = g.connect(os.path.join(idir, "client.crt"), os.path.join(idir, "client.key"))
        g.wait_log("relaying on port toy", count=2)
        raw.sendall(every)
        assert device.read(256) == every
        device.write(every)
        assert recv_exactly(raw, 256) == every
    finally:
        p.terminate()
        assert p.wait(timeout=10) == 0


def test_pyserial_opens_the_bridge_link_at_7e1_every_time(gateway, device, idir, tmp_path):  # noqa: F811
    """Debian's glibc fails a tcsetattr that changed nothing while asking for a data size or
    parity the result lacks; a pty always lacks CS7 and PARENB, so without the bridge's park
    (line_follow.hpp) every open after the first failed with termios.error 22."""
    g = gateway()
    p, link = start_bridge(g, idir, tmp_path)
    try:
        for i in range(5):
            port = serial.Serial(link, 9600, bytesize=7, parity="E", timeout=5)  # raises on EINVAL
            try:
                start = time.monotonic()
                while device_termios(device)[2] != termios.B9600:  # the speed follows; 7E1 can't
                    assert time.monotonic() - start < 0.1, "the device did not follow within 100 ms"
                    time.sleep(0.002)
                port.write(b"open %d" % i)  # the software uses the port, as it would
                assert device.read(6) == b"open %d" % i
            finally:
                port.close()
    finally:
        p.terminate()
        assert p.wait(timeout=10) == 0


def test_a_tcsendbreak_on_a_pty_is_invisible_to_its_master_so_the_bridge_cannot_send_it():
    """The kernel fact behind docs/line-control.md's "no BREAK from the bridge": a pty has no
    break_ctl, so TCSBRK/TIOCSBRK on the slave succeed doing nothing, and packet mode with
    EXTPROC (the bridge's) reports nothing. If a kernel ever reports it, this fails: then carry it."""
    master, slave = os.openpty()
    try:
        fcntl.ioctl(master, termios.TIOCPKT, struct.pack("i", 1))
        a = termios.tcgetattr(slave)
        a[3] |= EXTPROC
        termios.tcsetattr(slave, termios.TCSANOW, a)
        assert os.read(master, 16)[0] & TIOCPKT_IOCTL  # the control: a tcsetattr is reported
        termios.tcsendbreak(slave, 0)
        fcntl.ioctl(slave, TIOCSBRK)
        fcntl.ioctl(slave, TIOCCBRK)
        assert select.select([master], [], [master], 0.3) == ([], [], [])
        termios.tcflush(slave, termios.TCIFLUSH)  # the control: a tcflush is reported
        assert os.read(master, 16)[0] & TIOCPKT_FLUSHREAD
    finally:
        os.close(master)
        os.close(slave)


def test_line_and_modem_state_requests_are_answered_and_a_pty_port_polls_nothing(gateway, device, idir):  # noqa: F811
    g = gateway()
    c = ComPortClient(g, idir)
    c.send([IAC, WILL, COM_PORT])
    assert c.reply(107) == bytes([0])  # the first NOTIFY-MODEMSTATE: a pty has no modem lines
    c.request(10, bytes([0xFF]))       # SET-LINESTATE-MASK 255 (IAC-escaped on the wire)
    assert c.reply(110) == bytes([0xFF])
    c.request(6, bytes([0]))           # NOTIFY-LINESTATE as a query: events are only sent as they happen
    assert c.reply(106) == bytes([0])
    c.request(11, bytes([0x30]))       # SET-MODEMSTATE-MASK DSR|CTS
    assert c.reply(111) == bytes([0x30])
    c.request(7, bytes([0]))           # NOTIFY-MODEMSTATE as a query
    assert c.reply(107) == bytes([0])
    c.request(1, (0).to_bytes(4, "big"))  # the session still works after them
    assert int.from_bytes(c.reply(101), "big") == 115200
    assert device.read_for(0.2) == b""  # none of it reached the tty
    # Sessions with non-zero masks, but a driver without modem lines or error counters: nothing
    # is polled (on a UART, tests/vm/scenarios/50-ttygated-line-control.sh and
    # 55-ttygated-line-events.sh show the polling and its end).
    assert "polling the modem lines" not in g.log()
    assert "error counters" not in g.log()


def test_serve_offers_a_unix_socket_0600_and_refuses_any_non_loopback_address(gateway, device, idir, tmp_path):  # noqa: F811,E501
    gateway()
    r = subprocess.run([CLIENT, "--identity-dir", idir, "serve", "toy", "--rfc2217", "0.0.0.0:0"], capture_output=True,
                       timeout=30)
    assert r.returncode == 1 and b"the local leg is unencrypted" in r.stderr, r.stderr
    path = str(tmp_path / "toy.rfc2217")
    log_path = str(tmp_path / "serve-unix.log")
    with open(log_path, "w") as log:
        p = subprocess.Popen([CLIENT, "--identity-dir", idir, "serve", "toy", "--rfc2217", path], stdout=log,
                             stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 10
        while "RFC 2217 on" not in open(log_path).read():
            assert time.monotonic() < deadline and p.poll() is None, open(log_path).read()
            time.sleep(0.01)
        assert os.stat(path).st_mode & 0o777 == 0o600
        s = socket.socket(socket.AF_UNIX)
        s.connect(path)
        s.settimeout(10)
        s.sendall(bytes([IAC, SB, COM_PORT, 1, 0, 0, 0, 0, IAC, SE]) + b"\xff\xffhi")  # a baud query, then data
        got = bytearray()
        while b"\xff\xfa\x2c\x65" not in got:
            chunk = s.recv(4096)
            assert chunk
            got += chunk
        assert device.read(3) == b"\xffhi"
        s.close()
    finally:
        p.terminate()
        assert p.wait(timeout=10) == 0
    assert not os.path.exists(path)
