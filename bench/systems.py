# SPDX-License-Identifier: Apache-2.0
"""The systems bench/run measures, each configured for the same security, and their devices.

A system starts its own pty echo device (bench/ptydev), its server processes pinned to the
gateway core, and knows its root pids (CPU and memory are taken over their process trees).
`unavailable()` says why a system cannot run here (a tool not installed, ttygated not working
yet); bench/run then skips it with that line.
"""
import os
import platform
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NAMES = ["socat-plain", "socat-tls", "stunnel", "ser2net", "ser2net-nodelay", "ttygated",
         "openssl-s_server"]
SUITE, GROUP = "TLS_AES_128_GCM_SHA256", "P-256"


@dataclass
class Env:
    build: Path
    bench: Path
    work: Path
    logs: Path
    server_cpu: list
    client_cpu: list
    # --openssl-root: the OpenSSL servers (ttygated, s_server) run through that root's loader.
    loader: tuple = ()
    openssl: str = "openssl"


def loader_of(root):
    """(ld.so, --library-path, DIRS) for the libraries under root, the machine's own after them, and
    that root's openssl tool: one build measured against the OpenSSL a gateway image ships (e.g. a
    later distribution's packages unpacked with `dpkg-deb -x`)."""
    for lib in (Path(root) / "usr/lib/x86_64-linux-gnu", Path(root) / "lib/x86_64-linux-gnu"):
        if (lib / "ld-linux-x86-64.so.2").exists() and (lib / "libssl.so.3").exists():
            tool = lib.parent.parent / "bin" / "openssl"
            if not tool.exists():
                raise SystemExit(f"bench: no openssl tool at {tool}")
            return (str(lib / "ld-linux-x86-64.so.2"), "--library-path", f"{lib}:/lib/x86_64-linux-gnu"), str(tool)
    raise SystemExit(f"bench: no ld-linux-x86-64.so.2 and libssl.so.3 under {root}/[usr/]lib/x86_64-linux-gnu")


def free_port():
    with __import__("socket").socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listening(port):
    want = f"{port:04X}"
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            for line in Path(table).read_text().splitlines()[1:]:
                f = line.split()
                if f[1].split(":")[-1] == want and f[3] == "0A":
                    return True
        except OSError:
            pass
    return False


def tree(roots):
    children = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                stat = (d / "stat").read_text()
                ppid = int(stat[stat.rindex(")") + 2:].split()[1])
                children.setdefault(ppid, []).append(int(d.name))
            except (OSError, ValueError):
                pass
    seen, todo = set(), list(roots)
    while todo:
        p = todo.pop()
        if p not in seen:
            seen.add(p)
            todo += children.get(p, [])
    return seen


class Device:
    """bench/ptydev: a pty whose slave is published at a symlink, echoing by default."""

    def __init__(self, env, name):
        self.link = str(env.work / f"{name}.tty")
        self.ctl = str(env.work / f"{name}.ctl")
        self.cmd = env.client_cpu + [str(env.bench / "ptydev"), "--link", self.link, "--ctl", self.ctl]
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(self.cmd, stdout=subprocess.PIPE, text=True)
        if self.proc.stdout.readline().strip() != "ready":
            raise RuntimeError("ptydev did not start")

    def stop(self):
        if self.proc:
            self.proc.kill()
            self.proc.wait()


class System:
    tls = True
    fanout = False

    def __init__(self, env, name):
        self.env, self.name = env, name
        self.w = env.work
        self.device = Device(env, name)
        self.port = free_port()
        self.server_cert = f"{self.w}/server.crt"
        self.procs, self.cmds, self.files = [], [], {}
        self.base = 0

    def unavailable(self):
        return None

    def tool(self, name):
        return None if shutil.which(name) else f"{name} is not installed (scripts/setup installs it)"

    def launch(self, cmd, **kw):
        self.cmds.append(" ".join(cmd))
        log = open(self.env.logs / f"{self.name}.log", "a")
        p = subprocess.Popen(self.env.server_cpu + cmd, stdin=subprocess.PIPE, stdout=log,
                             stderr=subprocess.STDOUT, start_new_session=True, **kw)
        self.procs.append(p)
        return p

    def write(self, name, text):
        path = self.w / name
        path.write_text(text)
        self.files[name] = text
        return str(path)

    def wait_listening(self, port, timeout=15):
        end = time.time() + timeout
        while not listening(port):
            for p in self.procs:
                if p.poll() is not None:
                    raise RuntimeError(f"{self.name} exited with {p.returncode} (see {self.name}.log)")
            if time.time() > end:
                raise RuntimeError(f"{self.name} is not listening on {port} after {timeout} s")
            time.sleep(0.05)

    def start(self):
        self.device.start()
        self.launch_servers()
        self.wait_listening(self.port)
        time.sleep(0.2)
        self.base = len(tree(self.pids()))

    def pids(self):
        return [p.pid for p in self.procs]

    def quiesce(self):
        """Waits until sessions of the previous measurement are gone (socat's children linger)."""
        end = time.time() + 5
        while len(tree(self.pids())) > self.base and time.time() < end:
            time.sleep(0.05)
        time.sleep(0.3)

    def stop(self):
        for p in self.procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
        self.device.stop()

    def describe(self):
        w = str(self.w)
        return {"commands": [c.replace(w, "$WORK") for c in self.cmds],
                "files": {k: v.replace(w, "$WORK") for k, v in self.files.items()}}

    def socat_to_device(self, listen):
        return ["socat", listen, f"FILE:{self.device.link},rawer"]


