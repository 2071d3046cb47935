// SPDX-License-Identifier: Apache-2.0
// Pairing: the push-button pairing window as a state machine, without sockets or D-Bus.
//
//   closed ──start / button──▶ open ──first unknown client──▶ candidate ──confirm──▶ accepted
//                                 │                              │
//                                 └──── timeout, stop, rival (overlap), wrong code,
//                                       protocol, candidate left ─┴──▶ failed, closed
//
// (confirm = "passcode": a failed candidate only ends that candidate; the window closes after
// max_passcode_attempts of them.)
//
// A window opens by StartPairing or the button and closes on success, timeout, stop or
// overlap. The first unknown client that completes its handshake is the candidate; a second
// client with a different key in the same window aborts pairing for both (WPS-style overlap
// detection): the gateway cannot tell which of two strangers the person at the button meant.
// The same key connecting twice is no rival: the second connection is simply turned away.
//
// Confirmation (Confirm from the config): "code" runs the committed-code exchange with the
// candidate (ktls/pairing_protocol), then waits for confirm_code() with the 6-digit code both
// sides showed; "passcode" runs SPAKE2+ with the gateway's setup code and accepts when the
// candidate proves it; "button" waits for a second press; "auto" accepts once the guard time
// passed with no rival. The exchanges themselves run on the candidate's connection; this
// machine only hears how they end (candidate_code, candidate_proved, candidate_failed).
//
// Time comes through PairingTimer (one timer, re-armed as deadlines change) and outcomes go to
// PairingObserver, so tests drive it table-driven with a fake clock. Single-threaded.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "common/result.hpp"
#include "daemon/config.hpp"
#include "ktls/pin.hpp"

namespace ttygate::daemon {

using PairingClock = std::chrono::steady_clock;

// The seam for time: now, and one timer that calls Pairing::timer_fired().
class PairingTimer {
 public:
  virtual ~PairingTimer() = default;
  virtual PairingClock::time_point now() const = 0;
  virtual void arm(PairingClock::time_point at) = 0;  // replaces the armed time, if any
  virtual void disarm() = 0;
};

struct PairingCandidate {
  std::uint64_t session = 0;  // the connection waiting for the verdict
  ktls::Pin pin{};
  std::string name;           // sanitised certificate CN
  std::string code;           // "code": 6 digits once the exchange showed them, else empty
};

// What the gateway does with each outcome.
class PairingObserver {
 public:
  virtual ~PairingObserver() = default;
  virtual void pairing_window_changed() = 0;                    // opened or closed
  // Run the exchange of this mode ("code", "passcode") on the candidate's connection.
  virtual void pairing_exchange(const PairingCandidate&) = 0;
  // A candidate waits: tell people (with the code, once there is one).
  virtual void pairing_requested(const PairingCandidate&) = 0;
  // Store the candidate and let its connection relay. Returns false with *why when it could not
  // (the window then fails with that reason).
  virtual bool pairing_accept(const PairingCandidate&, std::string* why) = 0;
  // Close this connection (close_notify): the candidate of a failed window, or a turned-away one.
  virtual void pairing_reject(std::uint64_t session, std::string_view reason) = 0;
  virtual void pairing_failed(std::string_view reason) = 0;
};

// True for exactly six ASCII digits.
bool valid_pairing_code(std::string_view code);

class Pairing {
 public:
  static constexpr std::chrono::seconds kMaxWindow{3600};

  Pairing(const PairingSection& config, PairingTimer& timer, PairingObserver& observer);
  Pairing(const Pairing&) = delete;
  Pairing& operator=(const Pairing&) = delete;

  // Opens a window of `seconds` (0 = the configured window_seconds). Refusal::busy when one is
  // open, Refusal::invalid_args beyond kMaxWindow.
  Result<void> start(std::chrono::seconds seconds);
  // Closes the window; a candidate is turned away. Refusal::not_active without a window.
  Result<void> stop();
  // Refusal::invalid_args (not six digits; nothing changes), not_supported (confirm is not
  // "code"; nothing changes), not_active (no candidate with a code yet), wrong_code (the window
  // fails).
  Result<void> confirm_code(std::string_view code);
  // Closed: opens a window. Open with a candidate and confirm = "button": accepts it.
  // Anything else: ignored.
  void button_pressed();

  // Whether an unknown client may become a candidate right now (asked inside its handshake).
  bool open() const { return open_; }
  // A handshake of an unknown client completed. Makes it the candidate, or turns it away, or
  // ends the window on overlap. The observer hears about it before this returns.
  void candidate_arrived(PairingCandidate candidate);
  // The candidate's exchange ended: with the code both ends show ("code"), with a proof of the
  // setup code ("passcode": accepted), or failed ("protocol", "wrong-passcode"). Calls for a
  // session that is not the candidate are ignored.
  void candidate_code(std::uint64_t session, std::string code);
  void candidate_proved(std::uint64_t session);
  void candidate_failed(std::uint64_t session, std::string_view reason);
  // The candidate's connection closed before the verdict: the window fails ("passcode": the
  // attempt fails).
  void connection_closed(std::uint64_t session);
  void timer_fired();

  std::chrono::seconds remaining() const;  // 0 when closed; rounded up
  const std::optional<PairingCandidate>& candidate() const { return candidate_; }
  Confirm mode() const { return config_.confirm; }
  // "passcode": candidates that failed in this window.
  unsigned failed_attempts() const { return failed_attempts_; }

 private:
  bool is_candidate(std::uint64_t session) const { return candidate_ && candidate_->session == session; }
  void fail(std::string_view reason);
  void fail_attempt(std::string_view reason);
  void accept();
  void close_window();
  void arm();

  const PairingSection& config_;
  PairingTimer& timer_;
  PairingObserver& observer_;
  bool open_ = false;
  PairingClock::time_point deadline_{};
  std::optional<PairingClock::time_point> guard_until_;  // "auto": accept at this time
  std::optional<PairingCandidate> candidate_;
  unsigned failed_attempts_ = 0;
};

}  // namespace ttygate::daemon
