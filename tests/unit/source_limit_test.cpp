// SPDX-License-Identifier: Apache-2.0
// SourceLimit: handshakes in progress per IPv4 address or IPv6 /64.
#include "daemon/source_limit.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

#include <string>

namespace ttygate::daemon {
namespace {

sockaddr_storage address(const std::string& text, std::uint16_t port = 40000) {
  sockaddr_storage storage{};
  auto* in = reinterpret_cast<sockaddr_in*>(&storage);
  auto* in6 = reinterpret_cast<sockaddr_in6*>(&storage);
  if (inet_pton(AF_INET, text.c_str(), &in->sin_addr) == 1) {
    in->sin_family = AF_INET;
    in->sin_port = htons(port);
  } else {
    EXPECT_EQ(inet_pton(AF_INET6, text.c_str(), &in6->sin6_addr), 1) << text;
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(port);
  }
  return storage;
}

SourceLimit::Key key(const std::string& text, std::uint16_t port = 40000) {
  return SourceLimit::key_of(address(text, port));
}

using Verdict = SourceLimit::Verdict;
using std::chrono::seconds;
constexpr unsigned kPlenty = 1000;  // per minute, where the test is about handshakes in progress

TEST(SourceLimit, RefusesASourceAtItsLimitUntilOneOfItsHandshakesEnds) {
  SourceLimit limit(2, kPlenty);
  EXPECT_EQ(limit.start(key("192.168.1.7", 1)), Verdict::start);
  EXPECT_EQ(limit.start(key("192.168.1.7", 2)), Verdict::start);
  EXPECT_EQ(limit.start(key("192.168.1.7", 3)), Verdict::too_many);
  EXPECT_EQ(limit.in_progress(key("192.168.1.7")), 2u);  // the refusal counted nothing
  limit.finish(key("192.168.1.7", 1));
  EXPECT_EQ(limit.start(key("192.168.1.7", 4)), Verdict::start);
}

TEST(SourceLimit, CountsEveryIpv4AddressOnItsOwn) {
  SourceLimit limit(1, kPlenty);
  EXPECT_EQ(limit.start(key("192.168.1.7")), Verdict::start);
  EXPECT_EQ(limit.start(key("192.168.1.8")), Verdict::start);
  EXPECT_EQ(limit.start(key("192.168.1.7")), Verdict::too_many);
}

TEST(SourceLimit, TreatsOneIpv6Slash64AsOneSource) {
  SourceLimit limit(1, kPlenty);
  EXPECT_EQ(limit.start(key("fd12:3456:789a:1::10")), Verdict::start);
  EXPECT_EQ(limit.start(key("fd12:3456:789a:1:ffff:1:2:3")), Verdict::too_many);  // same host
  EXPECT_EQ(limit.start(key("fd12:3456:789a:2::10")), Verdict::start);            // the next /64
}

TEST(SourceLimit, CountsAnIpv4MappedPeerAsItsIpv4Address) {
  SourceLimit limit(1, kPlenty);
  EXPECT_EQ(limit.start(key("10.0.0.5")), Verdict::start);
  EXPECT_EQ(limit.start(key("::ffff:10.0.0.5")), Verdict::too_many);
  EXPECT_EQ(limit.start(key("::ffff:10.0.0.6")), Verdict::start);
}

TEST(SourceLimit, AllowsAMinutesHandshakesAtOnceThenRefusesTooFast) {
  SourceLimit limit(100, 3);
  const auto t = SourceLimit::Clock::now();
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(limit.start(key("172.16.0.1"), t), Verdict::start);
    limit.finish(key("172.16.0.1"));  // handshakes that end at once still count against the rate
  }
  EXPECT_EQ(limit.start(key("172.16.0.1"), t + seconds(1)), Verdict::too_fast);
  EXPECT_EQ(limit.start(key("172.16.0.2"), t + seconds(1)), Verdict::start);  // another host
}

TEST(SourceLimit, GivesTheAllowanceBackOverTheMinute) {
  SourceLimit limit(100, 6);
  const auto t = SourceLimit::Clock::now();
  for (int i = 0; i < 6; ++i) limit.start(key("172.16.0.1"), t);
  EXPECT_EQ(limit.start(key("172.16.0.1"), t + seconds(9)), Verdict::too_fast);  // 0.9 earned
  EXPECT_EQ(limit.start(key("172.16.0.1"), t + seconds(11)), Verdict::start);    // 1.1 earned
  EXPECT_EQ(limit.start(key("172.16.0.1"), t + seconds(12)), Verdict::too_fast);  // 0.2 left
  // Refusals cost nothing: 20 s later 2.2 are there, two more handshakes.
  EXPECT_EQ(limit.start(key("172.16.0.1"), t + seconds(32)), Verdict::start);
  EXPECT_EQ(limit.start(key("172.16.0.1"), t + seconds(32)), Verdict::start);
  EXPECT_EQ(limit.start(key("172.16.0.1"), t + seconds(32)), Verdict::too_fast);
}

TEST(SourceLimit, RemembersASourceUntilItsAllowanceIsWholeAgain) {
  SourceLimit limit(100, 2);
  const auto t = SourceLimit::Clock::now();
  limit.start(key("172.16.0.1"), t);
  limit.start(key("172.16.0.1"), t);
  limit.finish(key("172.16.0.1"));
  limit.finish(key("172.16.0.1"));
  EXPECT_EQ(limit.start(key("172.16.0.9"), t + seconds(20)), Verdict::start);
  EXPECT_EQ(limit.sources(), 2u);  // 172.16.0.1 is idle but has not earned its allowance back
  EXPECT_EQ(limit.start(key("172.16.0.1"), t + seconds(20)), Verdict::too_fast);  // 0.67 earned
}

TEST(SourceLimit, ForgetsIdleSourcesWhoseAllowanceIsWhole) {
  SourceLimit limit(100, 2);
  const auto t = SourceLimit::Clock::now();
  limit.start(key("172.16.0.1"), t);
  limit.finish(key("172.16.0.1"));
  limit.start(key("172.16.0.2"), t);  // still in progress: kept however long it takes
  EXPECT_EQ(limit.sources(), 2u);
  limit.start(key("172.16.0.3"), t + seconds(120));
  EXPECT_EQ(limit.sources(), 2u);  // 172.16.0.1 forgotten; .2 busy, .3 new
  EXPECT_EQ(limit.in_progress(key("172.16.0.2")), 1u);
}

}  // namespace
}  // namespace ttygate::daemon
