// SPDX-License-Identifier: Apache-2.0
// splice_relay: the kTLS relay experiment. Does moving plaintext between a kernel TLS socket and
// the tty with splice (socket → pipe → tty and back, no copy through user space) beat plain
// recv/write, both driven by io_uring?
//
//   splice_relay --port P --link TTY --mode rw|splice|poll
//
// A minimal gateway: accepts one connection at a time on 127.0.0.1:P, runs the TLS 1.3 handshake
// with OpenSSL (any client certificate; who is trusted is not the question here), hands the
// session to the kernel with ttygate's ktls/ code, and relays between the socket and the tty
// (opened once, raw, like ttygated) until either side ends:
//   rw:     IORING_OP_RECV socket → buffer, IORING_OP_WRITE buffer → tty; IORING_OP_READ tty →
//           buffer, IORING_OP_SEND buffer → socket
//   splice: IORING_OP_SPLICE socket → pipe, pipe → tty; tty → pipe, pipe → socket
//   poll:   as ttygated's sessions do: IORING_OP_POLL_ADD on the socket, then non-blocking
//           recv/send syscalls (EAGAIN: poll again); the tty side as in rw
// One ring per connection; each direction has one request in flight, the next one queued by the
// completion of the previous, as in ttygated. tlsbench (latency, throughput) is the client and
// ptydev the device: tests/vm/scenarios/90-ttygated-bench.sh runs both modes. Bench only.
#include <fcntl.h>
#include <liburing.h>
#include <poll.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <signal.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "ktls/offload.hpp"
#include "ktls/secrets.hpp"

using namespace ttygate;

namespace {

constexpr unsigned kChunk = 65536;

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "splice_relay: %s: %s\n", what.c_str(), std::strerror(errno));
  std::exit(1);
}

SslCtxPtr make_context() {
  EvpPkeyPtr key(EVP_EC_gen("P-256"));
  X509Ptr cert(X509_new());
  X509* x = cert.get();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
  X509_gmtime_adj(X509_getm_notBefore(x), -60);
  X509_gmtime_adj(X509_getm_notAfter(x), 86400);
  X509_set_pubkey(x, key.get());
  X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("splice_relay"), -1, -1, 0);
  X509_set_issuer_name(x, X509_get_subject_name(x));
  X509_sign(x, key.get(), EVP_sha256());
  SslCtxPtr ctx(SSL_CTX_new(TLS_server_method()));
  SSL_CTX_use_certificate(ctx.get(), x);
  SSL_CTX_use_PrivateKey(ctx.get(), key.get());
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_3_VERSION);
  SSL_CTX_set_num_tickets(ctx.get(), 0);
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, [](int, X509_STORE_CTX*) { return 1; });
  if (!ktls::prepare_for_offload(ctx.get())) die("prepare_for_offload");
  return ctx;
}

int open_tty(const std::string& path) {
  int fd = open(path.c_str(), O_RDWR | O_NOCTTY | O_CLOEXEC);
  termios t{};
  if (fd < 0 || tcgetattr(fd, &t) != 0) die("open " + path);
  cfmakeraw(&t);
  t.c_cc[VMIN] = 1;
  t.c_cc[VTIME] = 0;
  if (tcsetattr(fd, TCSANOW, &t) != 0) die("tcsetattr");
  return fd;
}

// One direction of the relay: from → (buffer or pipe) → to. user_data = direction * 4 + stage:
// 0 taking in, 1 passing on, 2 waiting for room (poll mode).
struct Direction {
  int from = -1, to = -1;
  bool from_socket = false;  // RECV/SEND on the socket side, READ/WRITE on the tty side
  int pipe_r = -1, pipe_w = -1;
  std::vector<char> buf = std::vector<char>(kChunk);
  unsigned have = 0, done = 0;  // bytes taken in, bytes passed on
};

class Relay {
 public:
  enum class Mode { rw, splice, poll };

  Relay(int sock, int tty, Mode mode) : splice_(mode == Mode::splice), poll_(mode == Mode::poll) {
    if (io_uring_queue_init(8, &ring_, 0) != 0) die("io_uring_queue_init");
    dir_[0].from = sock, dir_[0].to = tty, dir_[0].from_socket = true;
    dir_[1].from = tty, dir_[1].to = sock;
    for (Direction& d : dir_) {
      int p[2];
      if (splice_ && pipe2(p, O_CLOEXEC) != 0) die("pipe2");
      if (splice_) {
        d.pipe_r = p[0], d.pipe_w = p[1];
        fcntl(d.pipe_w, F_SETPIPE_SZ, kChunk);
      }
    }
  }
  ~Relay() {
    io_uring_queue_exit(&ring_);  // cancels what is still in flight (a tty read) and waits
    for (Direction& d : dir_)
      if (d.pipe_r >= 0) close(d.pipe_r), close(d.pipe_w);
  }

  // Until either side ends; returns why.
  std::string run() {
    take(0);
    take(1);
    for (;;) {
      io_uring_submit_and_wait(&ring_, 1);
      io_uring_cqe* cqe;
      unsigned head, seen = 0;
      io_uring_for_each_cqe(&ring_, head, cqe) {
        ++seen;
        int k = static_cast<int>(cqe->user_data >> 2), stage = static_cast<int>(cqe->user_data & 3);
        if (stage == 2) {  // poll mode: the socket has room again
          if (cqe->res < 0) return "socket poll: " + std::string(std::strerror(-cqe->res));
          give(k);
          continue;
        }
        std::string end = stage == 0 ? took(k, cqe->res) : gave(k, cqe->res);
        if (!end.empty()) return end;
      }
      io_uring_cq_advance(&ring_, seen);
      while (!pushed_.empty()) {
        Pushed p = pushed_.back();
        pushed_.pop_back();
        std::string end = p.stage == 0 ? took(p.k, p.res) : gave(p.k, p.res);
        if (!end.empty()) return end;
      }
    }
  }

