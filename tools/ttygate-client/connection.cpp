// SPDX-License-Identifier: Apache-2.0
// TCP and pinned TLS to a gateway. See connection.hpp.
#include "tools/ttygate-client/connection.hpp"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

#include <cstdio>

namespace ttygate::client {
namespace {

using Clock = std::chrono::steady_clock;

// Dead networks are noticed within about half a minute, so a bridge reconnects promptly.
constexpr int kKeepIdle = 15, kKeepInterval = 5, kKeepCount = 3;
constexpr unsigned kUserTimeoutMs = 30000;

struct AddrinfoDeleter {
  void operator()(addrinfo* ai) const { freeaddrinfo(ai); }
};

Error failure(std::errc code, std::string context) { return Error(std::make_error_code(code), std::move(context)); }

// Waits until fd has one of `events`, the deadline passes, or interrupt_fd becomes readable.
Result<void> wait_for(int fd, short events, Clock::time_point deadline, int interrupt_fd) {
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return failure(std::errc::timed_out, "no answer in time");
    pollfd fds[2] = {{fd, events, 0}, {interrupt_fd, POLLIN, 0}};
    int n = ::poll(fds, interrupt_fd >= 0 ? 2 : 1, static_cast<int>(left));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_error("poll");
    if (interrupt_fd >= 0 && fds[1].revents) return failure(std::errc::operation_canceled, "interrupted");
    if (fds[0].revents) return success();
  }
}

void tune_socket(int fd) {
  int on = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
  setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on);
  setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &kKeepIdle, sizeof kKeepIdle);
  setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &kKeepInterval, sizeof kKeepInterval);
  setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &kKeepCount, sizeof kKeepCount);
  setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &kUserTimeoutMs, sizeof kUserTimeoutMs);
}

Result<UniqueFd> connect_one(const addrinfo& ai, Clock::time_point deadline, int interrupt_fd) {
  UniqueFd fd(::socket(ai.ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) return errno_error("socket");
  tune_socket(fd.get());
  if (::connect(fd.get(), ai.ai_addr, ai.ai_addrlen) != 0 && errno != EINPROGRESS) return errno_error("connect");
  if (auto ready = wait_for(fd.get(), POLLOUT, deadline, interrupt_fd); !ready) return ready.error();
  int err = 0;
  socklen_t len = sizeof err;
  if (getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len) != 0) return errno_error("connect");
  if (err != 0) return errno_error("connect", err);
  return fd;
}

// Tries every address the name resolves to, in order; the last error is the one reported.
Result<UniqueFd> connect_tcp(const Endpoint& endpoint, Clock::time_point deadline, int interrupt_fd) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG;
  addrinfo* found = nullptr;
  std::string port = std::to_string(endpoint.port);
  if (int rc = getaddrinfo(endpoint.host.c_str(), port.c_str(), &hints, &found); rc != 0)
    return failure(std::errc::host_unreachable, endpoint.host + ": " + gai_strerror(rc));
  std::unique_ptr<addrinfo, AddrinfoDeleter> list(found);
  Error last = failure(std::errc::host_unreachable, endpoint.text() + ": no address");
  for (const addrinfo* ai = list.get(); ai; ai = ai->ai_next) {
    auto fd = connect_one(*ai, deadline, interrupt_fd);
    if (fd) return fd;
    last = Error(fd.error().code(), endpoint.text() + ": " + fd.error().context());
    if (fd.error().code() == std::errc::operation_canceled) break;
  }
  return last;
}

struct WireCount {
  std::uint64_t sent = 0, received = 0;
};

long count_bytes(BIO* bio, int oper, const char*, size_t, int, long, int ret, size_t* processed) {
  auto* count = reinterpret_cast<WireCount*>(BIO_get_callback_arg(bio));
  if (ret > 0 && processed) {
    if (oper == (BIO_CB_READ | BIO_CB_RETURN)) count->received += *processed;
    if (oper == (BIO_CB_WRITE | BIO_CB_RETURN)) count->sent += *processed;
  }
  return ret;
}

std::chrono::microseconds since(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start);
}

}  // namespace

std::string describe(const HandshakeStats& stats) {
  char text[160];
  std::snprintf(text, sizeof text, "%s, TCP %.1f ms, TLS %.1f ms, %llu bytes sent, %llu received",
                stats.resumed ? "resumed" : "full handshake", stats.tcp_connect.count() / 1000.0,
                stats.handshake.count() / 1000.0, static_cast<unsigned long long>(stats.bytes_sent),
                static_cast<unsigned long long>(stats.bytes_received));
  return text;
}

