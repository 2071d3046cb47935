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
