// SPDX-License-Identifier: Apache-2.0
#include "daemon/pairing.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "daemon/refusal.hpp"

using namespace std::chrono_literals;
using namespace ttygate::daemon;

namespace {

struct FakeTimer final : PairingTimer {
  PairingClock::time_point clock{};
  std::optional<PairingClock::time_point> armed;
  PairingClock::time_point now() const override { return clock; }
  void arm(PairingClock::time_point at) override { armed = at; }
  void disarm() override { armed.reset(); }
};

// Records every outcome as one word, so a scenario's expectations read as a list.
struct Recorder final : PairingObserver {
  std::vector<std::string> events;
  bool store_ok = true;
  void pairing_window_changed() override { events.push_back("window"); }
  void pairing_exchange(const PairingCandidate& c) override { events.push_back("exchange " + std::to_string(c.session)); }
  void pairing_requested(const PairingCandidate& c) override {
    events.push_back(c.code.empty() ? "requested" : "requested " + c.code);
  }
  bool pairing_accept(const PairingCandidate& c, std::string* why) override {
    if (!store_ok) *why = "store full";
    events.push_back("accept " + std::to_string(c.session));
    return store_ok;
  }
  void pairing_reject(std::uint64_t s, std::string_view r) override {
    events.push_back("reject " + std::to_string(s) + " " + std::string(r));
  }
  void pairing_failed(std::string_view r) override { events.push_back("failed " + std::string(r)); }
};

PairingCandidate candidate(std::uint64_t session, std::uint8_t key) {
  PairingCandidate c;
  c.session = session;
  c.pin.fill(key);
  c.name = "client" + std::to_string(session);
  return c;
}

class APairingWindow : public ::testing::Test {
 protected:
  PairingSection config_;
  FakeTimer timer_;
  Recorder seen_;
  std::unique_ptr<Pairing> pairing_;

