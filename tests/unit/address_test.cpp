// SPDX-License-Identifier: Apache-2.0
// Address: listen addresses and address ranges parsed strictly, with one-line problems that say
// what was expected and what was found; peers seen the way every rule compares them, an
// IPv4-mapped IPv6 peer as the IPv4 address it carries.
#include "daemon/address.hpp"

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace ttygate::daemon {
namespace {

// A peer address from text, as accept() would hand it over.
sockaddr_storage peer(const char* text, std::uint16_t port = 0) {
  sockaddr_storage storage{};
  auto* in = reinterpret_cast<sockaddr_in*>(&storage);
  auto* in6 = reinterpret_cast<sockaddr_in6*>(&storage);
  if (inet_pton(AF_INET, text, &in->sin_addr) == 1) {
    in->sin_family = AF_INET;
    in->sin_port = htons(port);
  } else if (inet_pton(AF_INET6, text, &in6->sin6_addr) == 1) {
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(port);
  } else {
    ADD_FAILURE() << "bad peer in test: " << text;
  }
  return storage;
}

const sockaddr* as_sockaddr(const sockaddr_storage& storage) {
  return reinterpret_cast<const sockaddr*>(&storage);
}

std::uint16_t port_of(const ListenAddress& address) {
  if (address.family() == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in&>(address.addr).sin_port);
  return ntohs(reinterpret_cast<const sockaddr_in6&>(address.addr).sin6_port);
}

std::vector<std::uint8_t> host_of(const IpAddress& ip) { return {ip.host().begin(), ip.host().end()}; }

// ---------------------------------------------------------------------------------------------
// Peers

TEST(AnIpAddress, IsTheIPv4AddressAndPortOfAnIPv4Peer) {
  const IpAddress ip = ip_address_of(as_sockaddr(peer("192.0.2.7", 5678)));
  EXPECT_EQ(ip.family, AF_INET);
  EXPECT_EQ(host_of(ip), (std::vector<std::uint8_t>{192, 0, 2, 7}));
  EXPECT_EQ(ip.port, 5678);
}

TEST(AnIpAddress, IsAllSixteenBytesOfAnIPv6Peer) {
  const IpAddress ip = ip_address_of(as_sockaddr(peer("2001:db8::1", 7000)));
  EXPECT_EQ(ip.family, AF_INET6);
  ASSERT_EQ(ip.host().size(), 16u);
  EXPECT_EQ(ip.host()[0], 0x20);
  EXPECT_EQ(ip.host()[15], 0x01);
  EXPECT_EQ(ip.port, 7000);
}

TEST(AnIpAddress, IsTheCarriedIPv4AddressOfAnIPv4MappedPeer) {
  const IpAddress ip = ip_address_of(as_sockaddr(peer("::ffff:192.0.2.7", 5678)));
  EXPECT_EQ(ip.family, AF_INET);
  EXPECT_EQ(host_of(ip), (std::vector<std::uint8_t>{192, 0, 2, 7}));
  EXPECT_EQ(ip.port, 5678);
}

TEST(AnIpAddress, KeepsAnIPv4CompatibleOrNearlyMappedAddressIPv6) {
  for (const char* text : {"::c000:207", "::fffe:192.0.2.7", "::1:ffff:c000:207"}) {
    const auto candidate = peer(text);
    EXPECT_EQ(ip_address_of(as_sockaddr(candidate)).family, AF_INET6) << text;
  }
}

TEST(AnIpAddress, IsUnspecifiedForANullOrNonInetPeer) {
  EXPECT_EQ(ip_address_of(nullptr).family, AF_UNSPEC);
  sockaddr_un local{};
  local.sun_family = AF_UNIX;
  EXPECT_EQ(ip_address_of(reinterpret_cast<const sockaddr*>(&local)).family, AF_UNSPEC);
}

struct Shown {
  const char* address;
  std::uint16_t port;
  const char* text;
};

void PrintTo(const Shown& s, std::ostream* out) { *out << s.address; }

class APeerAddress : public testing::TestWithParam<Shown> {};

TEST_P(APeerAddress, IsShownAsAddressAndPort) {
  const auto candidate = peer(GetParam().address, GetParam().port);
  EXPECT_EQ(address_text(as_sockaddr(candidate)), GetParam().text);
}

INSTANTIATE_TEST_SUITE_P(AddressText, APeerAddress,
                         testing::Values(Shown{"192.0.2.7", 5678, "192.0.2.7:5678"},
                                         Shown{"::1", 7000, "[::1]:7000"},
                                         Shown{"fe80::1:2", 1, "[fe80::1:2]:1"},
                                         Shown{"::ffff:192.0.2.7", 5678, "192.0.2.7:5678"}));

TEST(AddressText, SaysUnknownForANonInetPeer) {
  sockaddr_un local{};
  local.sun_family = AF_UNIX;
  EXPECT_EQ(address_text(reinterpret_cast<const sockaddr*>(&local)), "unknown");
  EXPECT_EQ(address_text(nullptr), "unknown");
}

// ---------------------------------------------------------------------------------------------
// Cidr

TEST(CidrParsing, ReadsABareAddressAsASingleHost) {
  const auto v4 = Cidr::parse("192.168.1.20");
  ASSERT_TRUE(v4);
  EXPECT_EQ(v4->family, AF_INET);
  EXPECT_EQ(v4->prefix, 32u);
  EXPECT_EQ(v4->text, "192.168.1.20");

  const auto v6 = Cidr::parse("2001:db8::7");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->family, AF_INET6);
  EXPECT_EQ(v6->prefix, 128u);
}

TEST(CidrParsing, StoresAMappedRangeAsTheIPv4RangeItDenotes) {
  const auto range = Cidr::parse("::ffff:192.168.0.0/112");
  ASSERT_TRUE(range);
  EXPECT_EQ(range->family, AF_INET);
  EXPECT_EQ(range->prefix, 16u);
  EXPECT_EQ(range->text, "::ffff:192.168.0.0/112");
  EXPECT_TRUE(range->contains(as_sockaddr(peer("192.168.9.9"))));
}

TEST(CidrParsing, AcceptsEveryPrefixLengthUpToTheFamilysWidth) {
  EXPECT_EQ(Cidr::parse("0.0.0.0/0")->prefix, 0u);
  EXPECT_EQ(Cidr::parse("10.1.2.3/32")->prefix, 32u);
  EXPECT_EQ(Cidr::parse("::/0")->prefix, 0u);
  EXPECT_EQ(Cidr::parse("2001:db8::1/128")->prefix, 128u);
  EXPECT_EQ(Cidr::parse("10.1.2.0/23")->prefix, 23u);
}

TEST(CidrParsing, ReadsTheWholeMappedBlockAsEveryIPv4Address) {
  const auto range = Cidr::parse("::ffff:0.0.0.0/96");
  ASSERT_TRUE(range.ok()) << range.error().message();
  EXPECT_EQ(range->family, AF_INET);
  EXPECT_EQ(range->prefix, 0u);
  EXPECT_TRUE(range->contains(as_sockaddr(peer("203.0.113.9"))));
  EXPECT_FALSE(range->contains(as_sockaddr(peer("2001:db8::1"))));
}

TEST(CidrParsing, RefusesAnEmbeddedNul) {
  const auto range = Cidr::parse(std::string("10.0.0.0\0/8", 11));
  ASSERT_FALSE(range.ok());
  EXPECT_EQ(range.error().context(),
            "expected an address range such as \"10.0.0.0/8\" or \"fe80::/10\", got \"10.0.0.0\\x00/8\"");
}

struct BadRange {
  const char* text;
  const char* problem;
};

void PrintTo(const BadRange& bad, std::ostream* out) { *out << bad.text; }

class ABadRange : public testing::TestWithParam<BadRange> {};

TEST_P(ABadRange, IsRefusedSayingWhatWasExpected) {
  const auto range = Cidr::parse(GetParam().text);
  ASSERT_FALSE(range.ok());
  EXPECT_EQ(range.error().code(), std::errc::invalid_argument);
  EXPECT_EQ(range.error().context(), GetParam().problem);
}

INSTANTIATE_TEST_SUITE_P(
    CidrParsing, ABadRange,
    testing::Values(
        BadRange{"banana",
                 "expected an address range such as \"10.0.0.0/8\" or \"fe80::/10\", got \"banana\""},
        BadRange{"", "expected an address range such as \"10.0.0.0/8\" or \"fe80::/10\", got \"\""},
        BadRange{"10.0.0/8",
                 "expected an address range such as \"10.0.0.0/8\" or \"fe80::/10\", got \"10.0.0/8\""},
        BadRange{"10.0.0.0/33", "expected a prefix length 0..32 after '/', got \"10.0.0.0/33\""},
        BadRange{"10.0.0.0/", "expected a prefix length 0..32 after '/', got \"10.0.0.0/\""},
        BadRange{"10.0.0.0/-1", "expected a prefix length 0..32 after '/', got \"10.0.0.0/-1\""},
        BadRange{"10.0.0.0/8x", "expected a prefix length 0..32 after '/', got \"10.0.0.0/8x\""},
        BadRange{"fe80::/129", "expected a prefix length 0..128 after '/', got \"fe80::/129\""},
        BadRange{"192.168.1.7/24",
                 "expected a network address with no bits set past the prefix, such as \"192.168.1.0/24\", "
                 "got \"192.168.1.7/24\""},
        BadRange{"fe80::1/10",
                 "expected a network address with no bits set past the prefix, such as \"fe80::/10\", got "
                 "\"fe80::1/10\""}));

struct Membership {
  const char* range;
  const char* peer;
  bool contained;
};

void PrintTo(const Membership& m, std::ostream* out) {
  *out << m.range << (m.contained ? " contains " : " excludes ") << m.peer;
}

class ARange : public testing::TestWithParam<Membership> {};

TEST_P(ARange, ContainsExactlyItsPeers) {
  const auto range = Cidr::parse(GetParam().range);
  ASSERT_TRUE(range) << GetParam().range;
  EXPECT_EQ(range->contains(as_sockaddr(peer(GetParam().peer))), GetParam().contained)
      << GetParam().range << " and " << GetParam().peer;
}

INSTANTIATE_TEST_SUITE_P(
    CidrMatching, ARange,
    testing::Values(
        Membership{"10.0.0.0/8", "10.200.3.4", true}, Membership{"10.0.0.0/8", "11.0.0.1", false},
        Membership{"10.0.0.0/8", "::ffff:10.200.3.4", true},
        Membership{"10.0.0.0/8", "::ffff:11.0.0.1", false}, Membership{"10.0.0.0/8", "::a00:1", false},
        Membership{"172.16.0.0/12", "172.31.255.255", true}, Membership{"172.16.0.0/12", "172.32.0.0", false},
        Membership{"127.0.0.1", "127.0.0.1", true}, Membership{"127.0.0.1", "127.0.0.2", false},
        Membership{"0.0.0.0/0", "203.0.113.9", true}, Membership{"0.0.0.0/0", "::ffff:203.0.113.9", true},
        Membership{"0.0.0.0/0", "2001:db8::1", false}, Membership{"::/0", "2001:db8::1", true},
        Membership{"::/0", "203.0.113.9", false}, Membership{"::/0", "::ffff:203.0.113.9", false},
        Membership{"fe80::/10", "fe80::1", true}, Membership{"fe80::/10", "febf:ffff::1", true},
        Membership{"fe80::/10", "fec0::1", false}, Membership{"fc00::/7", "fdff::1", true},
        Membership{"fc00::/7", "fe00::1", false}, Membership{"::1/128", "::1", true},
        Membership{"::1/128", "::2", false}));

TEST(CidrMatching, RefusesANullOrNonInetPeer) {
  const auto range = Cidr::parse("0.0.0.0/0");
  ASSERT_TRUE(range);
  EXPECT_FALSE(range->contains(nullptr));
  sockaddr_un local{};
  local.sun_family = AF_UNIX;
  EXPECT_FALSE(range->contains(reinterpret_cast<const sockaddr*>(&local)));
}

// ---------------------------------------------------------------------------------------------
// ListenAddress

TEST(ListenAddressParsing, ReadsAnIPv4AddressAndPort) {
  const auto address = ListenAddress::parse("127.0.0.1:7000");
  ASSERT_TRUE(address);
  EXPECT_EQ(address->family(), AF_INET);
  EXPECT_EQ(address->length, sizeof(sockaddr_in));
  EXPECT_EQ(port_of(*address), 7000);
  EXPECT_EQ(reinterpret_cast<const sockaddr_in&>(address->addr).sin_addr.s_addr, htonl(INADDR_LOOPBACK));
  EXPECT_EQ(address->text, "127.0.0.1:7000");
}

TEST(ListenAddressParsing, ReadsABracketedIPv6AddressAndPort) {
  const auto address = ListenAddress::parse("[2001:db8::5]:65535");
  ASSERT_TRUE(address);
  EXPECT_EQ(address->family(), AF_INET6);
  EXPECT_EQ(address->length, sizeof(sockaddr_in6));
  EXPECT_EQ(port_of(*address), 65535);
  in6_addr expected{};
  inet_pton(AF_INET6, "2001:db8::5", &expected);
  EXPECT_EQ(std::memcmp(&reinterpret_cast<const sockaddr_in6&>(address->addr).sin6_addr, &expected,
                        sizeof expected),
            0);
}

TEST(ListenAddressParsing, ResolvesTheInterfaceOfALinkLocalAddressByNameOrIndex) {
  const unsigned loopback = if_nametoindex("lo");
  ASSERT_NE(loopback, 0u) << "this machine has no interface lo";

  const auto by_name = ListenAddress::parse("[fe80::1%lo]:7000");
  ASSERT_TRUE(by_name);
  EXPECT_EQ(reinterpret_cast<const sockaddr_in6&>(by_name->addr).sin6_scope_id, loopback);

  const auto by_index = ListenAddress::parse("[fe80::1%" + std::to_string(loopback) + "]:7000");
  ASSERT_TRUE(by_index);
  EXPECT_EQ(reinterpret_cast<const sockaddr_in6&>(by_index->addr).sin6_scope_id, loopback);
}

struct BadListen {
  const char* text;
  const char* problem;
};

void PrintTo(const BadListen& bad, std::ostream* out) { *out << bad.text; }

class ABadListenAddress : public testing::TestWithParam<BadListen> {};

TEST_P(ABadListenAddress, IsRefusedSayingWhatWasExpected) {
  const auto address = ListenAddress::parse(GetParam().text);
  ASSERT_FALSE(address.ok());
  EXPECT_EQ(address.error().code(), std::errc::invalid_argument);
  EXPECT_EQ(address.error().context(), GetParam().problem);
}

INSTANTIATE_TEST_SUITE_P(
    ListenAddressParsing, ABadListenAddress,
    testing::Values(
        BadListen{"0.0.0.0",
                  "expected \"address:port\" such as \"0.0.0.0:7000\" or \"[::]:7000\", got \"0.0.0.0\""},
        BadListen{"::1:7000",
                  "expected an IPv6 address in brackets, such as \"[::1]:7000\", got \"::1:7000\""},
        BadListen{"[::1]7000", "expected \"[IPv6 address]:port\" such as \"[::]:7000\", got \"[::1]7000\""},
        BadListen{"[::1", "expected \"[IPv6 address]:port\" such as \"[::]:7000\", got \"[::1\""},
        BadListen{"0.0.0.0:0", "expected a port 1..65535 after the last ':', got \"0.0.0.0:0\""},
        BadListen{"0.0.0.0:65536", "expected a port 1..65535 after the last ':', got \"0.0.0.0:65536\""},
        BadListen{"0.0.0.0:+7000", "expected a port 1..65535 after the last ':', got \"0.0.0.0:+7000\""},
        BadListen{"0.0.0.0:", "expected a port 1..65535 after the last ':', got \"0.0.0.0:\""},
        BadListen{
            "1.2.3:7000",
            "expected a numeric IPv4 address before the port (names are not resolved), got \"1.2.3:7000\""},
        BadListen{"[1.2.3.4]:7000", "expected an IPv6 address inside the brackets, got \"[1.2.3.4]:7000\""},
        BadListen{
            "[::ffff:1.2.3.4]:7000",
            "expected an IPv6 address, got the IPv4-mapped \"[::ffff:1.2.3.4]:7000\"; write the IPv4 address "
            "as \"a.b.c.d:port\""},
        BadListen{"[fe80::1]:7000",
                  "expected an interface for a link-local address, such as \"[fe80::1%eth0]:7000\", got "
                  "\"[fe80::1]:7000\""},
        BadListen{"[fe80::1%nosuchif0]:7000",
                  "expected the name or index of an existing network interface after '%', got "
                  "\"[fe80::1%nosuchif0]:7000\""},
        BadListen{"[fe80::1%]:7000",
                  "expected the name or index of an existing network interface after '%', got "
                  "\"[fe80::1%]:7000\""}));

}  // namespace
}  // namespace ttygate::daemon
