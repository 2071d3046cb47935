// SPDX-License-Identifier: Apache-2.0
// A reconnect storm: N clients connect at the same instant (a gateway reboot, an access point
// coming back) and each records its own way to relaying: TCP connect, TLS handshake, first byte
// of device output. One thread, epoll, non-blocking throughout.
//
// "Relaying" is proven end to end: the first client up (the speaker) writes one byte every
// tick; the echo device returns it and the gateway fans it out to every relaying session. A
// client is relaying when its first such byte arrives, so its time is late by at most one tick
// (plus the fan-out). Ticks stop when no client is left waiting, so a storm costs the gateway
// one fan-out per tick, not one per client. A client that fails records why and in which phase.
//
// With `retry`, a client whose attempt fails (refused, evicted by the gateway's lock-out
// defence, closed, timed out) tries again as ttygate-client's bridge does: after 250 ms, then
// twice as long each time up to 30 s, offering the same ticket. Only a gateway key that is not
// the pinned one, or the storm's end, makes it give up. Each client counts its attempts, and
// the storm counts why attempts failed.
#pragma once

#include <sys/epoll.h>

#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <queue>
#include <string>
#include <utility>
#include <vector>

#include "bench/lib/pattern.hpp"
#include "bench/lib/tls_client.hpp"

namespace ttygate::bench {

struct StormOptions {
  int sessions = 1000;
  bool resume = false;          // offer one ticket each, taken from the context's pool
  double deadline_s = 10;       // per client, connect + handshake (a real client's patience)
  double timeout_s = 30;        // the whole storm
  double tick_ms = 50;          // the speaker's interval
  bool retry = false;           // a failed attempt is tried again after a back-off
  double first_backoff_ms = 250;  // ttygate-client's bridge: kFirstBackoff, doubling to kMaxBackoff
  double max_backoff_ms = 30000;
};

struct StormClient {
  enum class Phase { connecting, handshaking, waiting, relaying, backing_off, failed };
  struct SessionFree {
    void operator()(SSL_SESSION* s) const { SSL_SESSION_free(s); }
  };
  int fd = -1;
  SslPtr ssl;
  std::unique_ptr<SSL_SESSION, SessionFree> ticket;  // offered on every attempt (--resume)
  Phase phase = Phase::connecting;
  bool offered_ticket = false, resumed = false;  // on the last attempt
  int attempts = 0;
  std::uint64_t backoff_ns = 0;
  // mono_ns; 0 = not reached. started: the first attempt; the others: the last attempt's.
  std::uint64_t started = 0, attempt_started = 0, connected = 0, handshaken = 0, relaying = 0;
  std::string error;
};

class Storm {
 public:
  Storm(ClientContext& ctx, StormOptions o) : ctx_(ctx), o_(o), ep_(epoll_create1(EPOLL_CLOEXEC)) {}
  ~Storm() {
    for (auto& c : clients_) close_client(c);
    close(ep_);
  }
  Storm(const Storm&) = delete;
  Storm& operator=(const Storm&) = delete;

  // Returns when every client is relaying or has failed, or at the storm's timeout.
  void run() {
    clients_.resize(static_cast<std::size_t>(o_.sessions));
    start_ = mono_ns();
    for (std::size_t i = 0; i < clients_.size(); ++i) dial(i);
    const std::uint64_t end = start_ + static_cast<std::uint64_t>(o_.timeout_s * 1e9);
    while (unsettled_ > 0 && mono_ns() < end) {
      epoll_event evs[256];
      int n = epoll_wait(ep_, evs, 256, 2);
      for (int k = 0; k < n; ++k) step(evs[k].data.u64);
      tick();
      expire();
      redial();
    }
    over_ = true;  // no more retries
    for (std::size_t i = 0; i < clients_.size(); ++i)
      if (clients_[i].phase != StormClient::Phase::relaying && clients_[i].phase != StormClient::Phase::failed)
        fail(i, clients_[i].phase == StormClient::Phase::waiting ? "handshake done, no device byte before the storm's timeout"
                                                                  : "storm timed out");
  }

  std::uint64_t start() const { return start_; }
  const std::vector<StormClient>& clients() const { return clients_; }
  int ticks() const { return ticks_; }
  // Why attempts failed and were tried again, with how many times each.
  const std::map<std::string, int>& retried_for() const { return retried_for_; }

 private:
  using Phase = StormClient::Phase;

  static void close_client(StormClient& c) {
    if (c.ssl && c.phase == Phase::relaying) SSL_shutdown(c.ssl.get());
    c.ssl.reset();
    if (c.fd >= 0) close(c.fd);
    c.fd = -1;
  }

  void dial(std::size_t i) {
    StormClient& c = clients_[i];
    c.started = c.attempt_started = mono_ns();
    ++unsettled_;
    attempt(i);
  }

  void attempt(std::size_t i) {
    StormClient& c = clients_[i];
    c.attempt_started = mono_ns();
    c.connected = c.handshaken = 0;
    c.offered_ticket = c.resumed = false;
    c.phase = Phase::connecting;
    ++c.attempts;
    c.fd = tcp_socket(ctx_.options(), true);
    if (c.fd < 0) return fail(i, std::string("connect: ") + strerror(errno));
    watch(i, EPOLLOUT, EPOLL_CTL_ADD);
  }

  void watch(std::size_t i, std::uint32_t events, int op) {
    epoll_event ev{events, {.u64 = i}};
    epoll_ctl(ep_, op, clients_[i].fd, &ev);
  }

