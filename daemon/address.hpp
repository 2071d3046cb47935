// SPDX-License-Identifier: Apache-2.0
// Address: IP addresses as ttygated reads them in its configuration and meets them on sockets:
// listen addresses ("[::]:7000"), address ranges for allow_from ("10.0.0.0/8"), and peers.
//
// One rule for IPv4-mapped IPv6 addresses (::ffff:a.b.c.d, how a dual-stack socket reports an
// IPv4 peer): wherever the gateway compares, counts or shows a peer, such an address is the IPv4
// address it carries (ip_address_of() is the one place that says so). A range written inside
// ::ffff:0:0/96 is the IPv4 range it denotes; a listen address may not be IPv4-mapped at all.
//
// Parsing is numeric only (no DNS) and strict; a bad text is errc::invalid_argument whose
// context says on one line what was expected and what was found (escaped):
//   expected a prefix length 0..32 after '/', got "10.0.0.0/33"
// Pure functions, no state; a listen address with an interface ("%eth0") asks the kernel for
// its index.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace ttygate::daemon {

// A peer's address and port, IPv4-mapped IPv6 turned into IPv4.
struct IpAddress {
  int family = AF_UNSPEC;                 // AF_INET, AF_INET6, or AF_UNSPEC: no IP address
  std::array<std::uint8_t, 16> bytes{};   // network order; the first 4 for IPv4
  std::uint16_t port = 0;                 // host order

  std::span<const std::uint8_t> host() const { return {bytes.data(), family == AF_INET ? 4u : 16u}; }
};

// Null, AF_UNIX and other families give family AF_UNSPEC.
IpAddress ip_address_of(const sockaddr* addr);

// "1.2.3.4:5678" or "[::1]:5678" (IPv4-mapped peers as IPv4), "unknown" for anything else.
std::string address_text(const sockaddr* addr);

// An address range in CIDR form ("10.0.0.0/8", "fe80::/10", "127.0.0.1" = /32).
struct Cidr {
  int family = AF_INET;                 // AF_INET or AF_INET6
  std::uint8_t bytes[16] = {};          // network address, first 4 used for IPv4
  unsigned prefix = 0;                  // 0..32 or 0..128
  std::string text;                     // as written, for messages

  // Host bits must be zero ("10.0.0.1/8" is refused, naming "10.0.0.0/8"). A range inside
  // ::ffff:0:0/96 is stored as the IPv4 range it denotes.
  static Result<Cidr> parse(std::string_view text);
  // IPv4-mapped IPv6 peers (::ffff:a.b.c.d) match IPv4 ranges. An IPv6 range matches only
  // genuine IPv6 peers: "::/0" does not admit IPv4 clients. Null or other families: false.
  bool contains(const sockaddr* addr) const;
};

// "addr:port": "0.0.0.0:7000", "[::]:7000", "127.0.0.1:7000", "[fe80::1%eth0]:7000".
// Numeric addresses only (no host names), port 1..65535. An IPv6 link-local address needs an
// interface (name or index), which is resolved when parsed.
struct ListenAddress {
  sockaddr_storage addr{};
  socklen_t length = 0;
  std::string text;

  static Result<ListenAddress> parse(std::string_view text);
  int family() const { return addr.ss_family; }
  // Two addresses are the same when they were written the same: the text is what was parsed.
  bool operator==(const ListenAddress& other) const { return text == other.text; }
};

}  // namespace ttygate::daemon
