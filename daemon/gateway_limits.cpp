// SPDX-License-Identifier: Apache-2.0
// The gateway's lock-out limits: eviction at max_handshakes and rate-limited refusal lines. The
// rules themselves are in admission_limits.hpp, the session caps' counts in session_tally.hpp;
// the policy is described in docs/threat-model.md ("Lock-out").
#include <vector>

#include "common/log.hpp"
#include "daemon/gateway.hpp"

namespace ttygate::daemon {

// Every slot taken: the newcomer is admitted anyway, and the handshake with the least progress
// (the oldest first) is closed for it. When every slot holds a handshake that is nearly done,
// nobody is evicted: accepting stops (the newcomer still runs, one over the cap) until a
// handshake ends or the grace is over, so a storm of real clients queues in the backlog.
void Gateway::make_room_for_handshake() {
  if (handshaking_ < config_.limits.max_handshakes) return;
  std::vector<HandshakeInProgress> handshakes;
  handshakes.reserve(handshaking_);
  for (const auto& [id, session] : sessions_)
    if (session->state() == Session::State::handshaking && session->ssl())
      handshakes.push_back({id, session->accepted(), session->hello_received()});
  if (auto victim = choose_eviction(handshakes, HandshakeClock::now())) {
    sessions_.at(*victim)->close("evicted: every handshake slot was taken and it had made the least progress "
                                 "(limits.max_handshakes)");
    return;
  }
  if (paused_for_handshakes_) return;
  paused_for_handshakes_ = true;
  log::notice("Pausing accept: " + std::to_string(handshaking_) +
              " handshakes in progress, none to evict (limits.max_handshakes)");
  for_each_listener([](Listener& listener) { listener.pause(); });
  handshake_grace_.set(loop_, loop_.timeout(kEvictionGrace, [this](int) { resume_accepting(); }));
}

void Gateway::resume_accepting() {
  if (!paused_for_handshakes_) return;
  paused_for_handshakes_ = false;
  handshake_grace_.reset();
  log::info("Resuming accept");
  for_each_listener([](Listener& listener) { listener.resume(); });
}

// One line per cause per interval: the reason is the cause (a fixed text, or OpenSSL's reason).
void Gateway::handshake_closed(const Session& session, std::string_view reason) {
  refusals_.refuse(reason.substr(0, 160), "Session " + std::to_string(session.id()) + " (" + session.peer().text +
                                              "): closed: " + std::string(reason),
                   log::Level::info);
}

void Gateway::flush_refusals_periodically() {
  refusal_flush_.set(loop_, loop_.timeout(refusals_.interval(), [this](int) {
    refusals_.flush();
    flush_refusals_periodically();
  }));
}

}  // namespace ttygate::daemon
