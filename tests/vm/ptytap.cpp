// SPDX-License-Identifier: Apache-2.0
// ptytap: the serial device of the ttygated VM scenario: an echo device that also records.
//
//   ptytap --link PATH --tap FILE
//
// Opens a pty, publishes the slave under PATH (the device ttygated is configured with), and plays
// the device on the master side: every byte the gateway writes to the tty is appended to FILE
// and written back unchanged. FILE is what the device received, so a scenario can prove
// "nothing reached the device" (a refused client, a tampered record) and check the upward
// direction byte-exact on its own, apart from the echo the client reads back.
//
// It keeps its own slave descriptor open so the master never reads EIO while the gateway closes
// and reopens the tty between sessions. Echo output the gateway doesn't take is queued up to a
// limit; past it the device stops reading (lossless back-pressure). Single-threaded, poll(2).
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "tools/ttygate-client/pty_link.hpp"

namespace {

constexpr std::size_t kBacklog = 1 << 16;
volatile sig_atomic_t stop = 0;

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "ptytap: %s: %s\n", what, std::strerror(errno));
  std::exit(1);
}


void write_all(int fd, const unsigned char* p, std::size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) die("write tap");
    p += w;
    n -= static_cast<std::size_t>(w);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 5 || std::string(argv[1]) != "--link" || std::string(argv[3]) != "--tap") {
    std::fprintf(stderr, "usage: ptytap --link PATH --tap FILE\n");
    return 2;
  }
  struct sigaction sa {};
  sa.sa_handler = [](int) { stop = 1; };
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  int tap = open(argv[4], O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
  if (tap < 0) die("open tap");
  auto pty = ttygate::client::PtyLink::open(argv[2]);  // raw, its own slave held open
  if (!pty) {
    std::fprintf(stderr, "ptytap: %s\n", pty.error().message().c_str());
    return 1;
  }
  int master = pty->master();
  std::printf("ptytap: device at %s\n", argv[2]);
  std::fflush(stdout);

  std::vector<unsigned char> out;
  unsigned char buf[65536];
  while (!stop) {
    pollfd p{master, static_cast<short>((out.size() < kBacklog ? POLLIN : 0) | (out.empty() ? 0 : POLLOUT)), 0};
    if (poll(&p, 1, -1) < 0) {
      if (errno == EINTR) continue;
      die("poll");
    }
    if (p.revents & POLLIN) {
      ssize_t n = read(master, buf, sizeof buf);
      if (n > 0) {
        write_all(tap, buf, static_cast<std::size_t>(n));
        out.insert(out.end(), buf, buf + n);
      } else if (n < 0 && errno != EAGAIN && errno != EINTR && errno != EIO) {
        die("read pty");
      }
    }
    if (!out.empty()) {
      ssize_t n = write(master, out.data(), out.size());
      if (n > 0) out.erase(out.begin(), out.begin() + n);
      else if (n < 0 && errno != EAGAIN && errno != EINTR) die("write pty");
    }
  }
  unlink(argv[2]);
  return 0;
}