class SocatPlain(System):
    tls = False

    def unavailable(self):
        return self.tool("socat")

    def launch_servers(self):
        self.launch(self.socat_to_device(f"TCP-LISTEN:{self.port},bind=127.0.0.1,reuseaddr,fork,backlog=1024,nodelay"))


class SocatTls(System):
    def unavailable(self):
        return self.tool("socat")

    def launch_servers(self):
        # socat 1.7.4 cannot restrict TLS 1.3 suites or groups; the client offers only ours.
        w = self.w
        self.launch(self.socat_to_device(
            f"OPENSSL-LISTEN:{self.port},bind=127.0.0.1,reuseaddr,fork,backlog=1024,nodelay,"
            f"cert={w}/server.crt,key={w}/server.key,cafile={w}/client.crt,verify=1,"
            f"min-version=TLS1.3,max-version=TLS1.3"))


class Stunnel(System):
    def unavailable(self):
        return self.tool("stunnel4") or self.tool("socat")

    def launch_servers(self):
        back = free_port()
        w = self.w
        conf = self.write("stunnel.conf", f"""foreground = yes
pid =
debug = 3
[bench]
accept = 127.0.0.1:{self.port}
connect = 127.0.0.1:{back}
cert = {w}/server.crt
key = {w}/server.key
CAfile = {w}/client.crt
verifyPeer = yes
sslVersionMin = TLSv1.3
sslVersionMax = TLSv1.3
ciphersuites = {SUITE}
curves = {GROUP}
socket = l:TCP_NODELAY=1
socket = r:TCP_NODELAY=1
""")
        self.launch(self.socat_to_device(f"TCP-LISTEN:{back},bind=127.0.0.1,reuseaddr,fork,backlog=1024,nodelay"))
        self.wait_listening(back)
        self.launch(["stunnel4", conf])


class Ser2net(System):
    fanout = True
    chardelay = True

    def unavailable(self):
        return self.tool("ser2net")

    def launch_servers(self):
        w = self.w
        # ser2net pins a client through <authdir>/<certificate CN>/allowed_certs (hashed).
        allowed = w / f"auth-{self.name}" / "bench-client" / "allowed_certs"
        allowed.mkdir(parents=True, exist_ok=True)
        shutil.copy(w / "client.crt", allowed / "client.crt")
        subprocess.run(["openssl", "rehash", str(allowed)], check=True)
        delay = "" if self.chardelay else "    chardelay: false\n"
        conf = self.write(f"{self.name}.yaml", f"""%YAML 1.1
---
connection: &bench
  accepter: ssl(key={w}/server.key,cert={w}/server.crt,CA={w}/client.crt,clientauth),tcp,127.0.0.1,{self.port}
  connector: serialdev,{self.device.link},115200n81,local
  options:
    max-connections: 1100
    authdir: {w}/auth-{self.name}
{delay}""")
        self.launch(["ser2net", "-n", "-u", "-c", conf, "-P", f"{w}/{self.name}.pid"])


class Ser2netNoDelay(Ser2net):
    chardelay = False


class SServer(System):
    """The handshake ceiling: OpenSSL's own server, one process, same key, suite and group."""

    def unavailable(self):
        return self.tool("openssl")

    def start(self):
        w = self.w
        self.launch([*self.env.loader, self.env.openssl, "s_server", "-accept", f"127.0.0.1:{self.port}", "-quiet",
                     "-cert", f"{w}/server.crt", "-key", f"{w}/server.key", "-tls1_3",
                     "-ciphersuites", SUITE, "-groups", GROUP, "-Verify", "1", "-verify_return_error",
                     "-CAfile", f"{w}/client.crt"])
        self.wait_listening(self.port)
        self.base = len(tree(self.pids()))

    def stop(self):
        for p in self.procs:
            if p.stdin:
                p.stdin.close()
        System.stop(self)


