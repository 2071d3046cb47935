// SPDX-License-Identifier: Apache-2.0
// The session caps' counts kept as tokens come and go, checked against a walk over every live
// token (what the gateway did per admission before), through moves, releases and destruction.
#include "daemon/session_tally.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <random>
#include <utility>
#include <vector>

#include "daemon/loop.hpp"
#include "daemon/relay.hpp"

namespace ttygate::daemon {
namespace {

using Counted = std::pair<std::size_t, std::size_t>;

ktls::Pin pin_of(std::uint8_t n) {
  ktls::Pin pin{};
  pin[0] = n;
  pin[31] = static_cast<std::uint8_t>(0xff - n);
  return pin;
}

class ASessionTally : public ::testing::Test {
 protected:
  ASessionTally() {
    for (int i = 0; i < 3; ++i) {
      ports_[i].name = "port" + std::to_string(i);
      relays_.push_back(std::make_unique<Relay>(loop_, ports_[i]));
    }
  }
  // {on_port, of_client} for this client on this port.
  Counted counted(std::uint8_t client, int port) {
    SessionCounts c = tally_.counts(pin_of(client), *relays_[port]);
    return {c.on_port, c.of_client};
  }

  Loop loop_;
  PortConfig ports_[3];
  std::vector<std::unique_ptr<Relay>> relays_;
  SessionTally tally_;
};

TEST_F(ASessionTally, CountsNothingAtFirst) {
  SessionCounts counts = tally_.counts(pin_of(1), *relays_[0]);
  EXPECT_EQ(counts.on_port, 0u);
  EXPECT_EQ(counts.of_client, 0u);
  EXPECT_EQ(tally_.total(), 0u);
}

TEST_F(ASessionTally, CountsEachTokenOnItsPortAndForItsClientOnEveryPort) {
  auto a = tally_.count(*relays_[0], pin_of(1));
  auto b = tally_.count(*relays_[1], pin_of(1));
  auto c = tally_.count(*relays_[0], pin_of(2));
  EXPECT_EQ(counted(1, 0), Counted(2, 2));
  EXPECT_EQ(counted(2, 1), Counted(1, 1));
  EXPECT_EQ(counted(3, 2), Counted(0, 0));
  EXPECT_EQ(tally_.total(), 3u);
}

TEST_F(ASessionTally, ForgetsATokenWhenItIsDestroyedOrReleasedOnceOnly) {
  {
    auto a = tally_.count(*relays_[0], pin_of(1));
    auto b = tally_.count(*relays_[0], pin_of(1));
    b.release();
    b.release();  // idempotent: never a second decrement
    EXPECT_FALSE(b.counted());
    EXPECT_EQ(counted(1, 0), Counted(1, 1));
  }
  EXPECT_EQ(counted(1, 0), Counted(0, 0));
  EXPECT_EQ(tally_.total(), 0u);
}

TEST_F(ASessionTally, MovesACountWithItsTokenAndNeverCountsItTwice) {
  SessionTally::Token held;
  EXPECT_FALSE(held.counted());
  {
    auto a = tally_.count(*relays_[2], pin_of(4));
    held = std::move(a);
    EXPECT_FALSE(a.counted());  // NOLINT(bugprone-use-after-move): a moved-from token counts nothing
  }
  EXPECT_TRUE(held.counted());
  EXPECT_EQ(tally_.counts(pin_of(4), *relays_[2]).on_port, 1u);
  SessionTally::Token other(std::move(held));
  EXPECT_EQ(tally_.total(), 1u);
  auto replaced = tally_.count(*relays_[1], pin_of(5));
  replaced = std::move(other);  // the replaced token's count goes, the moved one stays
  EXPECT_EQ(counted(5, 1), Counted(0, 0));
  EXPECT_EQ(tally_.counts(pin_of(4), *relays_[2]).of_client, 1u);
  EXPECT_EQ(tally_.total(), 1u);
}

// Thousands of sessions starting and ending in random order, on three ports and for five
// clients: after every step the tally says what walking every live session says.
TEST_F(ASessionTally, AgreesWithAWalkOverEveryLiveSessionAfterEveryStep) {
  struct Live {
    const Relay* relay;
    ktls::Pin pin;
    SessionTally::Token token;
  };
  std::vector<Live> live;
  std::mt19937 random(12);
  for (int step = 0; step < 5000; ++step) {
    if (live.empty() || random() % 3 != 0) {
      const Relay& relay = *relays_[random() % 3];
      ktls::Pin pin = pin_of(static_cast<std::uint8_t>(random() % 5));
      live.push_back({&relay, pin, tally_.count(relay, pin)});
    } else {
      live.erase(live.begin() + static_cast<std::ptrdiff_t>(random() % live.size()));  // moves the others
    }
    for (const auto& relay : relays_)
      for (std::uint8_t p = 0; p < 5; ++p) {
        SessionCounts walked;
        for (const Live& l : live) {
          if (l.relay == relay.get()) ++walked.on_port;
          if (l.pin == pin_of(p)) ++walked.of_client;
        }
        SessionCounts kept = tally_.counts(pin_of(p), *relay);
        ASSERT_EQ(kept.on_port, walked.on_port) << "step " << step;
        ASSERT_EQ(kept.of_client, walked.of_client) << "step " << step;
      }
    ASSERT_EQ(tally_.total(), live.size());
  }
}

}  // namespace
}  // namespace ttygate::daemon
