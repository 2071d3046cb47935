# SPDX-License-Identifier: Apache-2.0
"""DNS-SD discovery against real peers: Debian's avahi-daemon on a private system bus (with its
shipped bus policy and ttygate's) in a private network namespace with a veth pair, avahi-browse
and avahi-publish (avahi-utils), and ttygate-client discover / pair --serial."""
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time

import pytest

from conftest import BUILD_DIR
from dbus_helpers import BUS_CONFIG, POLICY, TTYGATECTL, pairing_config
from netns import ip, private_netns

CLIENT = os.path.join(BUILD_DIR, "tools", "ttygate-client")
AVAHI_POLICY = "/usr/share/dbus-1/system.d/avahi-dbus.conf"
GATEWAY_IP = "10.98.0.1"

pytestmark = pytest.mark.skipif(not shutil.which("avahi-daemon") or not shutil.which("avahi-browse"),
                                reason="needs avahi-daemon and avahi-utils (scripts/setup installs them)")


class Avahi:
    """avahi-daemon in its own mount namespace (a private /run/avahi-daemon for its pid file and
    socket), on the given bus, for the interfaces a0 and a1."""

    def __init__(self, directory, env):
        self.dir, self.env = directory, env
        self.config = os.path.join(directory, "avahi.conf")
        with open(self.config, "w") as f:
            f.write("[server]\nuse-ipv4=yes\nuse-ipv6=no\nallow-interfaces=a0,a1\nenable-dbus=yes\n"
                    "[publish]\npublish-workstation=no\npublish-hinfo=no\n")
        self.proc = None
        self.start()

    def start(self):
        self.log_path = os.path.join(self.dir, f"avahi-{time.monotonic_ns()}.log")
        os.makedirs("/run/avahi-daemon", exist_ok=True)
        script = ("mount -t tmpfs tmpfs /run/avahi-daemon && exec avahi-daemon --no-drop-root --no-chroot "
                  f"--no-rlimits -f {self.config}")
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(["unshare", "-m", "sh", "-c", script], stdout=self.log,
                                     stderr=subprocess.STDOUT, env=self.env)
        deadline = time.monotonic() + 10
        while "Server startup complete" not in open(self.log_path).read():
            assert self.proc.poll() is None, "avahi-daemon exited:\n" + open(self.log_path).read()
            assert time.monotonic() < deadline, "avahi-daemon did not start:\n" + open(self.log_path).read()
            time.sleep(0.05)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=10)
        self.log.close()