 private:
  io_uring_sqe* sqe(int k, int stage) {
    io_uring_sqe* s = io_uring_get_sqe(&ring_);
    if (!s) die("no free SQE");
    io_uring_sqe_set_data64(s, static_cast<std::uint64_t>(k * 4 + stage));
    return s;
  }
  void take(int k) {
    Direction& d = dir_[k];
    io_uring_sqe* s = sqe(k, 0);
    if (splice_) io_uring_prep_splice(s, d.from, -1, d.pipe_w, -1, kChunk, 0);
    else if (d.from_socket && poll_) io_uring_prep_poll_add(s, d.from, POLLIN);
    else if (d.from_socket) io_uring_prep_recv(s, d.from, d.buf.data(), kChunk, 0);
    else io_uring_prep_read(s, d.from, d.buf.data(), kChunk, 0);
  }
  void give(int k) {
    Direction& d = dir_[k];
    unsigned left = d.have - d.done;
    if (poll_ && !d.from_socket) {  // send now; poll for room only when the socket is full
      ssize_t n = send(d.to, d.buf.data() + d.done, left, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n < 0 && errno == EAGAIN) return io_uring_prep_poll_add(sqe(k, 2), d.to, POLLOUT);
      return push(k, 1, n < 0 ? -errno : static_cast<int>(n));
    }
    io_uring_sqe* s = sqe(k, 1);
    if (splice_) io_uring_prep_splice(s, d.pipe_r, -1, d.to, -1, left, 0);
    else if (!d.from_socket) io_uring_prep_send(s, d.to, d.buf.data() + d.done, left, MSG_NOSIGNAL);
    else io_uring_prep_write(s, d.to, d.buf.data() + d.done, left, 0);
  }
  // A result obtained by a syscall rather than from the ring: handled like a completion.
  void push(int k, int stage, int res) { pushed_.push_back({k, stage, res}); }

  std::string took(int k, int res) {
    if (poll_ && k == 0 && res > 0) {  // the socket is readable (or says so)
      ssize_t n = recv(dir_[k].from, dir_[k].buf.data(), kChunk, MSG_DONTWAIT);
      if (n < 0 && errno == EAGAIN) return take(k), "";
      res = n < 0 ? -errno : static_cast<int>(n);
    }
    if (res == -EAGAIN || res == -EINTR) return take(k), "";
    if (res <= 0) return (k == 0 ? "socket: " : "tty: ") + std::string(res == 0 ? "end" : std::strerror(-res));
    dir_[k].have = static_cast<unsigned>(res);
    dir_[k].done = 0;
    give(k);
    return "";
  }
  std::string gave(int k, int res) {
    if (res == -EAGAIN || res == -EINTR) return give(k), "";
    if (res <= 0) return (k == 0 ? "tty write: " : "socket send: ") + std::string(res == 0 ? "end" : std::strerror(-res));
    dir_[k].done += static_cast<unsigned>(res);
    if (dir_[k].done < dir_[k].have) give(k);
    else take(k);
    return "";
  }

  struct Pushed {
    int k, stage, res;
  };
  io_uring ring_{};
  bool splice_;
  bool poll_;
  std::vector<Pushed> pushed_;
  Direction dir_[2];
};

}  // namespace

int main(int argc, char** argv) {
  int port = 0;
  std::string link, mode;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    if (k == "--port") port = std::atoi(argv[i + 1]);
    else if (k == "--link") link = argv[i + 1];
    else if (k == "--mode") mode = argv[i + 1];
  }
  if (port <= 0 || link.empty() || (mode != "rw" && mode != "splice" && mode != "poll")) {
    std::fprintf(stderr, "usage: splice_relay --port P --link TTY --mode rw|splice|poll\n");
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  SslCtxPtr ctx = make_context();
  int tty = open_tty(link);
  int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int on = 1;
  setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  if (bind(l, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(l, 16) != 0) die("listen");
  std::printf("splice_relay: %s on port %d\n", mode.c_str(), port);
  std::fflush(stdout);
  for (;;) {
    UniqueFd fd(accept4(l, nullptr, nullptr, SOCK_CLOEXEC));
    if (!fd) continue;
    int one = 1;
    setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    SslPtr ssl(SSL_new(ctx.get()));
    SSL_set_fd(ssl.get(), fd.get());
    if (SSL_accept(ssl.get()) != 1) {
      ERR_clear_error();
      continue;  // a client that never finished: next
    }
    auto channel = ktls::hand_over(std::move(ssl), std::move(fd));
    if (!channel) {
      std::fprintf(stderr, "splice_relay: hand-over failed: %s\n", channel.error().message().c_str());
      continue;
    }
    Relay::Mode m = mode == "splice" ? Relay::Mode::splice : mode == "poll" ? Relay::Mode::poll : Relay::Mode::rw;
    std::string why = Relay((*channel)->fd(), tty, m).run();
    std::fprintf(stderr, "splice_relay: session ended: %s\n", why.c_str());
  }
}
