// SPDX-License-Identifier: Apache-2.0
// ptydev: the benchmark's serial device. Holds a pty master, publishes the slave under a fixed
// path (a symlink the gateway under test opens as its tty) and obeys a control socket.
//
// Modes, switched by one-line commands on the control socket (AF_UNIX, one client at a time):
//   echo                 every byte read from the pty is written back unchanged (default)
//   source N             write N pattern bytes (bench/lib/pattern.hpp) as fast as the pty takes
//                        them; replies "ok" once all are written
//   sink N               read and check N pattern bytes; replies "ok <ns> <errors>" at the last
//   stream FRAMES US     write FRAMES 32-byte timestamped frames, one every US microseconds;
//                        replies "ok <late>" (frames written later than planned by > 1 ms)
//   flush                discard both pty queues and return to echo; replies "ok"
// The device keeps a slave descriptor open itself, so the master never sees a hang-up while
// the gateway closes and reopens the tty between sessions. Single-threaded, poll(2) driven.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "bench/lib/pattern.hpp"
#include "tools/ttygate-client/pty_link.hpp"

namespace {

using ttygate::bench::Frame;
using ttygate::bench::mono_ns;
using ttygate::bench::pattern_byte;

enum class Mode { echo, source, sink, stream };

struct Device {
  int master = -1;
  int listener = -1;
  int ctl = -1;
  Mode mode = Mode::echo;
  std::vector<unsigned char> out;  // bytes waiting for room in the pty
  std::size_t out_off = 0;
  std::uint64_t offset = 0;        // pattern position (source, sink)
  std::uint64_t target = 0;        // bytes (source, sink) or frames (stream)
  std::uint64_t errors = 0;
  std::uint64_t interval_ns = 0;
  std::uint64_t next_ns = 0;
  std::uint64_t late = 0;
  std::string line;
};

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "ptydev: %s: %s\n", what, std::strerror(errno));
  std::exit(1);
}

void reply(Device& d, const std::string& text) {
  if (d.ctl < 0) return;
  std::string msg = text + "\n";
  if (write(d.ctl, msg.data(), msg.size()) < 0) { /* client gone: nothing to tell */ }
}


int open_listener(const std::string& path) {
  int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::snprintf(a.sun_path, sizeof a.sun_path, "%s", path.c_str());
  unlink(path.c_str());
  if (s < 0 || bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(s, 4) != 0)
    die("control socket");
  return s;
}

// Writes what is queued; false when the pty is full.
bool drain_out(Device& d) {
  while (d.out_off < d.out.size()) {
    ssize_t n = write(d.master, d.out.data() + d.out_off, d.out.size() - d.out_off);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) return false;
      die("write pty");
    }
    d.out_off += static_cast<std::size_t>(n);
  }
  d.out.clear();
  d.out_off = 0;
  return true;
}

void on_pty_input(Device& d, const unsigned char* buf, std::size_t n) {
  if (d.mode == Mode::echo) {
    d.out.insert(d.out.end(), buf, buf + n);
    drain_out(d);
    return;
  }
  if (d.mode != Mode::sink) return;  // stray input while sourcing or streaming: dropped
  for (std::size_t i = 0; i < n && d.offset < d.target; ++i, ++d.offset)
    if (buf[i] != pattern_byte(d.offset)) ++d.errors;
  if (d.offset == d.target) {
    reply(d, "ok " + std::to_string(mono_ns()) + " " + std::to_string(d.errors));
    d.mode = Mode::echo;
  }
}

