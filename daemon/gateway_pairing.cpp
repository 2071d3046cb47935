// Gateway: the pairing glue between sessions, the Pairing state machine and the client store.
// The state machine decides; this file derives the code from the candidate's TLS session,
// stores an accepted client and tells sessions and observers.
#include <algorithm>
#include <ctime>

#include "common/log.hpp"
#include "daemon/gateway.hpp"
#include "ktls/exporter.hpp"

namespace ttygate::daemon {

void Gateway::pairing_candidate(Session& session) {
  auto code = ktls::pairing_code(session.ssl());
  if (!code) {
    log::error("Failed to derive the pairing code for session " + std::to_string(session.id()) + ": " +
               code.error().message());
    return session.close("no pairing code");
  }
  PairingCandidate candidate{session.id(), session.pin(), sanitize_name(ktls::peer_common_name(session.ssl())),
                             std::move(*code)};
  pairing_->candidate_arrived(std::move(candidate));
}

void Gateway::pairing_window_changed() {
  if (pairing_->open())
    log::notice("Pairing window open for " + std::to_string(pairing_->remaining().count()) + " s, confirmation by " +
                std::string(to_string(config_.pairing.confirm)));
  else
    log::notice("Pairing window closed");
  events_->pairing_changed();
}

void Gateway::pairing_requested(const PairingCandidate& candidate) {
  log::notice("Pairing candidate \"" + candidate.name + "\" " + ktls::fingerprint(candidate.pin) + " (session " +
              std::to_string(candidate.session) + ") shows code " + candidate.code);
  events_->pairing_requested(candidate.pin, candidate.name, candidate.code);
}

bool Gateway::pairing_accept(const PairingCandidate& candidate, std::string* why) {
  Session* waiting = session(candidate.session);
  if (!waiting || waiting->state() != Session::State::pairing) {
    *why = "candidate disconnected";
    return false;
  }
  Role role = config_.pairing.default_role_control ? Role::control : Role::monitor;
  std::int64_t now = std::time(nullptr);
  Client client{candidate.pin, unique_client_name(candidate.name), role, now, now};
  if (auto added = store_.add(client); !added) {
    log::error("Failed to store the paired client: " + added.error().message());
    *why = "the client could not be stored";
    return false;
  }
  log::notice("Paired \"" + client.name + "\" " + ktls::fingerprint(client.pin) + " as " +
              std::string(to_string(role)));
  events_->client_added(client);
  events_->pairing_completed(client);
  waiting->paired(role);
  return true;
}

void Gateway::pairing_reject(std::uint64_t id, std::string_view reason) {
  if (Session* s = session(id); s && s->state() != Session::State::closed)
    s->close("pairing failed: " + std::string(reason));
}

void Gateway::pairing_failed(std::string_view reason) {
  log::notice("Pairing failed: " + std::string(reason));
  events_->pairing_failed(reason);
}

void Gateway::arm(PairingClock::time_point at) {
  auto after = std::max(at - now(), PairingClock::duration::zero());
  pairing_timer_.set(loop_, loop_.timeout(after, [this](int) { pairing_->timer_fired(); }));
}

// A certificate's CN is whatever its maker wrote: two laptops may both say "laptop".
std::string Gateway::unique_client_name(std::string_view wanted) const {
  std::string name(wanted);
  for (unsigned n = 2; store_.find_by_name(name); ++n) {
    std::string suffix = "-" + std::to_string(n);
    name = std::string(wanted.substr(0, 64 - suffix.size())) + suffix;
  }
  return name;
}

void Gateway::close_sessions_of(const ktls::Pin& pin, std::string_view reason) {
  std::vector<Session*> affected;
  for (auto& [id, s] : sessions_)
    if (s->pin() == pin && s->state() != Session::State::closed && !s->candidate()) affected.push_back(s.get());
  for (Session* s : affected) s->close(reason);
}

}  // namespace ttygate::daemon
