// SPDX-License-Identifier: Apache-2.0
// tamper_proxy: a TCP relay for one connection that corrupts one TLS record on its way in.
//
//   tamper_proxy --listen PORT --to PORT [--skip N]
//
// Accepts one client on 127.0.0.1:PORT, connects to the gateway on 127.0.0.1:--to and relays
// both ways. It follows the TLS record framing of the client's stream and flips the last byte
// (the tag's) of the client's (N+1)-th record of type application_data (23). In TLS 1.3 every
// record after the client's ChangeCipherSpec is type 23 on the wire; an openssl s_client with a
// certificate sends three of them to finish its handshake (Certificate, CertificateVerify,
// Finished), so --skip 3 (the default) corrupts the first record of application data. A wrong
// count cannot make a scenario pass: too low breaks the handshake, too high corrupts nothing.
//
// Prints "tamper_proxy: flipped record K (L bytes)" when it did; with TAMPER_TRACE set in the
// environment it also traces every client record's type and length on stderr. Exits when both sides closed,
// or after 60 s without traffic.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

constexpr int kIdleMs = 60000;

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "tamper_proxy: %s: %s\n", what, std::strerror(errno));
  std::exit(1);
}

sockaddr_in loopback(int port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  return a;
}

// Follows the record framing of one direction; flips one byte of the chosen record.
class Tamperer {
 public:
  explicit Tamperer(int skip) : skip_(skip) {}

  void scan(unsigned char* data, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
      if (body_left_ == 0) {
        header_[got_++] = data[i];
        if (got_ == 5) start_record();
        continue;
      }
      if (flip_this_ && body_left_ == 1) {
        data[i] ^= 0x01;
        flip_this_ = false;
        std::printf("tamper_proxy: flipped record %d (%zu bytes)\n", seen_, length_);
        std::fflush(stdout);
      }
      --body_left_;
    }
  }

 private:
  void start_record() {
    got_ = 0;
    length_ = std::size_t{header_[3]} << 8 | header_[4];
    body_left_ = length_;
    if (std::getenv("TAMPER_TRACE")) std::fprintf(stderr, "record type %d len %zu\n", header_[0], length_);
    if (header_[0] != 23) return;
    ++seen_;
    flip_this_ = seen_ == skip_ + 1 && length_ > 0;
  }

  int skip_;
  int seen_ = 0;
  unsigned char header_[5]{};
  std::size_t got_ = 0;
  std::size_t length_ = 0;
  std::size_t body_left_ = 0;
  bool flip_this_ = false;
};

}  // namespace

int main(int argc, char** argv) {
  int listen_port = 0, to_port = 0, skip = 3;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    if (k == "--listen") listen_port = std::atoi(argv[i + 1]);
    else if (k == "--to") to_port = std::atoi(argv[i + 1]);
    else if (k == "--skip") skip = std::atoi(argv[i + 1]);
  }
  if (listen_port <= 0 || to_port <= 0 || argc % 2 == 0) {
    std::fprintf(stderr, "usage: tamper_proxy --listen PORT --to PORT [--skip N]\n");
    return 2;
  }
  int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int on = 1;
  setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  sockaddr_in a = loopback(listen_port);
  if (bind(l, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(l, 1) != 0) die("listen");
  int client = accept4(l, nullptr, nullptr, SOCK_CLOEXEC);
  if (client < 0) die("accept");
  close(l);
  int server = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in b = loopback(to_port);
  if (connect(server, reinterpret_cast<sockaddr*>(&b), sizeof b) != 0) die("connect");

  Tamperer tamperer(skip);
  pollfd fds[2] = {{client, POLLIN, 0}, {server, POLLIN, 0}};
  bool open[2] = {true, true};
  std::vector<unsigned char> buf(65536);
  while ((open[0] || open[1]) && poll(fds, 2, kIdleMs) > 0) {
    for (int i = 0; i < 2; ++i) {
      if (!open[i] || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t n = read(fds[i].fd, buf.data(), buf.size());
      int to = fds[1 - i].fd;
      if (n <= 0) {
        open[i] = false;
        fds[i].events = 0;
        fds[i].fd = -1;
        shutdown(to, SHUT_WR);
        continue;
      }
      if (i == 0) tamperer.scan(buf.data(), static_cast<std::size_t>(n));
      for (ssize_t off = 0, w; off < n; off += w)
        if ((w = send(to, buf.data() + off, static_cast<std::size_t>(n - off), MSG_NOSIGNAL)) <= 0) return 0;
    }
  }
  return 0;
}
