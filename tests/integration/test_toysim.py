# SPDX-License-Identifier: Apache-2.0
"""toysim, the simulated serial device the demo and the gateway tests stand on.

Each test starts the built binary on a fresh link and talks to the device from the gateway's
side: the link opened as a raw tty, exactly as ttygated opens a serial port.
"""
import os
import re
import select
import signal
import subprocess
import time
import termios
import tty

import pytest

BUILD_DIR = os.environ.get("TTYGATE_BUILD_DIR", os.path.join(os.path.dirname(__file__), "../../build"))
TOYSIM = os.path.join(BUILD_DIR, "tools", "toysim")
SENSOR_LINE = re.compile(rb"^S (\d+) temp=(\d+\.\d) light=(\d+)$")


class Device:
    def __init__(self, link, *args):
        self.link = str(link)
        self.proc = subprocess.Popen([TOYSIM, "--link", self.link, *args],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        ready, _, _ = select.select([self.proc.stdout], [], [], 5)
        assert ready, "toysim printed no start-up line"
        self.banner = self.proc.stdout.readline().decode()
        self.fd = None

    def open(self):
        self.fd = os.open(self.link, os.O_RDWR | os.O_NOCTTY)
        tty.setraw(self.fd)  # TCSAFLUSH: sensor lines queued before we came are dropped
        return self.fd

    def close(self):
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def read_exactly(self, count, timeout=5.0):
        data = b""
        deadline = time.monotonic() + timeout
        while len(data) < count:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([self.fd], [], [], max(left, 0))
            if not ready:
                break
            data += os.read(self.fd, count - len(data))
        return data

    def read_line(self, timeout=5.0):
        line = b""
        while not line.endswith(b"\n"):
            byte = self.read_exactly(1, timeout)
            if not byte:
                break
            line += byte
        return line

    def ask(self, command):
        """Sends one command and returns the first reply that is not a sensor line."""
        os.write(self.fd, command)
        while True:
            line = self.read_line()
            if not SENSOR_LINE.match(line.rstrip(b"\n")):
                return line

    def stop(self):
        self.close()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=5)


@pytest.fixture
def start(tmp_path):
    devices = []

    def _start(*args):
        device = Device(tmp_path / "toy", *args)
        devices.append(device)
        return device

    yield _start
    for device in devices:
        if device.proc.poll() is None:
            device.proc.kill()
        device.proc.wait()
        device.close()


def test_start_up_line_names_the_link_and_the_pty_it_points_at(start):
    device = start("--echo")
    match = re.fullmatch(r"toysim: device at (\S+) \((/dev/pts/\d+)\)\n", device.banner)
    assert match, device.banner
    assert match.group(1) == device.link
    assert os.readlink(device.link) == match.group(2)


def test_device_is_raw_before_the_gateway_configures_it(start):
    device = start("--echo")
    fd = os.open(device.link, os.O_RDWR | os.O_NOCTTY)
    try:
        iflag, oflag, _, lflag, _, _, _ = termios.tcgetattr(fd)
    finally:
        os.close(fd)
    assert lflag & (termios.ICANON | termios.ECHO | termios.ISIG) == 0
    assert iflag & (termios.ICRNL | termios.IXON | termios.ISTRIP) == 0
    assert oflag & termios.OPOST == 0


def test_echo_mode_returns_every_byte_value_unchanged(start):
    device = start("--echo")
    device.open()
    payload = bytes(range(256)) + bytes(reversed(range(256))) + b"\r\n\x00\x11\x13\x03\x04\x1a"
    os.write(device.fd, payload)
    assert device.read_exactly(len(payload)) == payload


def test_echo_mode_passes_a_large_burst_without_loss(start):
    device = start("--echo")
    device.open()
    payload = bytes(range(256)) * 256  # 64 KiB: far more than the pty buffers hold at once
    received = b""
    sent = 0
    deadline = time.monotonic() + 10
    while len(received) < len(payload) and time.monotonic() < deadline:
        want_write = [device.fd] if sent < len(payload) else []
        readable, writable, _ = select.select([device.fd], want_write, [], 1)
        if writable:
            sent += os.write(device.fd, payload[sent:sent + 1024])
        if readable:
            received += os.read(device.fd, 65536)
    assert received == payload


def test_echo_mode_sends_no_sensor_lines(start):
    device = start("--echo", "--interval-ms", "20")
    device.open()
    assert device.read_exactly(1, timeout=0.3) == b""


