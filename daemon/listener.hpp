// SPDX-License-Identifier: Apache-2.0
// Listener: one listening TCP socket, accepting on the loop.
//
// Sources outside allow_from are closed right after accept, before a single byte of TLS: the
// handshake is the expensive part and the LAN is untrusted. Accepted sockets get TCP_NODELAY
// (relayed frames are small and latency-bound) and are passed on with the peer's address.
#pragma once

#include <sys/socket.h>

#include <functional>
#include <string>
#include <vector>

#include "common/log.hpp"
#include "common/result.hpp"
#include "common/unique_fd.hpp"
#include "daemon/address.hpp"
#include "daemon/config.hpp"
#include "daemon/loop.hpp"

namespace ttygate::daemon {

// TCP keepalive and TCP_USER_TIMEOUT, so a peer that vanished (cable pulled, laptop asleep) is
// noticed within idle + interval * count seconds, and unacknowledged data within user_timeout.
Result<void> apply_keepalive(int fd, const KeepaliveSection& keepalive);

// TCP_DEFER_ACCEPT: a connection reaches accept() only once its first bytes (the ClientHello)
// arrived, or after about a second of silence. Silent connections cost a request socket in the
// kernel instead of a handshake slot, and a real client is never taken while its ClientHello is
// still on the way, so it can't look like one that sent nothing (daemon/admission_limits.hpp).
Result<void> defer_accept_until_data(int listen_fd);

class RefusalLog;
class FdReserve;

struct Peer {
  sockaddr_storage addr{};
  std::string text;
};

class Listener {
 public:
  using OnAccept = std::function<void(UniqueFd fd, Peer peer)>;

  // Binds (SO_REUSEADDR; IPV6_V6ONLY on IPv6 so "[::]" and "0.0.0.0" can coexist) and listens.
  static Result<UniqueFd> bind(const ListenAddress& address);

  Listener(Loop& loop, UniqueFd socket, std::string text, const std::vector<Cidr>& allow_from, OnAccept on_accept);
  ~Listener() { close(); }
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  void start() { arm(); }
  // While paused, connections wait in the kernel's listen backlog (SYN cookies beyond it)
  // instead of being accepted and closed: a reconnect storm queues rather than fails.
  // Pausing never cancels an accept already armed (the kernel may have taken a connection
  // for it that a cancel would lose): that one connection is still handed on, and no new
  // accept is armed until resume(). With several listeners the limit may thus be passed by one
  // connection per other listener.
  void pause();
  void resume();
  // Leaves the LISTEN state for good (shutdown): the port is free at once, even while the
  // kernel still holds the socket for an accept it is cancelling, which after exit it does
  // until io_uring's asynchronous teardown ends: a restart would otherwise meet EADDRINUSE.
  void close();
  const std::string& text() const { return text_; }
  int fd() const { return socket_.get(); }
  // Refusals (a source outside allow_from, no descriptor left) are logged through `log` at a
  // bounded rate; the process's spare descriptor lets the listener accept and close at once when
  // it ran out of them. Both outlive the listener; null: log each refusal, retry later.
  void set_refusal_log(RefusalLog* log) { refusals_ = log; }
  void set_fd_reserve(FdReserve* reserve) { reserve_ = reserve; }

 private:
  void arm();
  void on_accept(int res);
  void take(UniqueFd fd);
  void retry_later(int res);
  void out_of_descriptors(int res);
  enum class Shed { one, nobody_waiting, no_spare };
  Shed shed_one();
  void refuse(std::string_view cause, const std::string& line, log::Level level);

  Loop& loop_;
  UniqueFd socket_;
  std::string text_;
  const std::vector<Cidr>& allow_from_;
  OnAccept on_accept_;
  Op accept_;
  Op retry_;  // out of descriptors or memory: accept again later, or once someone connects
  bool paused_ = false;
  RefusalLog* refusals_ = nullptr;
  FdReserve* reserve_ = nullptr;
};

}  // namespace ttygate::daemon
