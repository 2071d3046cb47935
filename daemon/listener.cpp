#include "daemon/listener.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <cerrno>
#include <cstring>

#include "common/log.hpp"

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
  } else if (res == -EMFILE || res == -ENFILE || res == -ENOBUFS || res == -ENOMEM) {
    // The backlog still holds the connection: accepting again at once would only spin.
    log::warning("Failed to accept on " + text_ + ": " + std::strerror(-res) + "; retrying in 100 ms");
    retry_.set(loop_, loop_.timeout(std::chrono::milliseconds(100), [this](int) { arm(); }));
    return;
  } else {
    log::warning("Failed to accept on " + text_ + ": " + std::strerror(-res));
  }
  arm();
}

void Listener::take(UniqueFd fd) {
  Peer peer;
  socklen_t len = sizeof peer.addr;
  if (::getpeername(fd.get(), reinterpret_cast<sockaddr*>(&peer.addr), &len) < 0) return;
  peer.text = address_text(reinterpret_cast<sockaddr*>(&peer.addr));
  bool allowed = false;
  for (const Cidr& range : allow_from_)
    if (range.contains(reinterpret_cast<sockaddr*>(&peer.addr))) allowed = true;
  if (!allowed) {
    log::notice("Refused " + peer.text + " on " + text_ + ": source not in allow_from", {log::peer(peer.text)});
    return;
  }
  int one = 1;
  ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  on_accept_(std::move(fd), std::move(peer));
}

}  // namespace ttygate::daemon
