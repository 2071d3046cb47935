// SPDX-License-Identifier: Apache-2.0
// NetWatch's pure half: which addresses a port with interfaces listens on, and what changes when
// the kernel's set changes. The netlink side is proven in tests/integration/test_interfaces.py.
#include "daemon/netwatch.hpp"

#include <arpa/inet.h>

#include <gtest/gtest.h>

namespace ttygate::daemon {
namespace {

NetAddress address(int index, const char* text, bool usable = true) {
  NetAddress a;
  a.index = index;
  a.usable = usable;
  a.family = std::string(text).find(':') == std::string::npos ? AF_INET : AF_INET6;
  inet_pton(a.family, text, a.bytes.data());
  return a;
}

std::vector<std::string> texts(const std::vector<InterfaceListen>& listens) {
  std::vector<std::string> result;
  for (const auto& listen : listens) result.push_back(listen.address.text);
  return result;
}

const NetSnapshot kSnapshot{
    {{1, "lo", true}, {2, "eth0", true}, {3, "wlan0", true}, {4, "usb0", false}},
    {address(1, "127.0.0.1"), address(2, "192.168.1.10"), address(2, "fe80::1"), address(2, "fd00::10"),
     address(2, "fd00::11", false), address(3, "10.0.0.5"), address(4, "10.9.0.1")}};

TEST(InterfaceListenAddresses, AreTheUsableAddressesOfTheNamedInterfacesOnly) {
  EXPECT_EQ(texts(interface_listen_addresses(kSnapshot, {"eth0"}, 7000)),
            (std::vector<std::string>{"192.168.1.10:7000", "[fe80::1%eth0]:7000", "[fd00::10]:7000"}));
}

TEST(InterfaceListenAddresses, GiveLinkLocalIPv6ItsInterfaceAsScope) {
  auto listens = interface_listen_addresses(kSnapshot, {"eth0"}, 7000);
  ASSERT_EQ(listens.size(), 3u);
  const auto& in6 = reinterpret_cast<const sockaddr_in6&>(listens[1].address.addr);
  EXPECT_EQ(in6.sin6_scope_id, 2u);
  EXPECT_EQ(ntohs(in6.sin6_port), 7000);
  EXPECT_EQ(reinterpret_cast<const sockaddr_in6&>(listens[2].address.addr).sin6_scope_id, 0u);
  EXPECT_EQ(listens[0].ifindex, 2);
}

TEST(InterfaceListenAddresses, SkipTentativeAddressesAndInterfacesThatAreDown) {
  auto listens = texts(interface_listen_addresses(kSnapshot, {"eth0", "usb0"}, 7000));
  EXPECT_EQ(std::count(listens.begin(), listens.end(), "[fd00::11]:7000"), 0);
  EXPECT_EQ(std::count(listens.begin(), listens.end(), "10.9.0.1:7000"), 0);
}

TEST(InterfaceListenAddresses, AreEmptyForAnInterfaceThatDoesNotExist) {
  EXPECT_TRUE(interface_listen_addresses(kSnapshot, {"eth7"}, 7000).empty());
}

TEST(DiffListen, OpensWhatIsNewAndClosesWhatIsGoneOnly) {
  auto wanted = interface_listen_addresses(kSnapshot, {"eth0", "wlan0"}, 7000);
  ListenDiff diff = diff_listen({"192.168.1.10:7000", "192.168.1.99:7000"}, wanted);
  EXPECT_EQ(diff.removed, (std::vector<std::string>{"192.168.1.99:7000"}));
  EXPECT_EQ(texts(diff.added),
            (std::vector<std::string>{"[fe80::1%eth0]:7000", "[fd00::10]:7000", "10.0.0.5:7000"}));
}

TEST(DiffListen, IsEmptyWhenNothingChangedAndCountsDuplicatesOnce) {
  auto wanted = interface_listen_addresses(kSnapshot, {"wlan0"}, 7000);
  EXPECT_TRUE(diff_listen({"10.0.0.5:7000"}, wanted).added.empty());
  EXPECT_TRUE(diff_listen({"10.0.0.5:7000"}, wanted).removed.empty());
  wanted.push_back(wanted.front());
  EXPECT_EQ(diff_listen({}, wanted).added.size(), 1u);
}

}  // namespace
}  // namespace ttygate::daemon
