# SPDX-License-Identifier: Apache-2.0
"""bench/run as someone runs it by hand on a fresh checkout (issue 9): without the build packages
it fails with one line and no traceback, it recovers from a build folder an interrupted configure
left half-made, and a run that could not measure ttygated fails however the peers did."""
import importlib.machinery
import importlib.util
import os
import shutil
import subprocess
import sys

from dbus_helpers import ROOT

BENCH_RUN = os.path.join(ROOT, "bench", "run")


def load_bench_run():
    loader = importlib.machinery.SourceFileLoader("bench_run", BENCH_RUN)
    spec = importlib.util.spec_from_loader("bench_run", loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def run_bench(build, env):
    return subprocess.run([sys.executable, BENCH_RUN, "--quick", "--build-dir", str(build)], capture_output=True,
                          text=True, timeout=120, env={**os.environ, **env})


def test_without_cmake_it_fails_with_one_line_and_no_traceback(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("openssl", "taskset"):
        os.symlink(shutil.which(tool), bin_dir / tool)
    r = run_bench(tmp_path / "build-bench", {"PATH": str(bin_dir)})
    assert r.returncode == 2
    assert "Traceback" not in r.stderr and r.stderr.count("\n") == 1, r.stderr
    assert "cmake is not installed" in r.stderr and "scripts/setup" in r.stderr


def test_a_failed_configure_is_one_line_and_leaves_no_half_configured_folder(tmp_path):
    build = tmp_path / "build-bench"
    # No pkg-config files to be found: what a machine without the -dev packages looks like.
    r = run_bench(build, {"PKG_CONFIG_LIBDIR": str(tmp_path / "nothing"), "PKG_CONFIG_PATH": ""})
    assert r.returncode == 2
    assert "Traceback" not in r.stderr and r.stderr.count("\n") == 1, r.stderr
    assert "cannot configure" in r.stderr and "scripts/setup" in r.stderr
    assert not (build / "CMakeCache.txt").exists()  # the next run configures afresh


def test_a_half_configured_build_folder_is_configured_again(tmp_path, monkeypatch):
    build = tmp_path / "build-bench"
    build.mkdir()
    (build / "CMakeCache.txt").write_text("# left by an interrupted configure\n")
    bench = load_bench_run()
    calls = []
    monkeypatch.setattr(bench.subprocess, "run", lambda cmd, **kw: calls.append(cmd) or
                        subprocess.CompletedProcess(cmd, 0, "", ""))
    bench.ensure_built(str(build))
    assert calls[0][:2] == ["cmake", "-S"] and not (build / "CMakeCache.txt").exists()
    assert calls[1][:2] == ["cmake", "--build"] and {"ttygated", "tlsbench", "ptydev"} <= set(calls[1])


def test_a_run_that_skipped_ttygated_fails():
    bench = load_bench_run()
    ok_peer = {"latency": [{"byte_exact": True}], "down": [{"byte_exact": True}], "up": [{"byte_exact": True}],
               "idle_100": [{"opened": 100}]}
    problems = bench.sanity({"ttygated": {"skipped": "ttygated is not built"}, "socat-plain": ok_peer},
                            {"socat-plain"})
    assert problems == ["ttygated: skipped: ttygated is not built"]
    assert bench.sanity({"stunnel": {"skipped": "stunnel is not installed"}, "socat-plain": ok_peer},
                        {"socat-plain"}) == []


def fake_openssl_root(root):
    """A root as `dpkg-deb -x` leaves one, holding the machine's own loader and OpenSSL."""
    lib = root / "usr" / "lib" / "x86_64-linux-gnu"
    lib.mkdir(parents=True)
    for name, real in (("ld-linux-x86-64.so.2", "/lib64/ld-linux-x86-64.so.2"),
                       ("libssl.so.3", "/lib/x86_64-linux-gnu/libssl.so.3"),
                       ("libcrypto.so.3", "/lib/x86_64-linux-gnu/libcrypto.so.3")):
        os.symlink(os.path.realpath(real), lib / name)
    (root / "usr" / "bin").mkdir()
    os.symlink(shutil.which("openssl"), root / "usr" / "bin" / "openssl")
    return lib


def test_an_openssl_root_runs_the_gateway_the_s_server_and_the_floor_with_its_libraries(tmp_path):
    from conftest import BUILD_DIR
    import json
    lib = fake_openssl_root(tmp_path / "root")
    loader = f"{lib}/ld-linux-x86-64.so.2 --library-path {lib}:/lib/x86_64-linux-gnu"
    r = subprocess.run([sys.executable, BENCH_RUN, "--quick", "--systems", "ttygated,openssl-s_server", "--only",
                        "handshake_full", "--no-docs", "--build-dir", BUILD_DIR, "--results", str(tmp_path / "out"),
                        "--openssl-root", str(tmp_path / "root")], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    doc = json.loads((tmp_path / "out" / "results.json").read_text())
    for name in ("ttygated", "openssl-s_server"):
        assert doc["systems"][name]["config"]["commands"][-1].startswith(loader), doc["systems"][name]["config"]
        assert doc["systems"][name]["handshake_full"][0]["per_s"] > 0
    assert doc["versions"]["openssl"].startswith("OpenSSL 3.")
    assert doc["crypto_floor"][0]["floor_ms"] > 0


def test_an_openssl_root_without_libssl_is_refused_in_one_line(tmp_path):
    lib = fake_openssl_root(tmp_path / "root")
    (lib / "libssl.so.3").unlink()
    r = subprocess.run([sys.executable, BENCH_RUN, "--quick", "--openssl-root", str(tmp_path / "root"),
                        "--build-dir", str(tmp_path / "build")], capture_output=True, text=True, timeout=60)
    assert r.returncode != 0
    assert "Traceback" not in r.stderr and r.stderr.count("\n") == 1, r.stderr
    assert "no ld-linux-x86-64.so.2 and libssl.so.3 under" in r.stderr