Result<std::unique_ptr<Connector>> Connector::make(const ktls::Identity& identity, std::optional<ktls::Pin> expected) {
  std::unique_ptr<Connector> connector(new Connector(expected));
  auto ctx = ktls::make_client_context(identity, connector->policy_);
  if (!ctx) return ctx.error();
  connector->ctx_ = std::move(*ctx);
  SSL_CTX* c = connector->ctx_.get();
  SSL_CTX_set_app_data(c, connector.get());
  // Tickets go to on_new_session only: the context keeps no cache of its own.
  SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  SSL_CTX_sess_set_new_cb(c, on_new_session);
  return connector;
}

Connector::~Connector() = default;

int Connector::on_new_session(SSL* ssl, SSL_SESSION* session) {
  auto* self = static_cast<Connector*>(SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)));
  if (!SSL_SESSION_is_resumable(session)) return 0;
  // A copy, not a reference: this object stays the live connection's session, and a fatal error
  // on that connection (a cut network, say) marks it not resumable, which is when we need it.
  if (SslSessionPtr copy(SSL_SESSION_dup(session)); copy) self->ticket_ = std::move(copy);  // newest wins
  return 0;
}

Result<Connection> Connector::connect(const Endpoint& endpoint, std::chrono::milliseconds timeout, int interrupt_fd) {
  mismatch_.reset();
  auto deadline = Clock::now() + timeout;
  HandshakeStats stats;
  auto start = Clock::now();
  auto fd = connect_tcp(endpoint, deadline, interrupt_fd);
  if (!fd) return fd.error();
  stats.tcp_connect = since(start);
  auto connection = handshake(std::move(*fd), deadline, interrupt_fd, stats);
  if (!connection) return Error(connection.error().code(), endpoint.text() + ": " + connection.error().context());
  return connection;
}

Result<Connection> Connector::handshake(UniqueFd fd, Clock::time_point deadline, int interrupt_fd,
                                        HandshakeStats stats) {
  SslPtr ssl(SSL_new(ctx_.get()));
  if (!ssl || SSL_set_fd(ssl.get(), fd.get()) != 1) return openssl_error("TLS setup");
  if (ticket_) SSL_set_session(ssl.get(), ticket_.get());
  if (!alpn_.empty())
    if (auto offered = ktls::offer_alpn(ssl.get(), alpn_); !offered) return offered.error();
  WireCount count;
  BIO* bio = SSL_get_rbio(ssl.get());
  BIO_set_callback_arg(bio, reinterpret_cast<char*>(&count));
  BIO_set_callback_ex(bio, count_bytes);
  auto start = Clock::now();
  for (;;) {
    ERR_clear_error();
    int rc = SSL_connect(ssl.get());
    if (rc == 1) break;
    int err = SSL_get_error(ssl.get(), rc);
    if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) {
      std::string reason = ktls::handshake_failure_reason(ssl.get());
      if (expected_ && policy_.seen() && *policy_.seen() != *expected_) {
        mismatch_ = policy_.seen();
        return failure(std::errc::permission_denied, "the gateway presented a key that is not the pinned one");
      }
      return failure(std::errc::connection_aborted, "TLS handshake failed: " + reason);
    }
    auto ready = wait_for(fd.get(), err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline, interrupt_fd);
    if (!ready) return Error(ready.error().code(), "TLS handshake: " + ready.error().context());
  }
  stats.handshake = since(start);
  BIO_set_callback_ex(bio, nullptr);  // `count` dies with this frame
  stats.bytes_sent = count.sent;
  stats.bytes_received = count.received;
  stats.resumed = SSL_session_reused(ssl.get()) == 1;
  // A resumed handshake shows no certificate: the pin is that of the one the ticket was for.
  auto pin = ktls::peer_pin(ssl.get());
  if (!pin) return failure(std::errc::permission_denied, "the gateway presented no key");
  if (expected_ && *pin != *expected_) {
    mismatch_ = pin;
    return failure(std::errc::permission_denied, "the gateway presented a key that is not the pinned one");
  }
  Connection connection{nullptr, *pin, ktls::selected_alpn(ssl.get()), stats};
  connection.channel = std::make_unique<ktls::UserChannel>(std::move(ssl), std::move(fd));
  return connection;
}

std::string key_mismatch_warning(const std::string& gateway, const Endpoint& endpoint, const ktls::Pin& expected,
                                 const ktls::Pin& presented) {
  const std::string rule(59, '@');
  return rule + "\n@    WARNING: THE GATEWAY'S KEY HAS CHANGED!                @\n" + rule +
         "\nThe gateway at " + endpoint.text() + " presented a key that is not the one paired as " + gateway +
         ".\nSomeone could be intercepting the connection (a man in the middle), or the gateway's\n"
         "key was replaced (a reset, a new state directory). Nothing was sent to it.\n"
         "Expected:  " + ktls::fingerprint(expected) + "\nPresented: " + ktls::fingerprint(presented) +
         "\nIf the gateway was reset on purpose, check its fingerprint on the device, then run\n"
         "  ttygate-client forget " + gateway + "\nand pair again.\n";
}

}  // namespace ttygate::client