class Ttygated(System):
    fanout = True

    def __init__(self, env, name):
        super().__init__(env, name)
        self.binary = env.build / "tools" / "ttygated"
        self.state = self.w / "ttygated-state"
        self.server_cert = str(self.state / "gateway.crt")

    def config(self):
        return self.write("ttygated.toml", f"""[gateway]
state_dir = "{self.state}"

[[port]]
name = "bench"
device = "{self.device.link}"
baud = 115200
listen = ["127.0.0.1:{self.port}"]
control = "shared"

[limits]
max_handshakes = 1000
max_sessions = 6000
max_sessions_per_client = 6000
""")

    def run_tool(self, *args):
        cmd = [str(self.binary), "--config", str(self.w / "ttygated.toml"), *args]
        self.cmds.append(" ".join(cmd))
        return subprocess.run(cmd, capture_output=True, text=True, timeout=30)

    def unavailable(self):
        if not self.binary.exists():
            return f"ttygated is not built ({self.binary})"
        self.config()
        self.state.mkdir(exist_ok=True)
        p = self.run_tool("--add-client", f"{self.w}/client.crt", "--name", "bench", "--role", "control")
        if p.returncode != 0 and "exist" not in (p.stderr + p.stdout).lower():
            why = (p.stderr.strip() or p.stdout.strip() or f"exit status {p.returncode}").splitlines()[0]
            return f"ttygated is not functional yet: --add-client failed: {why}"
        return None

    def launch_servers(self):
        self.launch([*self.env.loader, str(self.binary), "--config", str(self.w / "ttygated.toml")])

    def start(self):
        super().start()
        end = time.time() + 10
        while not Path(self.server_cert).exists() and time.time() < end:
            time.sleep(0.05)


class TtygatedRef(Ttygated):
    """Another ttygated build (TTYGATE_BENCH_REF=BUILD_DIR, e.g. main's) in the same run as this
    one: a change measured side by side, round by round, instead of in two runs minutes apart.
    Not in NAMES: only run when asked for (--systems ...,ttygated-ref)."""

    def __init__(self, env, name):
        super().__init__(env, name)
        self.ref = os.environ.get("TTYGATE_BENCH_REF", "")
        self.binary = Path(self.ref) / "tools" / "ttygated"

    def unavailable(self):
        if not self.ref:
            return "TTYGATE_BENCH_REF names no build folder"
        return super().unavailable()


CLASSES = {"socat-plain": SocatPlain, "socat-tls": SocatTls, "stunnel": Stunnel, "ser2net": Ser2net,
           "ser2net-nodelay": Ser2netNoDelay, "ttygated": Ttygated, "ttygated-ref": TtygatedRef,
           "openssl-s_server": SServer}


def make(name, env):
    if name not in CLASSES:
        raise SystemExit(f"bench: unknown system {name}; known: {', '.join(NAMES)}")
    return CLASSES[name](env, name)


def first_line(cmd):
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
        lines = [l for l in (p.stdout + p.stderr).splitlines() if l.strip()]
        return lines[0].strip() if lines else "?"
    except (OSError, subprocess.TimeoutExpired):
        return "not installed"


def machine():
    model = "?"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    mem = Path("/proc/meminfo").read_text().splitlines()[0].split()[1]
    return {"cpu": model, "cores": os.cpu_count(), "memory_gib": round(int(mem) / 1048576, 1),
            "kernel": platform.release(), "os": first_line(["sh", "-c", ". /etc/os-release; echo $PRETTY_NAME"])}


def ttygated_built(env):
    binary = env.build / "tools" / "ttygated"
    if not binary.exists():
        return ""
    return "; ttygated binary built " + time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(binary.stat().st_mtime))


def versions(env):
    git = ["git", "-C", str(ROOT), "log", "-1", "--format=%h %s"]
    return {"socat": first_line(["sh", "-c", "socat -V | sed -n 2p"]),
            "stunnel": first_line(["sh", "-c", "stunnel4 -version 2>&1 | grep -m1 '^stunnel'"]),
            "ser2net": first_line(["ser2net", "-v"]),
            "openssl": first_line([*env.loader, env.openssl, "version"]),
            "gnuplot": first_line(["gnuplot", "--version"]),
            "ttygate": first_line(git) + ttygated_built(env),
            "compiler": first_line(["c++", "--version"])}
