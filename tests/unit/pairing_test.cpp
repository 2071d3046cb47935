#include "daemon/pairing.hpp"
#include "ktls/exporter.hpp"

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
  void pairing_requested(const PairingCandidate& c) override { events.push_back("requested " + c.code); }
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

PairingCandidate candidate(std::uint64_t session, std::uint8_t key, std::string code = "123456") {
  PairingCandidate c;
  c.session = session;
  c.pin.fill(key);
  c.name = "client" + std::to_string(session);
  c.code = std::move(code);
  return c;
}

class APairingWindow : public ::testing::Test {
 protected:
  PairingSection config_;
  FakeTimer timer_;
  Recorder seen_;
  std::unique_ptr<Pairing> pairing_;

  void make(Confirm confirm) {
    config_.confirm = confirm;
    config_.window = 120s;
    config_.auto_guard = 3000ms;
    pairing_ = std::make_unique<Pairing>(config_, timer_, seen_);
  }
  // Moves the clock and fires the timer if it is due, as the loop would.
  void advance(std::chrono::milliseconds by) {
    timer_.clock += by;
    if (timer_.armed && *timer_.armed <= timer_.clock) pairing_->timer_fired();
  }
};

TEST(APairingCode, IsTheExporterBigEndianModuloAMillionWithLeadingZeros) {
  struct Case {
    std::array<std::uint8_t, 4> bytes;
    const char* code;
  } cases[] = {
      {{0, 0, 0, 0}, "000000"},
      {{0, 0, 0, 42}, "000042"},
      {{0x00, 0x0f, 0x42, 0x40}, "000000"},  // exactly 10^6
      {{0xff, 0xff, 0xff, 0xff}, "967295"},  // 4294967295
      {{0x12, 0x34, 0x56, 0x78}, "419896"},  // 305419896
  };
  for (const auto& c : cases) EXPECT_EQ(ttygate::ktls::pairing_code_from_exporter(c.bytes), c.code);
}

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
  pairing_->candidate_arrived(candidate(7, 1, "654321"));
  ASSERT_TRUE(pairing_->confirm_code("654321"));
  EXPECT_FALSE(pairing_->open());
  EXPECT_EQ(seen_.events, (std::vector<std::string>{"window", "requested 654321", "window", "accept 7"}));
}

TEST_F(APairingWindow, AbortsOnAWrongCodeButNotOnAMalformedOne) {
  make(Confirm::code);
  ASSERT_TRUE(pairing_->start(60s));
  pairing_->candidate_arrived(candidate(7, 1, "654321"));
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
  for (Confirm mode : {Confirm::automatic, Confirm::button, Confirm::code}) {
    seen_.events.clear();
    make(mode);
    ASSERT_TRUE(pairing_->start(60s));
    pairing_->candidate_arrived(candidate(1, 1));
    pairing_->candidate_arrived(candidate(2, 2));
    EXPECT_FALSE(pairing_->open());
    EXPECT_EQ(seen_.events, (std::vector<std::string>{"window", "requested 123456", "reject 2 overlap", "window",
                                                      "reject 1 overlap", "failed overlap"}))
        << to_string(mode);
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
  EXPECT_EQ(seen_.events, (std::vector<std::string>{"window", "requested 123456", "window", "reject 3 stopped",
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

}  // namespace
