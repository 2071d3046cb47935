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

TEST(SourceLimit, RefusesASourceAtItsLimitUntilOneOfItsHandshakesEnds) {
  SourceLimit limit(2);
  EXPECT_TRUE(limit.start(key("192.168.1.7", 1)));
  EXPECT_TRUE(limit.start(key("192.168.1.7", 2)));
  EXPECT_FALSE(limit.start(key("192.168.1.7", 3)));
  EXPECT_EQ(limit.in_progress(key("192.168.1.7")), 2u);  // the refusal counted nothing
  limit.finish(key("192.168.1.7", 1));
  EXPECT_TRUE(limit.start(key("192.168.1.7", 4)));
}

TEST(SourceLimit, CountsEveryIpv4AddressOnItsOwn) {
  SourceLimit limit(1);
  EXPECT_TRUE(limit.start(key("192.168.1.7")));
  EXPECT_TRUE(limit.start(key("192.168.1.8")));
  EXPECT_FALSE(limit.start(key("192.168.1.7")));
  EXPECT_EQ(limit.sources(), 2u);
}

TEST(SourceLimit, TreatsOneIpv6Slash64AsOneSource) {
  SourceLimit limit(1);
  EXPECT_TRUE(limit.start(key("fd12:3456:789a:1::10")));
  EXPECT_FALSE(limit.start(key("fd12:3456:789a:1:ffff:1:2:3")));  // same host, another address
  EXPECT_TRUE(limit.start(key("fd12:3456:789a:2::10")));           // the next /64
}

TEST(SourceLimit, CountsAnIpv4MappedPeerAsItsIpv4Address) {
  SourceLimit limit(1);
  EXPECT_TRUE(limit.start(key("10.0.0.5")));
  EXPECT_FALSE(limit.start(key("::ffff:10.0.0.5")));
  EXPECT_TRUE(limit.start(key("::ffff:10.0.0.6")));
}

TEST(SourceLimit, ForgetsASourceOnceNothingOfItIsInProgress) {
  SourceLimit limit(3);
  limit.start(key("172.16.0.1"));
  limit.start(key("172.16.0.1"));
  limit.finish(key("172.16.0.1"));
  EXPECT_EQ(limit.sources(), 1u);
  limit.finish(key("172.16.0.1"));
  EXPECT_EQ(limit.sources(), 0u);
  limit.finish(key("172.16.0.1"));  // an extra finish is harmless
  EXPECT_EQ(limit.in_progress(key("172.16.0.1")), 0u);
}

}  // namespace
}  // namespace ttygate::daemon
