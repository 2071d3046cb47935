// SPDX-License-Identifier: Apache-2.0
// Admission limits: which handshake gives way when every slot is taken (least progress, then
// the oldest, sparing young handshakes whose ClientHello arrived), the session caps, and their
// config keys.
#include "daemon/admission_limits.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "daemon/config.hpp"

namespace ttygate::daemon {
namespace {

using namespace std::chrono_literals;

const HandshakeClock::time_point t0 = HandshakeClock::time_point{} + 1h;

TEST(AnEviction, TakesTheOldestOfTheHandshakesWithoutAClientHello) {
  std::vector<HandshakeInProgress> handshakes{
      {1, t0, true}, {2, t0 + 10ms, false}, {3, t0 + 5ms, false}, {4, t0 + 20ms, false}};
  EXPECT_EQ(choose_eviction(handshakes, t0 + 30s), 3u);
}

TEST(AnEviction, PrefersASilentNewcomerOverAnOldHandshakeThatSentItsHello) {
  // Progress outranks age: a byte-a-second peer never outlives a client that spoke at once.
  std::vector<HandshakeInProgress> handshakes{{1, t0, true}, {2, t0 + 9s, false}};
  EXPECT_EQ(choose_eviction(handshakes, t0 + 9s), 2u);
}

TEST(AnEviction, TakesTheOldestHelloOnceNoneIsSilent) {
  std::vector<HandshakeInProgress> handshakes{{7, t0 + 2s, true}, {5, t0 + 1s, true}, {6, t0 + 3s, true}};
  EXPECT_EQ(choose_eviction(handshakes, t0 + 10s), 5u);
}

TEST(AnEviction, SparesHandshakesThatSentTheirHelloWithinTheGrace) {
  std::vector<HandshakeInProgress> handshakes{{1, t0, true}, {2, t0 + 500ms, true}};
  EXPECT_EQ(choose_eviction(handshakes, t0 + 999ms, 1000ms), std::nullopt);
  EXPECT_EQ(choose_eviction(handshakes, t0 + 1000ms, 1000ms), 1u);  // the grace is over for the first
}

TEST(AnEviction, NeverSparesASilentHandshakeHoweverYoung) {
  std::vector<HandshakeInProgress> handshakes{{1, t0, true}, {2, t0 + 1ms, false}};
  EXPECT_EQ(choose_eviction(handshakes, t0 + 1ms, 1000ms), 2u);
}

TEST(AnEviction, BreaksTiesInAcceptOrder) {
  std::vector<HandshakeInProgress> handshakes{{9, t0, false}, {4, t0, false}};
  EXPECT_EQ(choose_eviction(handshakes, t0 + 5s), 4u);
}

TEST(AnEviction, HasNobodyToTakeFromAnEmptyTable) { EXPECT_EQ(choose_eviction({}, t0), std::nullopt); }

TEST(ASessionCap, LetsOneMoreInBelowBothLimits) {
  EXPECT_EQ(session_cap({3, 1}, 4, 2, "bus", "laptop"), std::nullopt);
}

TEST(ASessionCap, RefusesAClientAtItsOwnLimitNamingTheKey) {
  EXPECT_EQ(session_cap({5, 2}, 100, 2, "bus", "laptop"),
            "laptop: already has 2 sessions (limits.max_sessions_per_client)");
}

TEST(ASessionCap, RefusesAFullPortNamingTheKey) {
  EXPECT_EQ(session_cap({4, 0}, 4, 16, "bus", "laptop"), "laptop: port bus already has 4 sessions (limits.max_sessions)");
}

const std::string kPort = "[[port]]\nname = \"bus\"\ndevice = \"/dev/ttyUSB0\"\nlisten = [\"0.0.0.0:7000\"]\n";

TEST(LockoutLimits, HaveSaneDefaults) {
  Config config = parse_config(kPort, "/etc/ttygate/ttygated.toml");
  EXPECT_EQ(config.limits.max_sessions, 128u);
  EXPECT_EQ(config.limits.max_sessions_per_client, 16u);
  EXPECT_EQ(config.limits.hello_timeout, 2000ms);
  EXPECT_LT(config.limits.hello_timeout, config.limits.handshake_timeout);
}

TEST(LockoutLimits, AreReadFromTheLimitsTable) {
  Config config = parse_config(
      kPort + "[limits]\nmax_sessions = 3\nmax_sessions_per_client = 2\nhello_timeout_ms = 500\n", "f.toml");
  EXPECT_EQ(config.limits.max_sessions, 3u);
  EXPECT_EQ(config.limits.max_sessions_per_client, 2u);
  EXPECT_EQ(config.limits.hello_timeout, 500ms);
}

TEST(LockoutLimits, RefuseZeroSessions) {
  EXPECT_THROW(parse_config(kPort + "[limits]\nmax_sessions = 0\n", "f.toml"), ConfigError);
  EXPECT_THROW(parse_config(kPort + "[limits]\nmax_sessions_per_client = 0\n", "f.toml"), ConfigError);
  EXPECT_THROW(parse_config(kPort + "[limits]\nhello_timeout_ms = 10\n", "f.toml"), ConfigError);
}

}  // namespace
}  // namespace ttygate::daemon