def test_toy_mode_answers_an_actuator_command_and_a_query(start):
    device = start()
    device.open()
    assert device.ask(b"A led on\n") == b"OK led 255\n"
    assert device.ask(b"A motor 42\n") == b"OK motor 42\n"
    assert device.ask(b"Q led\n") == b"V led 255\n"
    assert device.ask(b"Q motor\n") == b"V motor 42\n"
    assert device.ask(b"A led off\r\n") == b"OK led 0\n"
    assert device.ask(b"Q led\n") == b"V led 0\n"


def test_toy_mode_answers_question_mark_with_one_help_line(start):
    device = start()
    device.open()
    reply = device.ask(b"?\n")
    assert reply.startswith(b"HELP ") and reply.count(b"\n") == 1


@pytest.mark.parametrize("junk", [
    b"hello\n",
    b"A\n",
    b"A led\n",
    b"A led 256\n",
    b"A led -1\n",
    b"A led dim\n",
    b"A toaster on\n",
    b"Q toaster\n",
    b"Q\n",
    b"? extra\n",
    b"\xff\xfe\x00\n",
    b"A led " + b"1" * 200 + b"\n",
])
def test_toy_mode_rejects_junk_with_err_and_keeps_state(start, junk):
    device = start()
    device.open()
    assert device.ask(b"A led 7\n") == b"OK led 7\n"
    assert device.ask(junk).startswith(b"ERR ")
    assert device.ask(b"Q led\n") == b"V led 7\n"


def test_toy_mode_emits_numbered_sensor_lines_at_the_interval(start):
    device = start("--interval-ms", "100")
    device.open()
    first = device.read_line()
    began = time.monotonic()
    lines = [device.read_line() for _ in range(10)]
    elapsed = time.monotonic() - began
    seqs = [int(SENSOR_LINE.match(line.rstrip(b"\n")).group(1)) for line in [first] + lines]
    assert seqs == list(range(seqs[0], seqs[0] + 11))
    assert 0.8 < elapsed < 2.0, f"10 lines at 100 ms took {elapsed:.3f} s"


def test_same_seed_gives_the_same_sensor_values(start):
    def first_readings(seed):
        device = start("--interval-ms", "10", "--seed", seed)
        # Read before any tcflush so the sequence starts at 0.
        fd = os.open(device.link, os.O_RDWR | os.O_NOCTTY)
        device.fd = fd
        lines = [device.read_line() for _ in range(5)]
        device.stop()
        return lines

    a, b, c = first_readings("7"), first_readings("7"), first_readings("8")
    assert all(SENSOR_LINE.match(line.rstrip(b"\n")) for line in a)
    assert a == b
    assert a != c


def test_device_survives_the_gateway_closing_and_reopening_it(start):
    device = start()
    device.open()
    assert device.ask(b"A buzzer on\n") == b"OK buzzer 255\n"
    device.close()
    time.sleep(0.2)
    assert device.proc.poll() is None
    device.open()
    assert device.ask(b"Q buzzer\n") == b"V buzzer 255\n"


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_device_idles_while_nobody_has_it_open(start):
    device = start("--interval-ms", "10")
    device.open()
    device.close()
    before = cpu_seconds(device.proc.pid)
    time.sleep(1.0)
    assert device.proc.poll() is None
    assert cpu_seconds(device.proc.pid) - before < 0.3


def test_sigterm_removes_the_link_and_exits_zero(start):
    device = start()
    assert os.path.islink(device.link)
    assert device.stop() == 0
    assert not os.path.lexists(device.link)


def test_sigint_removes_the_link_and_exits_zero(start):
    device = start("--echo")
    device.proc.send_signal(signal.SIGINT)
    assert device.proc.wait(timeout=5) == 0
    assert not os.path.lexists(device.link)


def test_a_stale_link_is_replaced(start, tmp_path):
    os.symlink("/nonexistent", tmp_path / "toy")
    device = start("--echo")
    assert os.readlink(device.link).startswith("/dev/pts/")


def test_a_file_at_the_link_path_is_refused_and_left_alone(tmp_path):
    path = tmp_path / "toy"
    path.write_text("someone's notes\n")
    proc = subprocess.run([TOYSIM, "--link", str(path), "--echo"], capture_output=True, text=True, timeout=5)
    assert proc.returncode == 1
    assert proc.stderr == f"toysim: Failed to publish the link: {path} exists and is not a symlink: File exists\n"
    assert path.read_text() == "someone's notes\n"
    assert os.listdir(tmp_path) == ["toy"]


def test_bad_arguments_exit_with_usage(tmp_path):
    for args in ([], ["--link", str(tmp_path / "x"), "--interval-ms", "0"], ["--bogus"]):
        proc = subprocess.run([TOYSIM, *args], capture_output=True, timeout=5)
        assert proc.returncode == 2
        assert b"usage: toysim" in proc.stderr
    assert not os.path.lexists(tmp_path / "x")
