// SPDX-License-Identifier: Apache-2.0
#include "daemon/listener.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <poll.h>

#include <cerrno>
#include <cstring>

#include "common/log.hpp"
#include "daemon/fd_budget.hpp"
#include "daemon/refusal_log.hpp"

namespace ttygate::daemon {

Result<void> apply_keepalive(int fd, const KeepaliveSection& keepalive) {
  const int on = 1;
  const int idle = static_cast<int>(keepalive.idle.count());
  const int interval = static_cast<int>(keepalive.interval.count());
  const int count = static_cast<int>(keepalive.count);
  const unsigned user_timeout = static_cast<unsigned>(keepalive.user_timeout.count());
  if (::setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on) < 0 ||
      ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle) < 0 ||
      ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof interval) < 0 ||
      ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &count, sizeof count) < 0 ||
      ::setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_timeout, sizeof user_timeout) < 0)
    return errno_error("setsockopt");
  return success();
}

Result<void> defer_accept_until_data(int listen_fd) {
  const int seconds = 1;
  if (::setsockopt(listen_fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &seconds, sizeof seconds) < 0)
    return errno_error("setsockopt(TCP_DEFER_ACCEPT)");
  return success();
}

Result<UniqueFd> Listener::bind(const ListenAddress& address) {
  int family = address.addr.ss_family;
  UniqueFd fd(::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) return errno_error("creating socket for " + address.text);
  int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (family == AF_INET6) ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&address.addr), address.length) < 0)
    return errno_error("binding " + address.text);
  if (::listen(fd.get(), SOMAXCONN) < 0) return errno_error("listening on " + address.text);
  return fd;
}

Listener::Listener(Loop& loop, UniqueFd socket, std::string text, const std::vector<Cidr>& allow_from,
                   OnAccept on_accept)
    : loop_(loop), socket_(std::move(socket)), text_(std::move(text)), allow_from_(allow_from),
      on_accept_(std::move(on_accept)) {}

void Listener::pause() { paused_ = true; }

void Listener::close() {
  paused_ = true;
  accept_.reset();
  if (socket_) ::shutdown(socket_.get(), SHUT_RDWR);
}

void Listener::resume() {
  if (!paused_) return;
  paused_ = false;
  arm();
}

void Listener::arm() {
  if (paused_ || accept_.armed() || retry_.armed()) return;
  accept_.set(loop_, loop_.accept(socket_.get(), [this](int res) { on_accept(res); }));
}

// The next accept is armed only after this connection was handed on, so a pause that the
// hand-over causes finds nothing armed: no accepted connection can be lost to a cancel.
void Listener::on_accept(int res) {
  if (res >= 0) {
    take(UniqueFd(res));
  } else if (res == -EMFILE || res == -ENFILE) {
    return out_of_descriptors(res);
  } else if (res == -ENOBUFS || res == -ENOMEM) {
    return retry_later(res);
  } else {
    log::warning("Failed to accept on " + text_ + ": " + std::strerror(-res));
  }
  arm();
}

// The backlog still holds the connection: accepting again at once would only spin.
void Listener::retry_later(int res) {
  refuse("accept failed", "Failed to accept on " + text_ + ": " + std::strerror(-res) + "; retrying in 100 ms",
         log::Level::warning);
  retry_.set(loop_, loop_.timeout(std::chrono::milliseconds(100), [this](int) { arm(); }));
}

// io_uring reports EMFILE before it looks at the backlog. With the spare descriptor the waiting
// connection is taken and closed at once; with nobody waiting, the next accept waits until
// someone connects (never a timer: that retried ten times a second for as long as it lasted).
void Listener::out_of_descriptors(int res) {
  switch (shed_one()) {
    case Shed::one:
      return arm();
    case Shed::nobody_waiting:
      retry_.set(loop_, loop_.poll(socket_.get(), POLLIN, [this](int) { arm(); }));
      return;
    case Shed::no_spare:
      return retry_later(res);
  }
}

void Listener::take(UniqueFd fd) {
  Peer peer;
  socklen_t len = sizeof peer.addr;
  if (::getpeername(fd.get(), reinterpret_cast<sockaddr*>(&peer.addr), &len) < 0) return;
  peer.text = address_text(reinterpret_cast<sockaddr*>(&peer.addr));
  bool allowed = false;
  for (const Cidr& range : allow_from_)
    if (range.contains(reinterpret_cast<sockaddr*>(&peer.addr))) allowed = true;
  if (!allowed)
    return refuse("source not in allow_from", "Refused " + peer.text + " on " + text_ + ": source not in allow_from",
                  log::Level::notice);
  int one = 1;
  ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  on_accept_(std::move(fd), std::move(peer));
}

// Out of descriptors: the spare one takes the waiting connection, which is closed at once (the
// peer sees the connection end, and can retry), then the spare is taken back.
Listener::Shed Listener::shed_one() {
  if (!reserve_ || !reserve_->release()) return Shed::no_spare;
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  const bool shed = UniqueFd(::accept4(socket_.get(), reinterpret_cast<sockaddr*>(&addr), &len,
                                       SOCK_CLOEXEC | SOCK_NONBLOCK)).valid();  // closed at once
  const int err = errno;
  if (!reserve_->restore()) log::error("Failed to take the spare descriptor back: " + std::string(std::strerror(errno)));
  if (!shed) return err == EAGAIN || err == EWOULDBLOCK ? Shed::nobody_waiting : Shed::no_spare;
  refuse("out of file descriptors",
         "Refused " + address_text(reinterpret_cast<sockaddr*>(&addr)) + " on " + text_ +
             ": out of file descriptors (RLIMIT_NOFILE), closed at once; lower limits.max_sessions or raise the limit",
         log::Level::error);
  return Shed::one;
}

void Listener::refuse(std::string_view cause, const std::string& line, log::Level level) {
  if (refusals_) refusals_->refuse(cause, line, level);
  else
    log::write(level, line);
}

}  // namespace ttygate::daemon