  void step(std::size_t i) {
    StormClient& c = clients_[i];
    if (c.phase == Phase::connecting) {
      int err = 0;
      socklen_t len = sizeof err;
      getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err != 0) return fail(i, std::string("connect: ") + strerror(err));
      c.connected = mono_ns();
      c.ssl.reset(SSL_new(ctx_.ctx()));
      SSL_set_fd(c.ssl.get(), c.fd);
      if (o_.resume && !c.ticket) c.ticket.reset(ctx_.take_session());
      if (c.ticket) {
        SSL_set_session(c.ssl.get(), c.ticket.get());  // takes its own reference
        c.offered_ticket = true;
      }
      c.phase = Phase::handshaking;
    }
    if (c.phase == Phase::handshaking) return handshake(i);
    if (c.phase == Phase::waiting) return read(i);
  }

  void handshake(std::size_t i) {
    StormClient& c = clients_[i];
    int r = SSL_connect(c.ssl.get());
    if (r != 1) {
      int e = SSL_get_error(c.ssl.get(), r);
      if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
        return watch(i, e == SSL_ERROR_WANT_WRITE ? EPOLLOUT : EPOLLIN, EPOLL_CTL_MOD);
      return fail(i, "handshake: " + ssl_failure(c.ssl.get(), r));
    }
    if (std::string why = ctx_.check_pin(c.ssl.get()); !why.empty()) return give_up(i, why);
    c.handshaken = mono_ns();
    c.resumed = SSL_session_reused(c.ssl.get()) == 1;
    c.phase = Phase::waiting;
    watch(i, EPOLLIN, EPOLL_CTL_MOD);
    if (speaker_ < 0) {
      speaker_ = static_cast<long>(i);
      next_tick_ = 0;  // speak at once
    }
    read(i);
  }

  // Device bytes (and the gateway's renewed tickets, which SSL_read takes in on the way). One
  // byte is all a client waits for; after it, its socket is no longer watched.
  void read(std::size_t i) {
    StormClient& c = clients_[i];
    unsigned char buf[4096];
    for (;;) {
      int r = SSL_read(c.ssl.get(), buf, sizeof buf);
      if (r > 0) {
        c.relaying = mono_ns();
        c.phase = Phase::relaying;
        --unsettled_;
        epoll_ctl(ep_, EPOLL_CTL_DEL, c.fd, nullptr);
        return;
      }
      if (SSL_get_error(c.ssl.get(), r) == SSL_ERROR_WANT_READ) return;
      return fail(i, "after the handshake, before relaying: " + ssl_failure(c.ssl.get(), r));
    }
  }

  void tick() {
    if (speaker_ < 0) return;
    std::uint64_t now = mono_ns();
    if (now < next_tick_) return;
    StormClient& s = clients_[static_cast<std::size_t>(speaker_)];
    if (s.phase != Phase::waiting && s.phase != Phase::relaying) {
      speaker_ = -1;  // the next client up speaks
      return;
    }
    if (SSL_write(s.ssl.get(), "x", 1) == 1) ++ticks_;
    ERR_clear_error();
    next_tick_ = now + static_cast<std::uint64_t>(o_.tick_ms * 1e6);
  }

  void expire() {
    const std::uint64_t now = mono_ns(), patience = static_cast<std::uint64_t>(o_.deadline_s * 1e9);
    if (now - last_expiry_ < 10'000'000) return;
    last_expiry_ = now;
    for (std::size_t i = 0; i < clients_.size(); ++i) {
      StormClient& c = clients_[i];
      if ((c.phase == Phase::connecting || c.phase == Phase::handshaking) && now - c.attempt_started > patience)
        fail(i, c.phase == Phase::connecting ? "timed out connecting" : "timed out in the handshake");
    }
  }

  // An attempt failed: back off and try again (--retry), or give up.
  void fail(std::size_t i, const std::string& why) {
    StormClient& c = clients_[i];
    if (!o_.retry || over_ || c.phase == Phase::backing_off) return give_up(i, why);
    if (c.phase == Phase::failed || c.phase == Phase::relaying) return;
    ++retried_for_[why];
    if (c.fd >= 0) epoll_ctl(ep_, EPOLL_CTL_DEL, c.fd, nullptr);
    close_client(c);
    if (speaker_ == static_cast<long>(i)) speaker_ = -1;  // the next client up speaks
    c.phase = Phase::backing_off;
    const auto first = static_cast<std::uint64_t>(o_.first_backoff_ms * 1e6);
    const auto most = static_cast<std::uint64_t>(o_.max_backoff_ms * 1e6);
    c.backoff_ns = std::min(most, std::max(first, c.backoff_ns * 2));
    redials_.push({mono_ns() + c.backoff_ns, i});
  }

  void redial() {
    for (std::uint64_t now = mono_ns(); !redials_.empty() && redials_.top().first <= now;) {
      std::size_t i = redials_.top().second;
      redials_.pop();
      if (clients_[i].phase == Phase::backing_off) attempt(i);
    }
  }

  void give_up(std::size_t i, const std::string& why) {
    StormClient& c = clients_[i];
    if (c.phase == Phase::failed || c.phase == Phase::relaying) return;
    c.error = why;
    c.phase = Phase::failed;
    --unsettled_;
    if (c.fd >= 0) epoll_ctl(ep_, EPOLL_CTL_DEL, c.fd, nullptr);
    close_client(c);
  }

  ClientContext& ctx_;
  StormOptions o_;
  int ep_;
  std::vector<StormClient> clients_;
  std::uint64_t start_ = 0, next_tick_ = 0, last_expiry_ = 0;
  long speaker_ = -1;
  int unsettled_ = 0, ticks_ = 0;
  bool over_ = false;
  std::map<std::string, int> retried_for_;
  // (when, client): the clients backing off, soonest first.
  using Redial = std::pair<std::uint64_t, std::size_t>;
  std::priority_queue<Redial, std::vector<Redial>, std::greater<>> redials_;
};

}  // namespace ttygate::bench
