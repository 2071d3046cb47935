// SPDX-License-Identifier: Apache-2.0
// Many connections at once from one thread: keeps a number of TCP + TLS handshakes in flight
// with epoll, and either closes each session once it is up (handshake rate) or keeps it open
// (idle memory, fan-out). Non-blocking throughout; one Dialer per measurement.
#pragma once

#include <sys/epoll.h>

#include <memory>
#include <string>
#include <vector>

#include "bench/lib/pattern.hpp"
#include "bench/lib/tls_client.hpp"

namespace ttygate::bench {

// What a dialer does with session tickets: nothing; collect the newest one of each connection
// into the context's pool (priming: every connection a full handshake); or resume with one
// from the pool and put back the renewed one.
enum class Tickets { none, collect, use };

struct Session {
  enum class State { connecting, handshaking, ticket, open, failed };
  int fd = -1;
  SslPtr ssl;
  State state = State::connecting;
  std::uint64_t deadline_ns = 0;
};

class Dialer {
 public:
  Dialer(ClientContext& ctx, Tickets tickets) : ctx_(ctx), tickets_(tickets), ep_(epoll_create1(EPOLL_CLOEXEC)) {}
  ~Dialer() {
    for (auto& s : slots_) close_session(s);
    for (auto& s : kept_) close_session(s);
    close(ep_);
  }
  Dialer(const Dialer&) = delete;
  Dialer& operator=(const Dialer&) = delete;

  // Completes `total` sessions (or stops after `seconds`), `concurrency` at a time.
  void run(int total, int concurrency, double seconds, bool keep) {
    keep_ = keep;
    std::uint64_t end = mono_ns() + static_cast<std::uint64_t>(seconds * 1e9);
    slots_.clear();
    slots_.resize(static_cast<std::size_t>(concurrency));
    for (auto& s : slots_) s.state = Session::State::failed;  // "free"
    int started = 0;
    for (;;) {
      bool busy = false;
      for (std::size_t i = 0; i < slots_.size(); ++i) {
        if (slots_[i].state == Session::State::failed && started < total && mono_ns() < end) {
          start(i);
          ++started;
        }
        busy |= slots_[i].state != Session::State::failed;
      }
      if (!busy) return;
      wait_once();
    }
  }

  int completed = 0, failed = 0, reused = 0;
  std::string first_error;
  std::vector<Session>& kept() { return kept_; }

 private:
  static void close_session(Session& s) {
    if (s.ssl && s.state != Session::State::failed) SSL_shutdown(s.ssl.get());
    s.ssl.reset();
    if (s.fd >= 0) close(s.fd);
    s.fd = -1;
  }

  void start(std::size_t i) {
    Session& s = slots_[i];
    s = Session{};
    s.fd = tcp_socket(ctx_.options(), true);
    s.deadline_ns = mono_ns() + 10'000'000'000ull;
    if (s.fd < 0) return fail(i, std::string("connect: ") + strerror(errno));
    epoll_event ev{EPOLLOUT, {.u64 = i}};
    epoll_ctl(ep_, EPOLL_CTL_ADD, s.fd, &ev);
  }

  void wait_once() {
    epoll_event evs[64];
    int n = epoll_wait(ep_, evs, 64, 20);
    for (int k = 0; k < n; ++k) step(evs[k].data.u64);
    std::uint64_t now = mono_ns();
    for (std::size_t i = 0; i < slots_.size(); ++i) {
      Session& s = slots_[i];
      if (s.state == Session::State::ticket && now > s.deadline_ns) finish(i);
      else if (s.state != Session::State::failed && now > s.deadline_ns)
        fail(i, s.state == Session::State::connecting ? "timed out connecting" : "timed out in the handshake");
    }
  }

  void want(std::size_t i, int ssl_error) {
    epoll_event ev{ssl_error == SSL_ERROR_WANT_WRITE ? uint32_t{EPOLLOUT} : uint32_t{EPOLLIN}, {.u64 = i}};
    epoll_ctl(ep_, EPOLL_CTL_MOD, slots_[i].fd, &ev);
  }

  void step(std::size_t i) {
    Session& s = slots_[i];
    if (s.state == Session::State::connecting) {
      int err = 0;
      socklen_t len = sizeof err;
      getsockopt(s.fd, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err != 0) return fail(i, std::string("connect: ") + strerror(err));
      if (ctx_.options().plain) return finish(i);
      s.ssl.reset(SSL_new(ctx_.ctx()));
      SSL_set_fd(s.ssl.get(), s.fd);
      if (SSL_SESSION* t = tickets_ == Tickets::use ? ctx_.take_session() : nullptr) {
        SSL_set_session(s.ssl.get(), t);
        SSL_SESSION_free(t);
      }
      s.state = Session::State::handshaking;
    }
    if (s.state == Session::State::handshaking) return handshake(i);
    if (s.state == Session::State::ticket) return await_ticket(i);
  }

  void handshake(std::size_t i) {
    Session& s = slots_[i];
    int r = SSL_connect(s.ssl.get());
    if (r != 1) {
      int e = SSL_get_error(s.ssl.get(), r);
      if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return want(i, e);
      return fail(i, "handshake: " + ssl_failure(s.ssl.get(), r));
    }
    std::string why = ctx_.check_pin(s.ssl.get());
    if (!why.empty()) return fail(i, why);
    if (tickets_ == Tickets::none) return finish(i);
    s.state = Session::State::ticket;
    s.deadline_ns = mono_ns() + 300'000'000ull;
    await_ticket(i);
  }

  // TLS 1.3 tickets follow the handshake; resumption needs one, so wait for it briefly.
  void await_ticket(std::size_t i) {
    Session& s = slots_[i];
    unsigned char buf[512];
    while (!ClientContext::got_ticket(s.ssl.get())) {
      int r = SSL_read(s.ssl.get(), buf, sizeof buf);
      if (r > 0) continue;
      int e = SSL_get_error(s.ssl.get(), r);
      if (ClientContext::got_ticket(s.ssl.get())) break;  // the read took a ticket in
      if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return want(i, e);
      ERR_clear_error();
      break;
    }
    finish(i);
  }

  void finish(std::size_t i) {
    Session& s = slots_[i];
    ++completed;
    if (s.ssl && SSL_session_reused(s.ssl.get())) ++reused;
    if (s.ssl && tickets_ != Tickets::none) ctx_.keep_ticket(s.ssl.get());
    epoll_ctl(ep_, EPOLL_CTL_DEL, s.fd, nullptr);
    if (keep_) {
      s.state = Session::State::open;
      kept_.push_back(std::move(s));
      s = Session{};
    } else {
      s.state = Session::State::open;
      close_session(s);
    }
    s.state = Session::State::failed;  // slot free again
  }

  void fail(std::size_t i, const std::string& why) {
    Session& s = slots_[i];
    ++failed;
    if (first_error.empty()) first_error = why;
    if (s.fd >= 0) epoll_ctl(ep_, EPOLL_CTL_DEL, s.fd, nullptr);
    s.state = Session::State::failed;
    close_session(s);
  }

  ClientContext& ctx_;
  Tickets tickets_;
  bool keep_ = false;
  int ep_;
  std::vector<Session> slots_;
  std::vector<Session> kept_;
};

}  // namespace ttygate::bench
