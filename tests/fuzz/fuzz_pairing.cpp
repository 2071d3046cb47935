// SPDX-License-Identifier: Apache-2.0
// The pairing state machine (daemon/pairing): any sequence of events (windows, candidates,
// codes, proofs, failures, closed connections, button presses, timer and clock) keeps its
// promises: only the current candidate is ever accepted or asked for, at most once per window,
// only while a window is open, and never in "code" mode without the right code confirmed.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "daemon/pairing.hpp"

namespace {

using namespace ttygate::daemon;

class FakeTimer final : public PairingTimer {
 public:
  PairingClock::time_point now() const override { return now_; }
  void arm(PairingClock::time_point at) override { armed_ = at; }
  void disarm() override { armed_.reset(); }
  PairingClock::time_point now_{std::chrono::hours(1)};
  std::optional<PairingClock::time_point> armed_;
};

class Checker final : public PairingObserver {
 public:
  void pairing_window_changed() override {}
  void pairing_exchange(const PairingCandidate&) override {}
  void pairing_requested(const PairingCandidate&) override {}
  bool pairing_accept(const PairingCandidate& candidate, std::string* why) override {
    // The machine may close its window before it tells the observer: judge by the state the
    // event found.
    if (!open_before_ || candidate_before_ != candidate.session) std::abort();
    if (pairing_->mode() == Confirm::code && confirmed_code_ != candidate.code) std::abort();
    if (++accepted_ > windows_) std::abort();  // at most one accept per window
    if (!accept_result_) *why = "the store could not be written";  // the contract: false with a reason
    return accept_result_;
  }
  void pairing_reject(std::uint64_t, std::string_view) override {}
  void pairing_failed(std::string_view reason) override {
    if (reason.empty()) std::abort();
  }

  Pairing* pairing_ = nullptr;
  bool open_before_ = false;
  std::uint64_t candidate_before_ = 0;  // 0: none
  std::string confirmed_code_;
  unsigned accepted_ = 0, windows_ = 0;
  bool accept_result_ = true;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  PairingSection config;
  config.confirm = static_cast<Confirm>(data[0] % 4);
  config.window = std::chrono::seconds(10 + data[0] / 4);
  config.auto_guard = std::chrono::milliseconds(500);
  config.max_passcode_attempts = 1 + data[0] % 5;
  FakeTimer timer;
  Checker checker;
  Pairing pairing(config, timer, checker);
  checker.pairing_ = &pairing;
  for (std::size_t i = 1; i + 1 < size; i += 2) {
    const std::uint8_t event = data[i], arg = data[i + 1];
    const std::uint64_t session = 1 + arg % 4;
    checker.open_before_ = pairing.open();
    checker.candidate_before_ = pairing.candidate() ? pairing.candidate()->session : 0;
    switch (event % 11) {
      case 0:
        if (pairing.start(std::chrono::seconds(arg % 3 == 0 ? 0 : arg * 20)).ok()) ++checker.windows_;
        break;
      case 1: (void)pairing.stop(); break;
      case 2: {
        std::string code = pairing.candidate() && arg % 2 ? pairing.candidate()->code : std::to_string(100000 + arg);
        checker.confirmed_code_ = code;  // accept happens inside confirm_code
        (void)pairing.confirm_code(code);
        checker.confirmed_code_.clear();
        break;
      }
      case 3: {
        const bool was_open = pairing.open();
        pairing.button_pressed();
        if (!was_open && pairing.open()) ++checker.windows_;
        break;
      }
      case 4: {
        PairingCandidate candidate;
        candidate.session = session;
        candidate.pin.fill(static_cast<std::uint8_t>(arg % 3));
        candidate.name = "c" + std::to_string(arg);
        pairing.candidate_arrived(candidate);
        break;
      }
      case 5: pairing.candidate_code(session, std::to_string(100000 + arg * 3)); break;
      case 6: pairing.candidate_proved(session); break;
      case 7: pairing.candidate_failed(session, arg % 2 ? "protocol" : "wrong-passcode"); break;
      case 8: pairing.connection_closed(session); break;
      case 9:
        timer.now_ += std::chrono::milliseconds(arg * 250);
        if (timer.armed_ && *timer.armed_ <= timer.now_) pairing.timer_fired();
        break;
      default: checker.accept_result_ = arg % 4 != 0; break;
    }
    if (pairing.candidate() && !pairing.open()) std::abort();  // a candidate only in a window
  }
  return 0;
}
