# SPDX-License-Identifier: Apache-2.0
"""The client store under concurrent and careless writers, and bad input at the D-Bus door
(issue 9): offline edits are refused while the daemon runs (they would be undone by its next
write; daemon/store_lock.hpp), concurrent writers never lose an acknowledged client, a second
daemon on the same state directory is refused, AddClient takes exactly one certificate, huge
arguments are refused with a short escaped quote, and calls on vanished objects are NotFound."""
import os
import subprocess
import threading

import pytest

from conftest import TTYGATED, make_identity
from dbus_helpers import GATEWAY, SERVICE, TTYGATECTL, PrivateBus, bus, client_path_of, start_on_bus  # noqa: F401

CLIENT = "org.ttygate.Client1"
WRITERS = 20


def stored_names(gateway):
    lines = open(os.path.join(gateway.state, "clients")).read().splitlines()[1:]
    return {line.split(" ", 4)[4] for line in lines}


def run_all(commands, env=None):
    """Starts every command at once; returns their CompletedProcess-like results in order."""
    procs = [subprocess.Popen(c, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
             for c in commands]
    return [(p, *p.communicate(timeout=60)) for p in procs]


@pytest.fixture
def identities(tmp_path):
    return [make_identity(str(tmp_path), f"w{i}")[0] for i in range(WRITERS)]


def test_concurrent_offline_edits_without_a_daemon_all_land(gateway_factory, identities):
    g = gateway_factory()
    results = run_all([[TTYGATED, "--config", g.config, "--add-client", cert, "--name", f"w{i}", "--role", "control"]
                       for i, cert in enumerate(identities)])
    acknowledged = {f"w{i}" for i, (p, out, _) in enumerate(results) if p.returncode == 0 and "added" in out}
    assert len(acknowledged) == WRITERS, [err for _, _, err in results]
    assert stored_names(g) == acknowledged


def test_with_the_daemon_running_offline_edits_are_refused_and_dbus_edits_all_land(gateway_factory, bus, client,
                                                                                 identities):
    g = gateway_factory()
    g.add_client(client[0], name="laptop")
    start_on_bus(g, bus)
    half = WRITERS // 2
    commands = []
    for i, cert in enumerate(identities):
        if i < half:  # the offline tool, racing the daemon
            commands.append([TTYGATED, "--config", g.config, "--add-client", cert, "--name", f"w{i}", "--role",
                             "control"])
        else:  # the management API, racing each other
            commands.append([TTYGATECTL, "add", cert, "--name", f"w{i}", "--role", "monitor"])
    results = run_all(commands, env=bus.env)
    offline, online = results[:half], results[half:]
    for p, out, err in offline:
        assert p.returncode != 0 and "added" not in out
        assert "ttygated is running" in err and "ttygatectl add" in err, err
        assert err.count("\n") == 1, err  # one line
    acknowledged = {f"w{half + i}" for i, (p, _, _) in enumerate(online) if p.returncode == 0}
    assert len(acknowledged) == WRITERS - half, [err for _, _, err in online]
    assert stored_names(g) == acknowledged | {"laptop"}
    # Nothing acknowledged is undone by the daemon's own later writes or at shutdown.
    bus.busctl("set-property", SERVICE, client_path_of(bus, "laptop"), CLIENT, "Name", "s", "renamed")
    assert g.stop() == 0
    assert stored_names(g) == acknowledged | {"renamed"}
    assert not [n for n in os.listdir(g.state) if n.startswith(".clients.")]


def test_a_second_daemon_on_the_same_state_directory_is_refused(gateway_factory, bus, client):
    g = gateway_factory()
    g.add_client(client[0], name="laptop")
    start_on_bus(g, bus)
    second = subprocess.run([TTYGATED, "--config", g.config, "--bus", "none"], capture_output=True, text=True,
                            timeout=20)
    assert second.returncode != 0 and "another ttygated is running" in second.stderr, second.stderr
    assert g.proc.poll() is None


def test_stale_temp_files_are_removed_at_start_and_a_symlinked_store_is_refused(gateway_factory, client, tmp_path):
    g = gateway_factory()
    g.add_client(client[0], name="laptop")
    stale = os.path.join(g.state, ".clients.Zq81xk")
    open(stale, "w").write("a full copy of some older store\n")
    g.start(args=["--bus", "none"])
    assert not os.path.exists(stale)
    g.stop()
    store = os.path.join(g.state, "clients")
    moved = str(tmp_path / "clients-elsewhere")
    os.rename(store, moved)
    os.symlink(moved, store)
    r = g.cli("--list-clients", check=False)
    assert r.returncode != 0 and "is a symlink" in r.stderr and r.stderr.count("\n") == 1, r.stderr
    assert os.path.islink(store)


@pytest.fixture
def gateway(gateway_factory, bus, client):
    g = gateway_factory()
    g.add_client(client[0], name="laptop")
    return start_on_bus(g, bus)


def test_addclient_and_add_client_take_exactly_one_certificate(gateway, bus, tmp_path):
    a = open(make_identity(str(tmp_path), "a")[0]).read()
    b = open(make_identity(str(tmp_path), "b")[0]).read()
    before = open(os.path.join(gateway.state, "clients")).read()
    r = bus.busctl("--", "call", SERVICE, GATEWAY, SERVICE, "AddClient", "sss", a + b, "two", "control", check=False)
    assert r.returncode != 0 and "exactly one certificate" in r.stderr, r.stderr
    gateway.stop()
    bundle = tmp_path / "bundle.pem"
    bundle.write_text(a + b)
    r = gateway.cli("--add-client", str(bundle), "--name", "two", "--role", "control", check=False)
    assert r.returncode != 0 and "exactly one certificate" in r.stderr, r.stderr
    assert open(os.path.join(gateway.state, "clients")).read() == before


def test_a_huge_argument_is_refused_quickly_quoting_only_a_short_escaped_prefix(gateway, bus, tmp_path):
    huge = tmp_path / "huge.pem"
    huge.write_bytes(b"\x1b[2J" * (1 << 20))  # 4 MiB of terminal escapes
    r = bus.ctl("add", str(huge), "--name", "big", "--role", "control")
    assert r.returncode != 0
    assert "InvalidArgs" in r.stderr and "more than 65536" in r.stderr, r.stderr[:300]
    assert len(r.stderr) < 1000 and "\x1b" not in r.stderr and r.stderr.count("\n") == 1
    r = bus.busctl("call", SERVICE, GATEWAY, SERVICE, "ConfirmPairing", "s", "9" * 100000, check=False)
    assert r.returncode != 0 and len(r.stderr) < 1000


def test_calls_on_a_removed_client_are_not_found(gateway, bus):
    path = client_path_of(bus, "laptop")
    bus.busctl("call", SERVICE, path, CLIENT, "Remove")
    for args in (["call", SERVICE, path, CLIENT, "Remove"], ["get-property", SERVICE, path, CLIENT, "Name"],
                 ["set-property", SERVICE, path, CLIENT, "Name", "s", "x"]):
        r = bus.run(["busctl", "--system", "--verbose", *args])
        assert r.returncode != 0
    r = bus.run(["gdbus", "call", "--system", "--dest", SERVICE, "--object-path", path, "--method", CLIENT + ".Remove"])
    assert "org.ttygate.Error.NotFound" in r.stderr, r.stderr
    r = bus.run(["gdbus", "call", "--system", "--dest", SERVICE, "--object-path", GATEWAY + "/session/4242",
                 "--method", "org.ttygate.Session1.Disconnect"])
    assert "org.ttygate.Error.NotFound" in r.stderr, r.stderr
    assert path not in bus.busctl("tree", "--list", SERVICE).stdout


@pytest.mark.parametrize("make", ["dev_zero", "fifo", "header_bomb", "escape_bytes"])
def test_bad_config_files_fail_at_once_with_one_escaped_line(tmp_path, make):
    path = str(tmp_path / "ttygated.toml")
    if make == "dev_zero":
        path = "/dev/zero"
    elif make == "fifo":
        os.mkfifo(path)
    elif make == "header_bomb":
        open(path, "w").write("[" + "a." * 40000 + "a]\n")
    else:
        open(path, "w").write('[gateway\nname = "\x1b]0;pwned\x07"\n')
    r = subprocess.run([TTYGATED, "--config", path, "--check"], capture_output=True, text=True, timeout=10)
    assert r.returncode == 1, (r.returncode, r.stderr[:300])
    assert r.stderr.count("\n") == 1 and len(r.stderr) < 1000, r.stderr[:300]
    assert all(0x20 <= ord(c) < 0x7f for c in r.stderr.rstrip("\n")), r.stderr