  void make(Confirm confirm) {
    seen_.events.clear();
    config_.confirm = confirm;
    config_.window = 120s;
    config_.auto_guard = 3000ms;
    pairing_ = std::make_unique<Pairing>(config_, timer_, seen_);
  }
  // "code": a candidate arrives and its exchange shows `code`.
  void shows_code(std::uint64_t session, std::uint8_t key, std::string code = "123456") {
    pairing_->candidate_arrived(candidate(session, key));
    pairing_->candidate_code(session, std::move(code));
  }
  // Moves the clock and fires the timer if it is due, as the loop would.
  void advance(std::chrono::milliseconds by) {
    timer_.clock += by;
    if (timer_.armed && *timer_.armed <= timer_.clock) pairing_->timer_fired();
  }
};

TEST(APairingCode, IsValidOnlyAsSixDigits) {
  EXPECT_TRUE(valid_pairing_code("012345"));
  for (const char* bad : {"", "12345", "1234567", "12a456", " 12345", "-12345"}) EXPECT_FALSE(valid_pairing_code(bad)) << bad;
}

TEST_F(APairingWindow, OpensForTheConfiguredTimeWhenStartedWithZero) {
  make(Confirm::code);
  ASSERT_TRUE(pairing_->start(0s));
  EXPECT_TRUE(pairing_->open());
  EXPECT_EQ(pairing_->remaining(), 120s);
  advance(119'500ms);
  EXPECT_EQ(pairing_->remaining(), 1s);
  advance(500ms);
  EXPECT_FALSE(pairing_->open());
  EXPECT_EQ(seen_.events, (std::vector<std::string>{"window", "window", "failed timeout"}));
}

TEST_F(APairingWindow, RefusesASecondStartAndAnAbsurdLengthWithoutChangingAnything) {
  make(Confirm::code);
  EXPECT_EQ(pairing_->start(3601s).error().code(), Refusal::invalid_args);
  EXPECT_FALSE(pairing_->open());
  ASSERT_TRUE(pairing_->start(30s));
  EXPECT_EQ(pairing_->start(30s).error().code(), Refusal::busy);
  EXPECT_EQ(pairing_->remaining(), 30s);
}

TEST_F(APairingWindow, AcceptsTheCandidateWhoseCodeIsConfirmed) {
  make(Confirm::code);
  ASSERT_TRUE(pairing_->start(60s));
  shows_code(7, 1, "654321");
  ASSERT_TRUE(pairing_->confirm_code("654321"));
  EXPECT_FALSE(pairing_->open());
  EXPECT_EQ(seen_.events, (std::vector<std::string>{"window", "exchange 7", "requested 654321", "window", "accept 7"}));
}

TEST_F(APairingWindow, AbortsOnAWrongCodeButNotOnAMalformedOne) {
  make(Confirm::code);
  ASSERT_TRUE(pairing_->start(60s));
  shows_code(7, 1, "654321");
  EXPECT_EQ(pairing_->confirm_code("65432x").error().code(), Refusal::invalid_args);
  EXPECT_TRUE(pairing_->candidate());
  EXPECT_EQ(pairing_->confirm_code("111111").error().code(), Refusal::wrong_code);
  EXPECT_FALSE(pairing_->open());
  EXPECT_EQ(seen_.events.back(), "failed wrong code");
  EXPECT_EQ(seen_.events[seen_.events.size() - 2], "reject 7 wrong code");
}

TEST_F(APairingWindow, RefusesConfirmationWithoutACandidateOrInAnotherMode) {
  make(Confirm::code);
  EXPECT_EQ(pairing_->confirm_code("123456").error().code(), Refusal::not_active);
  ASSERT_TRUE(pairing_->start(60s));
  EXPECT_EQ(pairing_->confirm_code("123456").error().code(), Refusal::not_active);
  make(Confirm::button);
  ASSERT_TRUE(pairing_->start(60s));
  pairing_->candidate_arrived(candidate(7, 1));
  EXPECT_EQ(pairing_->confirm_code("123456").error().code(), Refusal::not_supported);
  EXPECT_TRUE(pairing_->candidate());
}

TEST_F(APairingWindow, AbortsForBothWhenASecondDistinctClientArrives) {
  struct Case {
    Confirm mode;
    std::vector<std::string> first;  // what the first candidate's arrival did
  } cases[] = {{Confirm::automatic, {"requested"}},
               {Confirm::button, {"requested"}},
               {Confirm::code, {"exchange 1"}},
               {Confirm::passcode, {"requested", "exchange 1"}}};
  for (const Case& c : cases) {
    make(c.mode);
    ASSERT_TRUE(pairing_->start(60s));
    pairing_->candidate_arrived(candidate(1, 1));
    pairing_->candidate_arrived(candidate(2, 2));
    EXPECT_FALSE(pairing_->open());
    std::vector<std::string> expected{"window"};
    expected.insert(expected.end(), c.first.begin(), c.first.end());
    expected.insert(expected.end(), {"reject 2 overlap", "window", "reject 1 overlap", "failed overlap"});
    EXPECT_EQ(seen_.events, expected) << to_string(c.mode);
  }
}

TEST_F(APairingWindow, TurnsAwayTheSameKeyConnectingTwiceWithoutAborting) {
  make(Confirm::code);
  ASSERT_TRUE(pairing_->start(60s));
  pairing_->candidate_arrived(candidate(1, 1));
  pairing_->candidate_arrived(candidate(2, 1));
  EXPECT_TRUE(pairing_->open());
  EXPECT_EQ(pairing_->candidate()->session, 1u);
  EXPECT_EQ(seen_.events.back(), "reject 2 this client is already waiting for confirmation");
}

TEST_F(APairingWindow, AcceptsAutomaticallyOnlyAfterTheGuardWithNoRival) {
  make(Confirm::automatic);
  ASSERT_TRUE(pairing_->start(60s));
  advance(10s);
  pairing_->candidate_arrived(candidate(1, 1));
  advance(2999ms);
  EXPECT_TRUE(pairing_->open());
  advance(1ms);
  EXPECT_FALSE(pairing_->open());
  EXPECT_EQ(seen_.events.back(), "accept 1");
}

TEST_F(APairingWindow, StillTimesOutWhenTheGuardWouldEndAfterTheWindow) {
  make(Confirm::automatic);
  ASSERT_TRUE(pairing_->start(10s));
  advance(9s);
  pairing_->candidate_arrived(candidate(1, 1));
  advance(1s);
  EXPECT_FALSE(pairing_->open());
  EXPECT_EQ(seen_.events.back(), "failed timeout");
}

TEST_F(APairingWindow, OpensOnAPressAndAcceptsOnTheSecondInButtonMode) {
  make(Confirm::button);
  pairing_->button_pressed();
  EXPECT_TRUE(pairing_->open());
  pairing_->button_pressed();  // no candidate yet: nothing to confirm
  EXPECT_TRUE(pairing_->open());
  pairing_->candidate_arrived(candidate(4, 1));
  pairing_->button_pressed();
  EXPECT_FALSE(pairing_->open());
  EXPECT_EQ(seen_.events.back(), "accept 4");
}

TEST_F(APairingWindow, IgnoresASecondPressInCodeMode) {
  make(Confirm::code);
  pairing_->button_pressed();
  pairing_->candidate_arrived(candidate(4, 1));
  pairing_->button_pressed();
  EXPECT_TRUE(pairing_->open());
}

TEST_F(APairingWindow, TurnsAwayTheCandidateWhenStopped) {
  make(Confirm::code);
  EXPECT_EQ(pairing_->stop().error().code(), Refusal::not_active);
  ASSERT_TRUE(pairing_->start(60s));
  pairing_->candidate_arrived(candidate(3, 1));
  ASSERT_TRUE(pairing_->stop());
  EXPECT_FALSE(pairing_->open());
  EXPECT_FALSE(timer_.armed);
  EXPECT_EQ(seen_.events, (std::vector<std::string>{"window", "exchange 3", "window", "reject 3 stopped",
                                                    "failed stopped"}));
}

TEST_F(APairingWindow, FailsWhenTheCandidateDisconnects) {
  make(Confirm::code);
  ASSERT_TRUE(pairing_->start(60s));
  pairing_->candidate_arrived(candidate(3, 1));
  pairing_->connection_closed(9);  // someone else: no effect
  EXPECT_TRUE(pairing_->open());
  pairing_->connection_closed(3);
  EXPECT_FALSE(pairing_->open());
  EXPECT_EQ(seen_.events.back(), "failed candidate disconnected");
}

TEST_F(APairingWindow, RejectsAClientThatArrivesWhenClosed) {
  make(Confirm::code);
  pairing_->candidate_arrived(candidate(3, 1));
  EXPECT_EQ(seen_.events, (std::vector<std::string>{"reject 3 no pairing window is open"}));
}

TEST_F(APairingWindow, ReportsAFailedStoreAsAFailedPairing) {
  make(Confirm::button);
  seen_.store_ok = false;
  ASSERT_TRUE(pairing_->start(60s));
  pairing_->candidate_arrived(candidate(3, 1));
  pairing_->button_pressed();
  EXPECT_EQ(seen_.events.back(), "failed store full");
}

TEST_F(APairingWindow, RefusesConfirmationBeforeTheCandidateShowedItsCode) {
  make(Confirm::code);
  ASSERT_TRUE(pairing_->start(60s));
  pairing_->candidate_arrived(candidate(7, 1));
  EXPECT_EQ(pairing_->confirm_code("123456").error().code(), Refusal::not_active);
  EXPECT_TRUE(pairing_->open());
  pairing_->candidate_code(7, "123456");
  EXPECT_TRUE(pairing_->confirm_code("123456"));
}

TEST_F(APairingWindow, TakesTheCodeOnlyFromTheCandidateAndOnlyOnce) {
  make(Confirm::code);
  ASSERT_TRUE(pairing_->start(60s));
  pairing_->candidate_arrived(candidate(7, 1));
  pairing_->candidate_code(8, "111111");  // not the candidate
  pairing_->candidate_code(7, "222222");
  pairing_->candidate_code(7, "333333");  // a second code is ignored
  EXPECT_EQ(pairing_->candidate()->code, "222222");
  EXPECT_EQ(pairing_->confirm_code("333333").error().code(), Refusal::wrong_code);
}

TEST_F(APairingWindow, AbortsWhenTheCommittedCodeExchangeFails) {
  make(Confirm::code);
  ASSERT_TRUE(pairing_->start(60s));
  pairing_->candidate_arrived(candidate(7, 1));
  pairing_->candidate_failed(8, "protocol");  // not the candidate: nothing happens
  EXPECT_TRUE(pairing_->candidate());
  pairing_->candidate_failed(7, "protocol");
  EXPECT_FALSE(pairing_->open());
  EXPECT_EQ(seen_.events, (std::vector<std::string>{"window", "exchange 7", "window", "reject 7 protocol",
                                                    "failed protocol"}));
}

TEST_F(APairingWindow, AcceptsACandidateThatProvedTheSetupCode) {
  make(Confirm::passcode);
  ASSERT_TRUE(pairing_->start(60s));
  pairing_->candidate_arrived(candidate(5, 1));
  EXPECT_EQ(pairing_->confirm_code("123456").error().code(), Refusal::not_supported);
  pairing_->button_pressed();  // no second-press confirmation in this mode
  pairing_->candidate_code(5, "123456");  // nor a code
  EXPECT_TRUE(pairing_->open());
  pairing_->candidate_proved(5);
  EXPECT_FALSE(pairing_->open());
  EXPECT_EQ(seen_.events, (std::vector<std::string>{"window", "requested", "exchange 5", "window", "accept 5"}));
}

TEST_F(APairingWindow, IgnoresAProofInAnotherMode) {
  make(Confirm::code);
  ASSERT_TRUE(pairing_->start(60s));
  pairing_->candidate_arrived(candidate(5, 1));
  pairing_->candidate_proved(5);
  EXPECT_TRUE(pairing_->open());
  EXPECT_EQ(seen_.events.back(), "exchange 5");
}

TEST_F(APairingWindow, KeepsAPasscodeWindowOpenAfterAFailedAttemptUntilTheLimit) {
  config_.max_passcode_attempts = 3;
  make(Confirm::passcode);
  ASSERT_TRUE(pairing_->start(60s));
  pairing_->candidate_arrived(candidate(1, 1));
  pairing_->candidate_failed(1, "wrong-passcode");
  EXPECT_TRUE(pairing_->open());
  EXPECT_FALSE(pairing_->candidate());
  pairing_->candidate_arrived(candidate(2, 1));  // the same key may try again
  pairing_->connection_closed(2);                // leaving counts as a failed attempt
  EXPECT_TRUE(pairing_->open());
  pairing_->candidate_arrived(candidate(3, 2));
  pairing_->candidate_failed(3, "protocol");
  EXPECT_FALSE(pairing_->open());
  EXPECT_EQ(pairing_->failed_attempts(), 3u);
  EXPECT_EQ(seen_.events,
            (std::vector<std::string>{"window", "requested", "exchange 1", "reject 1 wrong-passcode",
                                      "failed wrong-passcode", "requested", "exchange 2",
                                      "reject 2 candidate disconnected", "failed candidate disconnected", "requested",
                                      "exchange 3", "reject 3 protocol", "failed protocol", "window"}));
}

TEST_F(APairingWindow, CountsPasscodeAttemptsAfreshInEachWindow) {
  config_.max_passcode_attempts = 2;
  make(Confirm::passcode);
  ASSERT_TRUE(pairing_->start(60s));
  pairing_->candidate_arrived(candidate(1, 1));
  pairing_->candidate_failed(1, "wrong-passcode");
  ASSERT_TRUE(pairing_->stop());
  ASSERT_TRUE(pairing_->start(60s));
  EXPECT_EQ(pairing_->failed_attempts(), 0u);
  pairing_->candidate_arrived(candidate(2, 1));
  pairing_->candidate_failed(2, "wrong-passcode");
  EXPECT_TRUE(pairing_->open());
}

}  // namespace