void read_pty(Device& d) {
  unsigned char buf[65536];
  for (;;) {
    ssize_t n = read(d.master, buf, sizeof buf);
    if (n > 0) {
      on_pty_input(d, buf, static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (n < 0 && errno == EIO) return;  // cannot happen while we hold the slave; harmless
    die("read pty");
  }
}

void fill_source(Device& d) {
  while (d.mode == Mode::source) {
    if (!drain_out(d)) return;
    if (d.offset == d.target) {
      d.mode = Mode::echo;
      reply(d, "ok");
      return;
    }
    std::size_t chunk = static_cast<std::size_t>(std::min<std::uint64_t>(65536, d.target - d.offset));
    d.out.resize(chunk);
    for (std::size_t i = 0; i < chunk; ++i) d.out[i] = pattern_byte(d.offset + i);
    d.offset += chunk;
  }
}

void tick_stream(Device& d) {
  if (d.mode != Mode::stream || !drain_out(d)) return;
  std::uint64_t now = mono_ns();
  while (d.offset < d.target && now >= d.next_ns) {
    if (now > d.next_ns + 1000000) ++d.late;
    Frame f = Frame::make(static_cast<std::uint32_t>(d.offset), now);
    d.out.insert(d.out.end(), f.bytes, f.bytes + sizeof f.bytes);
    ++d.offset;
    d.next_ns += d.interval_ns;
    if (!drain_out(d)) return;
  }
  if (d.offset == d.target && d.out.empty()) {
    d.mode = Mode::echo;
    reply(d, "ok " + std::to_string(d.late));
  }
}

void command(Device& d, const std::string& cmd) {
  unsigned long long a = 0, b = 0;
  d.offset = 0;
  d.errors = 0;
  d.out.clear();
  d.out_off = 0;
  if (cmd == "echo") {
    d.mode = Mode::echo;
    reply(d, "ok");
  } else if (cmd == "flush") {
    tcflush(d.master, TCIOFLUSH);
    d.mode = Mode::echo;
    reply(d, "ok");
  } else if (std::sscanf(cmd.c_str(), "source %llu", &a) == 1) {
    d.mode = Mode::source;
    d.target = a;
    fill_source(d);
  } else if (std::sscanf(cmd.c_str(), "sink %llu", &a) == 1) {
    d.mode = Mode::sink;
    d.target = a;
    reply(d, "ready");
  } else if (std::sscanf(cmd.c_str(), "stream %llu %llu", &a, &b) == 2) {
    d.mode = Mode::stream;
    d.target = a;
    d.interval_ns = b * 1000;
    d.next_ns = mono_ns();
    d.late = 0;
    tick_stream(d);
  } else {
    reply(d, "error unknown command");
  }
}

void read_ctl(Device& d) {
  char buf[256];
  ssize_t n = read(d.ctl, buf, sizeof buf);
  if (n <= 0) {
    close(d.ctl);
    d.ctl = -1;
    d.line.clear();
    return;
  }
  d.line.append(buf, static_cast<std::size_t>(n));
  for (std::size_t nl; (nl = d.line.find('\n')) != std::string::npos;) {
    std::string cmd = d.line.substr(0, nl);
    d.line.erase(0, nl + 1);
    command(d, cmd);
  }
}

int poll_timeout_ms(const Device& d) {
  if (d.mode != Mode::stream || !d.out.empty()) return -1;
  std::uint64_t now = mono_ns();
  if (d.next_ns <= now) return 0;
  return static_cast<int>((d.next_ns - now + 999999) / 1000000);
}

void run(Device& d) {
  for (;;) {
    bool want_out = !d.out.empty() || d.mode == Mode::source;
    pollfd p[3] = {{d.master, static_cast<short>(POLLIN | (want_out ? POLLOUT : 0)), 0},
                   {d.listener, POLLIN, 0},
                   {d.ctl, POLLIN, 0}};
    // Streams need sub-millisecond pacing: spin briefly instead of sleeping past the slot.
    int timeout = poll_timeout_ms(d);
    if (timeout == 1 && d.mode == Mode::stream) timeout = 0;
    if (poll(p, d.ctl >= 0 ? 3 : 2, timeout) < 0 && errno != EINTR) die("poll");
    if (p[0].revents & POLLIN) read_pty(d);
    if (p[0].revents & POLLOUT) drain_out(d);
    if (d.mode == Mode::source) fill_source(d);
    tick_stream(d);
    if (p[1].revents & POLLIN) {
      int c = accept4(d.listener, nullptr, nullptr, SOCK_CLOEXEC);
      if (c >= 0 && d.ctl >= 0) close(d.ctl);
      if (c >= 0) d.ctl = c;
    }
    if (d.ctl >= 0 && (p[2].revents & (POLLIN | POLLHUP))) read_ctl(d);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 5 || std::string(argv[1]) != "--link" || std::string(argv[3]) != "--ctl") {
    std::fprintf(stderr, "usage: ptydev --link PATH --ctl SOCKET\n");
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  Device d;
  auto pty = ttygate::client::PtyLink::open(argv[2]);  // raw, 115200, its own slave held open
  if (!pty) {
    std::fprintf(stderr, "ptydev: %s\n", pty.error().message().c_str());
    return 1;
  }
  d.master = pty->master();
  d.listener = open_listener(argv[4]);
  std::printf("ready\n");
  std::fflush(stdout);
  run(d);
}
