# SPDX-License-Identifier: Apache-2.0
"""The systemd integration in units/: the service, sysusers.d and tmpfiles.d files.

systemd is not PID 1 on the build machine, so everything is checked offline: systemd-analyze
verifies and scores the service, systemd-sysusers and systemd-tmpfiles apply their files to a
scratch root directory.
"""
import os
import re
import shutil
import stat
import subprocess

import pytest

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
UNITS = os.path.join(ROOT, "units")
BUILD_DIR = os.environ.get("TTYGATE_BUILD_DIR", os.path.join(ROOT, "build"))
TTYGATED = os.path.join(BUILD_DIR, "tools", "ttygated")
MAX_EXPOSURE = 1.3


def tool(name):
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed (Debian package systemd)")
    return path


def read_service():
    with open(os.path.join(UNITS, "ttygated.service")) as f:
        return f.read()


def directives(text):
    """Key → list of values, in order; comments and section headers skipped."""
    found = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line[0] in "#;[":
            continue
        key, _, value = line.partition("=")
        found.setdefault(key, []).append(value)
    return found


@pytest.fixture
def service(tmp_path):
    """The unit as installed, but with ExecStart= on the built daemon, which verify checks exists."""
    assert os.access(TTYGATED, os.X_OK), f"build ttygated first: {TTYGATED} is missing"
    text = read_service()
    assert "ExecStart=/usr/sbin/ttygated " in text
    path = tmp_path / "ttygated.service"
    path.write_text(text.replace("ExecStart=/usr/sbin/ttygated ", f"ExecStart={TTYGATED} "))
    return path


def test_service_passes_systemd_analyze_verify_without_warnings(service):
    proc = subprocess.run([tool("systemd-analyze"), "verify", "--man=no", str(service)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    # verify only warns (exit 0) about unknown keys and bad values: those count as failures here.
    assert proc.stderr.strip() == "", proc.stderr


def test_service_hardening_exposure_is_at_most_1_3(service):
    proc = subprocess.run([tool("systemd-analyze"), "security", "--offline=true", str(service)],
                          capture_output=True, text=True, timeout=60)
    match = re.search(r"Overall exposure level for ttygated\.service: (\d+\.\d+)", proc.stdout)
    assert match, proc.stdout + proc.stderr
    exposure = float(match.group(1))
    print(f"systemd-analyze security exposure: {exposure}")
    assert exposure <= MAX_EXPOSURE


def test_service_runs_the_daemon_unprivileged_with_a_private_state_directory():
    d = directives(read_service())
    assert d["ExecStart"] == ["/usr/sbin/ttygated --config /etc/ttygate/ttygated.toml"]
    assert d["User"] == ["ttygate"] and d["Group"] == ["ttygate"]
    assert d["StateDirectory"] == ["ttygate"] and d["StateDirectoryMode"] == ["0700"]
    assert d["CapabilityBoundingSet"] == [""]
    assert d["NoNewPrivileges"] == ["yes"] and d["ProtectSystem"] == ["strict"]


def test_service_may_open_serial_ports_and_no_other_device():
    d = directives(read_service())
    assert d["DevicePolicy"] == ["closed"]
    assert sorted(d["DeviceAllow"]) == sorted(
        ["char-ttyUSB rw", "char-ttyACM rw", "char-ttyAMA rw", "char-ttyS rw"])
    # dialout comes from the account's membership (sysusers.d, below), not from the unit.
    assert "SupplementaryGroups" not in d
    # PrivateDevices= or a user namespace would hide the ports or their group.
    assert d.get("PrivateDevices", ["no"]) == ["no"]
    assert d["PrivateUsers"] == ["no"]


def default_allow_from():
    """The daemon's default allow_from, as daemon/config.cpp spells it."""
    with open(os.path.join(ROOT, "daemon", "config.cpp")) as f:
        source = f.read()
    match = re.search(r"static const char\* const ranges\[\] = \{(.*?)\};", source, re.S)
    assert match, "daemon/config.cpp: the default allow_from ranges moved"
    return re.findall(r'"([^"]+)"', match.group(1))


def test_service_admits_at_the_kernel_exactly_the_default_allow_from_ranges():
    d = directives(read_service())
    assert d["IPAddressDeny"] == ["any"]
    allowed = [r for line in d["IPAddressAllow"] for r in line.split()]
    assert len(default_allow_from()) == 8
    assert sorted(allowed) == sorted(default_allow_from())


def test_service_may_open_only_internet_and_local_sockets():
    d = directives(read_service())
    families = d["RestrictAddressFamilies"][0].split()
    assert sorted(families) == ["AF_INET", "AF_INET6", "AF_UNIX"]


@pytest.fixture
def scratch_root(tmp_path):
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "group").write_text("dialout:x:20:\n")
    return tmp_path


def entries(path):
    with open(path) as f:
        return {line.split(":")[0]: line.rstrip("\n").split(":") for line in f}


def test_sysusers_creates_a_system_user_in_its_own_group_and_in_dialout(scratch_root):
    subprocess.run([tool("systemd-sysusers"), f"--root={scratch_root}",
                    os.path.abspath(os.path.join(UNITS, "ttygate.sysusers"))],
                   check=True, capture_output=True, timeout=60)
    users = entries(scratch_root / "etc" / "passwd")
    groups = entries(scratch_root / "etc" / "group")
    name, _, uid, gid, _, home, shell = users["ttygate"]
    assert int(uid) < 1000, "a system user"
    assert groups["ttygate"][2] == gid
    assert "ttygate" in groups["dialout"][3].split(",")
    assert home == "/var/lib/ttygate" and shell.endswith("nologin")


def test_tmpfiles_creates_a_state_directory_only_ttygate_can_enter(scratch_root):
    if os.geteuid() != 0:
        pytest.skip("changing a directory's owner needs root")
    subprocess.run([tool("systemd-sysusers"), f"--root={scratch_root}",
                    os.path.abspath(os.path.join(UNITS, "ttygate.sysusers"))],
                   check=True, capture_output=True, timeout=60)
    subprocess.run([tool("systemd-tmpfiles"), "--create", f"--root={scratch_root}",
                    os.path.abspath(os.path.join(UNITS, "ttygate.tmpfiles"))],
                   check=True, capture_output=True, timeout=60)
    state = os.stat(scratch_root / "var" / "lib" / "ttygate")
    _, _, uid, gid, *_ = entries(scratch_root / "etc" / "passwd")["ttygate"]
    assert stat.S_ISDIR(state.st_mode)
    assert stat.S_IMODE(state.st_mode) == 0o700
    assert (state.st_uid, state.st_gid) == (int(uid), int(gid))