@pytest.fixture
def lan_bus():
    """The namespace and its bus (Debian's system.conf defaults plus ttygate's and Avahi's
    policies), no Avahi yet. Yields the environment that reaches the bus and a directory."""
    with private_netns():
        ip("link", "add", "a0", "type", "veth", "peer", "name", "a1")
        ip("link", "set", "a0", "up")
        ip("link", "set", "a1", "up")
        ip("addr", "add", GATEWAY_IP + "/24", "dev", "a0")
        ip("addr", "add", "10.98.0.2/24", "dev", "a1")
        directory = tempfile.mkdtemp(prefix="ttygate-lan-")
        address = "unix:path=" + os.path.join(directory, "system_bus_socket")
        config = os.path.join(directory, "bus.conf")
        with open(BUS_CONFIG) as f, open(config, "w") as out:
            out.write(f.read().replace("@LISTEN@", address)
                      .replace("<include>@POLICY@</include>",
                               f"<include>{POLICY}</include><include>{AVAHI_POLICY}</include>"))
        bus = subprocess.Popen(["dbus-daemon", "--config-file=" + config, "--nofork", "--print-address"],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        assert bus.stdout.readline(), "dbus-daemon did not start"
        try:
            yield {**os.environ, "DBUS_SYSTEM_BUS_ADDRESS": address}, directory
        finally:
            bus.terminate()
            bus.wait(timeout=10)
            shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def lan(lan_bus):
    """lan_bus with a running avahi-daemon: yields the bus environment and the Avahi."""
    env, directory = lan_bus
    avahi = Avahi(directory, env)
    try:
        yield env, avahi
    finally:
        avahi.stop()


def discovery_gateway(gateway_factory, serial="SN-TEST-1", name="test-gateway", **kw):
    g = gateway_factory(**kw)
    with open(g.config) as f:
        text = f.read()
    text = text.replace(f'listen = ["127.0.0.1:{g.port}"]',
                        f'listen = ["127.0.0.1:{g.port}"]\ninterfaces = ["a0"]\nlisten_port = {g.port}\n'
                        f'serial = "{serial}"')
    text = text.replace('name = "test-gateway"', f'name = "{name}"')
    with open(g.config, "w") as f:
        f.write(text)
    return g


def fingerprint_prefix(g):
    return g.cli("--fingerprint").stdout.strip().replace("-", "")[:16]


def browse(env):
    """avahi-browse -rpt: one dict per resolved service (name, interface, address, port, txt)."""
    try:
        out = subprocess.run(["avahi-browse", "-rpt", "_ttygate._tcp"], capture_output=True, text=True, env=env,
                             timeout=8).stdout
    except subprocess.TimeoutExpired as e:
        # -t ends once every resolver has answered; one started for a name that was renamed
        # meanwhile (a collision) may never answer. What it printed so far is still true.
        out = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
    found = []
    for line in out.splitlines():
        fields = line.split(";")
        if fields[0] != "=" or len(fields) < 10:
            continue
        name = re.sub(r"\\(\d{3})", lambda m: chr(int(m[1])), fields[3])
        txt = dict(t.split("=", 1) for t in re.findall(r'"([^"]*)"', fields[9]) if "=" in t)
        found.append({"name": name, "interface": fields[1], "address": fields[7], "port": int(fields[8]), "txt": txt})
    return found


def wait_browse(env, predicate, timeout=15.0):
    deadline = time.monotonic() + timeout
    while True:
        seen = browse(env)
        if predicate(seen):
            return seen
        assert time.monotonic() < deadline, f"avahi-browse never saw it; last: {seen}"


def client(env, tmp_path, *args):
    return subprocess.run([CLIENT, "--identity-dir", str(tmp_path / "client"), *args], capture_output=True,
                          text=True, env=env, timeout=30)


def test_a_gateway_is_published_with_its_txt_fields_and_found_by_serial(lan, gateway_factory, device, tmp_path):
    env, avahi = lan
    g = discovery_gateway(gateway_factory)
    fp = fingerprint_prefix(g)
    g.start(env=env)

    seen = wait_browse(env, lambda s: any(x["name"] == "test-gateway toy" for x in s))
    ours = [x for x in seen if x["name"] == "test-gateway toy"]
    assert {x["interface"] for x in ours} == {"a0"}, "published only where the port listens"
    assert ours[0]["address"] == GATEWAY_IP and ours[0]["port"] == g.port
    assert ours[0]["txt"] == {"serial": "SN-TEST-1", "port": "toy", "fp": fp, "v": "1"}
    g.wait_log('published as "test-gateway toy"')

    r = client(env, tmp_path, "--timeout", "10", "discover", "--serial", "SN-TEST-1", "--json")
    assert r.returncode == 0, r.stderr
    adverts = json.loads(r.stdout)
    assert adverts == [{"name": "test-gateway toy", "address": GATEWAY_IP, "port": g.port, "serial": "SN-TEST-1",
                        "port_name": "toy", "fingerprint_prefix": fp, "version": "1"}]
    table = client(env, tmp_path, "discover").stdout
    assert re.search(rf"test-gateway toy\"?\s+{GATEWAY_IP}:{g.port}\s+SN-TEST-1\s+toy\s+{fp}", table), table
    r = client(env, tmp_path, "--timeout", "5", "discover", "--serial", "NO-SUCH")
    assert r.returncode == 1 and "no gateway announces serial" in r.stderr

    # Restarted Avahi forgot every group: the gateway publishes again.
    avahi.stop()
    g.wait_log("Avahi left the bus")
    avahi.start()
    g.wait_log("Avahi appeared on the bus")
    wait_browse(env, lambda s: any(x["name"] == "test-gateway toy" and x["txt"].get("fp") == fp for x in s))
    assert g.proc.poll() is None

    # Gateway1.Listeners shows where the port listens now, and follows a new address.
    def listeners():
        return subprocess.run(["busctl", "--system", "get-property", "org.ttygate.Gateway1", "/org/ttygate/Gateway1",
                               "org.ttygate.Gateway1", "Listeners"], capture_output=True, text=True, env=env,
                              check=True).stdout
    assert f'"127.0.0.1:{g.port}"' in listeners() and f'"{GATEWAY_IP}:{g.port}"' in listeners()
    ip("addr", "add", "10.98.1.1/24", "dev", "a0")
    deadline = time.monotonic() + 5
    while f'"10.98.1.1:{g.port}"' not in listeners():
        assert time.monotonic() < deadline, listeners()
        time.sleep(0.05)


def test_two_gateways_with_the_same_name_are_both_visible_under_distinct_names(lan, gateway_factory, device,
                                                                             tmp_path):
    env, _ = lan
    first = discovery_gateway(gateway_factory, serial="SN-A", name="twin")
    first.start(env=env)
    wait_browse(env, lambda s: any(x["txt"].get("serial") == "SN-A" for x in s))
    other_device = type(device)(tmp_path / "tty-two")
    try:
        second_dir = tmp_path / "second"
        second_dir.mkdir()
        from conftest import Gateway
        second = Gateway(second_dir, other_device)
        with open(second.config) as f:
            text = f.read()
        with open(second.config, "w") as f:
            f.write(text.replace(f'listen = ["127.0.0.1:{second.port}"]',
                                 f'listen = ["127.0.0.1:{second.port}"]\ninterfaces = ["a0"]\n'
                                 f'listen_port = {second.port}\nserial = "SN-B"').replace('name = "test-gateway"',
                                                                                          'name = "twin"'))
        second.start(env=env)
        try:
            try:
                seen = wait_browse(env, lambda s: {x["txt"].get("serial") for x in s} >= {"SN-A", "SN-B"})
            except AssertionError as e:
                raise AssertionError(f"{e}\nsecond gateway:\n{second.log()}") from None
            names = {x["txt"]["serial"]: x["name"] for x in seen}
            assert names["SN-A"] == "twin toy"
            assert names["SN-B"] != "twin toy" and names["SN-B"].startswith("twin toy")
            assert {x["port"] for x in seen} == {first.port, second.port}
            second.wait_log("is taken on the network; publishing as")
        finally:
            second.stop()
    finally:
        other_device.close()


def test_pair_by_serial_refuses_a_gateway_whose_key_does_not_match_its_advert(lan, gateway_factory, device,
                                                                               tmp_path):
    """The TXT record is only a hint: an advert (here a forged one, by avahi-publish) pointing at a
    gateway whose key does not start with the advertised prefix is refused, nothing paired."""
    env, _ = lan
    g = discovery_gateway(gateway_factory)
    g.start(env=env)
    forged = subprocess.Popen(["avahi-publish", "-s", "forged", "_ttygate._tcp", str(g.port), "serial=FORGED",
                               "port=toy", "fp=AAAAAAAAAAAAAAAA", "v=1"], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        wait_browse(env, lambda s: any(x["txt"].get("serial") == "FORGED" for x in s))
        r = client(env, tmp_path, "--timeout", "10", "pair", "--serial", "FORGED")
        assert r.returncode == 3, r.stderr
        assert "does not start with its advertised AAAAAAAAAAAAAAAA; nothing was paired" in r.stderr
        assert client(env, tmp_path, "list").stdout == ""
    finally:
        forged.terminate()
        forged.wait()


def test_pair_by_serial_finds_the_gateway_and_pins_it(lan, gateway_factory, device, tmp_path):
    env, _ = lan
    g = discovery_gateway(gateway_factory, extra=pairing_config("auto", guard_ms=500))
    g.start(env=env)
    wait_browse(env, lambda s: any(x["txt"].get("serial") == "SN-TEST-1" for x in s))
    r = subprocess.run([TTYGATECTL, "pair", "--no-wait"], capture_output=True, text=True, env=env, timeout=20)
    assert r.returncode == 0, r.stderr
    r = client(env, tmp_path, "--timeout", "10", "pair", "--serial", "SN-TEST-1")
    assert r.returncode == 0, r.stderr
    assert f"Paired with test-gateway at {GATEWAY_IP}:{g.port} as control" in r.stdout
    full = g.cli("--fingerprint").stdout.strip()
    assert client(env, tmp_path, "list").stdout.split() == ["test-gateway", f"{GATEWAY_IP}:{g.port}", full]


def test_without_avahi_the_gateway_warns_once_relays_and_publishes_when_avahi_appears(lan_bus, gateway_factory,
                                                                                     device):
    env, directory = lan_bus
    g = discovery_gateway(gateway_factory)
    g.start(env=env)
    g.wait_log("DNS-SD: Avahi is not on the system bus")
    assert g.proc.poll() is None
    avahi = Avahi(directory, env)
    try:
        g.wait_log("Avahi appeared on the bus")
        wait_browse(env, lambda s: any(x["txt"].get("serial") == "SN-TEST-1" for x in s))
        assert g.log().count("Avahi is not on the system bus") == 1
    finally:
        avahi.stop()
