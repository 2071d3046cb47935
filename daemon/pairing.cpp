// SPDX-License-Identifier: Apache-2.0
#include "daemon/pairing.hpp"

#include <algorithm>
#include <cstdio>

#include "daemon/refusal.hpp"

namespace ttygate::daemon {

bool valid_pairing_code(std::string_view code) {
  return code.size() == 6 && std::all_of(code.begin(), code.end(), [](char c) { return c >= '0' && c <= '9'; });
}

Pairing::Pairing(const PairingSection& config, PairingTimer& timer, PairingObserver& observer)
    : config_(config), timer_(timer), observer_(observer) {}

Result<void> Pairing::start(std::chrono::seconds seconds) {
  if (seconds > kMaxWindow)
    return refusal(Refusal::invalid_args, "seconds " + std::to_string(seconds.count()) + " (at most " +
                                              std::to_string(kMaxWindow.count()) + ", 0 = the configured window)");
  if (open_) return refusal(Refusal::busy, "a pairing window is already open");
  if (seconds.count() == 0) seconds = config_.window;
  open_ = true;
  failed_attempts_ = 0;
  deadline_ = timer_.now() + seconds;
  arm();
  observer_.pairing_window_changed();
  return success();
}

Result<void> Pairing::stop() {
  if (!open_) return refusal(Refusal::not_active, "no pairing window is open");
  fail("stopped");
  return success();
}

Result<void> Pairing::confirm_code(std::string_view code) {
  if (!valid_pairing_code(code)) return refusal(Refusal::invalid_args, "code \"" + std::string(code) + "\" (six digits)");
  if (config_.confirm != Confirm::code)
    return refusal(Refusal::not_supported,
                   "pairing is confirmed by " + std::string(to_string(config_.confirm)) + ", not by code");
  if (!candidate_ || candidate_->code.empty())
    return refusal(Refusal::not_active, "no client is waiting for confirmation");
  if (code != candidate_->code) {
    fail("wrong code");
    return refusal(Refusal::wrong_code, "the code does not match the client's: pairing aborted");
  }
  accept();
  return success();
}

void Pairing::button_pressed() {
  if (!open_) {
    (void)start(std::chrono::seconds(0));
    return;
  }
  if (candidate_ && config_.confirm == Confirm::button) accept();
}

void Pairing::candidate_arrived(PairingCandidate candidate) {
  if (!open_) return observer_.pairing_reject(candidate.session, "no pairing window is open");
  if (candidate_ && candidate_->pin == candidate.pin)
    return observer_.pairing_reject(candidate.session, "this client is already waiting for confirmation");
  if (candidate_) {
    observer_.pairing_reject(candidate.session, "overlap");
    return fail("overlap");
  }
  const std::uint64_t id = candidate.session;
  candidate_ = std::move(candidate);
  candidate_->code.clear();
  switch (config_.confirm) {
    case Confirm::automatic:
      guard_until_ = timer_.now() + config_.auto_guard;
      arm();
      return observer_.pairing_requested(*candidate_);
    case Confirm::button:
      return observer_.pairing_requested(*candidate_);
    case Confirm::passcode:
      observer_.pairing_requested(*candidate_);
      if (is_candidate(id)) observer_.pairing_exchange(*candidate_);
      return;
    case Confirm::code:
      return observer_.pairing_exchange(*candidate_);  // the code comes with candidate_code()
  }
}

void Pairing::candidate_code(std::uint64_t session, std::string code) {
  if (!is_candidate(session) || config_.confirm != Confirm::code || !candidate_->code.empty()) return;
  candidate_->code = std::move(code);
  observer_.pairing_requested(*candidate_);
}

void Pairing::candidate_proved(std::uint64_t session) {
  if (is_candidate(session) && config_.confirm == Confirm::passcode) accept();
}

void Pairing::candidate_failed(std::uint64_t session, std::string_view reason) {
  if (!is_candidate(session)) return;
  if (config_.confirm == Confirm::passcode) return fail_attempt(reason);
  fail(reason);
}

void Pairing::connection_closed(std::uint64_t session) {
  if (!is_candidate(session)) return;
  if (config_.confirm == Confirm::passcode) return fail_attempt("candidate disconnected");
  candidate_.reset();  // gone already: nothing to reject
  fail("candidate disconnected");
}

// A passcode attempt ends only its candidate; enough of them end the window, so an attacker
// gets max_passcode_attempts online guesses per window.
void Pairing::fail_attempt(std::string_view reason) {
  std::string why(reason);  // may point into the candidate
  PairingCandidate turned_away = std::move(*candidate_);
  candidate_.reset();
  ++failed_attempts_;
  observer_.pairing_reject(turned_away.session, why);
  observer_.pairing_failed(why);
  if (open_ && failed_attempts_ >= config_.max_passcode_attempts) close_window();
}

void Pairing::timer_fired() {
  if (!open_) return;
  auto now = timer_.now();
  if (guard_until_ && now >= *guard_until_ && candidate_) return accept();
  if (now >= deadline_) return fail("timeout");
  arm();
}

std::chrono::seconds Pairing::remaining() const {
  if (!open_) return std::chrono::seconds(0);
  auto left = deadline_ - timer_.now();
  if (left <= PairingClock::duration::zero()) return std::chrono::seconds(0);
  return std::chrono::ceil<std::chrono::seconds>(left);
}

void Pairing::fail(std::string_view reason) {
  std::optional<PairingCandidate> turned_away = std::move(candidate_);
  close_window();
  if (turned_away) observer_.pairing_reject(turned_away->session, reason);
  observer_.pairing_failed(reason);
}

void Pairing::accept() {
  PairingCandidate accepted = std::move(*candidate_);
  close_window();
  std::string why;
  if (!observer_.pairing_accept(accepted, &why)) {
    observer_.pairing_reject(accepted.session, why);
    observer_.pairing_failed(why);
  }
}

void Pairing::close_window() {
  open_ = false;
  candidate_.reset();
  guard_until_.reset();
  timer_.disarm();
  observer_.pairing_window_changed();
}

void Pairing::arm() {
  auto at = deadline_;
  if (guard_until_) at = std::min(at, *guard_until_);
  timer_.arm(at);
}

}  // namespace ttygate::daemon
