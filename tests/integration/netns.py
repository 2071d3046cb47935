# SPDX-License-Identifier: Apache-2.0
"""A private network namespace for one test: the test process (its main thread, so every
subprocess it starts) enters a fresh namespace made with unshare(CLONE_NEWNET), and returns to
the one it came from afterwards. Nothing the test adds (veth pairs, addresses) is visible outside;
the namespace disappears with its last process. Needs root (CAP_SYS_ADMIN): skips otherwise.
"""
import contextlib
import ctypes
import os
import subprocess

import pytest

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def ip(*args, check=True):
    r = subprocess.run(["ip", *args], capture_output=True, text=True)
    if check:
        assert r.returncode == 0, f"ip {' '.join(args)}: {r.stderr}"
    return r


@contextlib.contextmanager
def private_netns():
    if os.geteuid() != 0:
        pytest.skip("network namespaces need root (unshare(CLONE_NEWNET))")
    original = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    try:
        if _libc.unshare(CLONE_NEWNET) != 0:
            pytest.skip("unshare(CLONE_NEWNET) failed: " + os.strerror(ctypes.get_errno()))
        try:
            ip("link", "set", "lo", "up")
            yield
        finally:
            if _libc.setns(original, CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "setns back to the original network namespace")
    finally:
        os.close(original)


def veth(a, b):
    """A veth pair, both ends up (this kernel has no dummy interfaces)."""
    ip("link", "add", a, "type", "veth", "peer", "name", b)
    ip("link", "set", a, "up")
    ip("link", "set", b, "up")


def listening(port):
    """The addresses with a TCP socket listening on `port`, as the kernel reports them (ss)."""
    out = subprocess.run(["ss", "-Hltn", f"sport = :{port}"], capture_output=True, text=True, check=True).stdout
    found = set()
    for line in out.splitlines():
        fields = line.split()
        if len(fields) >= 4:
            found.add(fields[3])
    return found
