// SPDX-License-Identifier: Apache-2.0
// Gateway: the pairing glue between sessions, the Pairing state machine and the client store.
// The state machine decides; this file starts each candidate's exchange on its TLS session,
// passes on how it ended, stores an accepted client and tells sessions and observers.
#include <algorithm>
#include <ctime>

#include "common/concat.hpp"
#include "common/log.hpp"
#include "daemon/gateway.hpp"
#include "daemon/passcode.hpp"
#include "daemon/refusal.hpp"

namespace ttygate::daemon {

void Gateway::pairing_candidate(Session& session) {
  pairing_->candidate_arrived({session.id(), session.pin(), sanitize_name(ktls::pairing::peer_common_name(session.ssl())), {}});
}

void Gateway::pairing_exchange(const PairingCandidate& candidate) {
  Session* waiting = session(candidate.session);
  if (!waiting || waiting->state() != Session::State::pairing) return;
  auto exporter = ktls::pairing::exporter(waiting->ssl());
  if (!exporter) {
    log::error("Failed to start pairing with session " + std::to_string(candidate.session) + ": " +
               exporter.error().message());
    return pairing_->candidate_failed(candidate.session, "protocol");
  }
  waiting->start_exchange(config_.pairing.confirm == Confirm::passcode
                              ? ktls::pairing::GatewayExchange::passcode(*exporter, *passcode_)
                              : ktls::pairing::GatewayExchange::committed_code(*exporter));
}

void Gateway::pairing_exchange_ended(Session& session, const ktls::pairing::Step& step) {
  using ktls::pairing::Step;
  switch (step.kind) {
    case Step::code_shown:
      return pairing_->candidate_code(session.id(), step.code);
    case Step::proved:
      log::notice(concat({"Session ", std::to_string(session.id()), ": the candidate proved the setup code"}));
      return pairing_->candidate_proved(session.id());
    case Step::failed:
      log::notice(concat({"Session ", std::to_string(session.id()), ": pairing exchange failed (", step.reason, "): ", step.detail}));
      return pairing_->candidate_failed(session.id(), step.reason);
    case Step::more:
      return;
  }
}

// "passcode": each window reads the verifier afresh, so a new setup code (ttygated
// --new-passcode) takes effect without a restart, and a broken file refuses the window.
Result<void> Gateway::load_passcode() {
  if (config_.pairing.confirm != Confirm::passcode) return success();
  auto loaded = load_passcode_verifier(config_.gateway.state_dir);
  if (!loaded) return refusal(Refusal::failed, loaded.error().message());
  if (!*loaded)
    return refusal(Refusal::not_supported,
                   "pairing is by setup code and none is set: run ttygated --config FILE --new-passcode");
  passcode_ = std::move(**loaded);
  return success();
}

bool Gateway::passcode_set() const {
  std::error_code ec;
  return std::filesystem::exists(passcode_verifier_path(config_.gateway.state_dir), ec);
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
  std::string shows = candidate.code.empty() ? "" : " shows code " + candidate.code;
  if (config_.pairing.confirm == Confirm::passcode) shows = " tries the setup code";
  log::notice("Pairing candidate \"" + candidate.name + "\" " + ktls::fingerprint(candidate.pin) + " (session " +
              std::to_string(candidate.session) + ")" + shows);
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
  log::notice("Paired \"" + client.name + "\" " + ktls::fingerprint(client.pin) + " as " + std::string(to_string(role)),
              {log::message_id(log::kClientPaired), log::port(waiting->relay().port().name),
               log::client(ktls::fingerprint(client.pin)), log::peer(waiting->peer().text),
               log::session(waiting->id())});
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
    std::string suffix = concat({"-", std::to_string(n)});
    name = concat({wanted.substr(0, 64 - suffix.size()), suffix});
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
