// SPDX-License-Identifier: Apache-2.0
// IP addresses: parsing, matching, showing. See address.hpp.
#include "daemon/address.hpp"

#include <arpa/inet.h>
#include <net/if.h>

#include <charconv>
#include <cstring>
#include <optional>
#include <system_error>

#include "common/concat.hpp"
#include "common/escape.hpp"

namespace ttygate::daemon {
namespace {

Error invalid(std::string problem) { return Error(std::make_error_code(std::errc::invalid_argument), std::move(problem)); }

// ::ffff:a.b.c.d, the form in which an IPv6 socket reports an IPv4 peer. Every rule about such
// addresses starts here.
bool is_v4_mapped(const std::uint8_t* bytes) {
  static constexpr std::uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  return std::memcmp(bytes, mapped, sizeof mapped) == 0;
}

// inet_pton on a string_view: refuses embedded NULs rather than reading up to them.
bool parse_address(int family, std::string_view text, void* out) {
  if (text.find('\0') != std::string_view::npos) return false;
  return ::inet_pton(family, std::string(text).c_str(), out) == 1;
}

// ---------------------------------------------------------------------------------------------
// Listen addresses

std::optional<std::uint16_t> port_number(std::string_view text) {
  unsigned value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || text.size() > 5 || error != std::errc{} || end != text.data() + text.size()) {
    return std::nullopt;
  }
  if (value < 1 || value > 65535) return std::nullopt;
  return static_cast<std::uint16_t>(value);
}

// An interface given by name ("eth0") or index ("2"); 0 when there is no such interface.
unsigned interface_index(std::string_view text) {
  if (text.empty() || text.size() >= IF_NAMESIZE || text.find('\0') != std::string_view::npos) return 0;
  unsigned index = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), index);
  char name[IF_NAMESIZE];
  if (error == std::errc{} && end == text.data() + text.size()) {
    return ::if_indextoname(index, name) != nullptr ? index : 0;
  }
  return ::if_nametoindex(std::string(text).c_str());
}

struct HostPort {
  std::string_view host, port;
  bool bracketed = false;
};

// Splits "host:port" / "[host]:port".
Result<HostPort> split_host_port(std::string_view text) {
  if (text.starts_with('[')) {
    const auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return invalid("expected \"[IPv6 address]:port\" such as \"[::]:7000\", got " + shown(text));
    }
    return HostPort{text.substr(1, close - 1), text.substr(close + 2), true};
  }
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos) {
    return invalid("expected \"address:port\" such as \"0.0.0.0:7000\" or \"[::]:7000\", got " + shown(text));
  }
  HostPort split{text.substr(0, colon), text.substr(colon + 1), false};
  if (split.host.find(':') != std::string_view::npos) {
    return invalid("expected an IPv6 address in brackets, such as \"[::1]:7000\", got " + shown(text));
  }
  return split;
}

// The scope of an IPv6 listen address: the interface after '%', which a link-local one needs.
Result<std::uint32_t> ipv6_scope(std::string_view host, const in6_addr& address, std::string_view text) {
  const auto percent = host.find('%');
  if (percent == std::string_view::npos) {
    if (!IN6_IS_ADDR_LINKLOCAL(&address)) return std::uint32_t{0};
    return invalid("expected an interface for a link-local address, such as \"[fe80::1%eth0]:7000\", got " +
                   shown(text));
  }
  const unsigned index = interface_index(host.substr(percent + 1));
  if (index == 0) {
    return invalid("expected the name or index of an existing network interface after '%', got " + shown(text));
  }
  return std::uint32_t{index};
}

Result<sockaddr_in6> ipv6_listen_host(std::string_view host, std::string_view text) {
  sockaddr_in6 in6{};
  in6.sin6_family = AF_INET6;
  if (!parse_address(AF_INET6, host.substr(0, host.find('%')), &in6.sin6_addr)) {
    return invalid("expected an IPv6 address inside the brackets, got " + shown(text));
  }
  if (is_v4_mapped(in6.sin6_addr.s6_addr)) {
    return invalid("expected an IPv6 address, got the IPv4-mapped " + shown(text) +
                   "; write the IPv4 address as \"a.b.c.d:port\"");
  }
  auto scope = ipv6_scope(host, in6.sin6_addr, text);
  if (!scope) return scope.error();
  in6.sin6_scope_id = *scope;
  return in6;
}

Result<sockaddr_in> ipv4_listen_host(std::string_view host, std::string_view text) {
  sockaddr_in in{};
  in.sin_family = AF_INET;
  if (!parse_address(AF_INET, host, &in.sin_addr)) {
    return invalid("expected a numeric IPv4 address before the port (names are not resolved), got " + shown(text));
  }
  return in;
}

template <class SockAddr>
void put(ListenAddress& listen, const SockAddr& addr) {
  std::memcpy(&listen.addr, &addr, sizeof addr);
  listen.length = sizeof addr;
}

// ---------------------------------------------------------------------------------------------
// Ranges

bool prefix_matches(const std::uint8_t* network, const std::uint8_t* address, unsigned prefix) {
  const unsigned whole = prefix / 8, rest = prefix % 8;
  if (std::memcmp(network, address, whole) != 0) return false;
  if (rest == 0) return true;
  const auto mask = static_cast<std::uint8_t>(0xff << (8 - rest));
  return (network[whole] & mask) == (address[whole] & mask);
}

void clear_host_bits(std::uint8_t* bytes, std::size_t size, unsigned prefix) {
  for (std::size_t i = 0; i < size; ++i) {
    const unsigned kept = prefix >= (i + 1) * 8 ? 8 : prefix > i * 8 ? prefix - i * 8 : 0;
    bytes[i] &= static_cast<std::uint8_t>(0xff00 >> kept);
  }
}

bool read_network(std::string_view address, Cidr& cidr) {
  if (parse_address(AF_INET, address, cidr.bytes)) {
    cidr.family = AF_INET;
    return true;
  }
  cidr.family = AF_INET6;
  return parse_address(AF_INET6, address, cidr.bytes);
}

// The length after '/', or the whole address when there is none.
std::optional<unsigned> prefix_length(std::string_view text, std::size_t slash, unsigned max) {
  if (slash == std::string_view::npos) return max;
  const std::string_view digits = text.substr(slash + 1);
  unsigned prefix = 0;
  const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), prefix);
  if (digits.empty() || error != std::errc{} || end != digits.data() + digits.size() || prefix > max) {
    return std::nullopt;
  }
  return prefix;
}

Result<void> check_host_bits(const Cidr& cidr) {
  const std::size_t size = cidr.family == AF_INET ? 4 : 16;
  std::uint8_t network[16] = {};
  std::memcpy(network, cidr.bytes, size);
  clear_host_bits(network, size, cidr.prefix);
  if (std::memcmp(network, cidr.bytes, size) == 0) return success();
  char network_text[INET6_ADDRSTRLEN] = {};
  ::inet_ntop(cidr.family, network, network_text, sizeof network_text);
  return invalid("expected a network address with no bits set past the prefix, such as \"" + std::string(network_text) +
                 "/" + std::to_string(cidr.prefix) + "\", got " + shown(cidr.text));
}

// One form for IPv4 ranges however they were written, so contains() compares like with like.
void unmap(Cidr& cidr) {
  if (cidr.family != AF_INET6 || cidr.prefix < 96 || !is_v4_mapped(cidr.bytes)) return;
  std::memmove(cidr.bytes, cidr.bytes + 12, 4);
  std::memset(cidr.bytes + 4, 0, 12);
  cidr.family = AF_INET;
  cidr.prefix -= 96;
}

}  // namespace

IpAddress ip_address_of(const sockaddr* addr) {
  IpAddress ip;
  if (addr != nullptr && addr->sa_family == AF_INET) {
    sockaddr_in in;
    std::memcpy(&in, addr, sizeof in);
    ip.family = AF_INET;
    std::memcpy(ip.bytes.data(), &in.sin_addr, 4);
    ip.port = ntohs(in.sin_port);
  } else if (addr != nullptr && addr->sa_family == AF_INET6) {
    sockaddr_in6 in6;
    std::memcpy(&in6, addr, sizeof in6);
    const std::uint8_t* raw = in6.sin6_addr.s6_addr;
    const bool mapped = is_v4_mapped(raw);
    ip.family = mapped ? AF_INET : AF_INET6;
    std::memcpy(ip.bytes.data(), mapped ? raw + 12 : raw, mapped ? 4 : 16);
    ip.port = ntohs(in6.sin6_port);
  }
  return ip;
}

std::string address_text(const sockaddr* addr) {
  const IpAddress ip = ip_address_of(addr);
  if (ip.family == AF_UNSPEC) return "unknown";
  char host[INET6_ADDRSTRLEN] = "?";
  ::inet_ntop(ip.family, ip.bytes.data(), host, sizeof host);
  const std::string port = std::to_string(ip.port);
  return ip.family == AF_INET ? concat({host, ":", port}) : concat({"[", host, "]:", port});
}

Result<ListenAddress> ListenAddress::parse(std::string_view text) {
  auto split = split_host_port(text);
  if (!split) return split.error();
  const auto port = port_number(split->port);
  if (!port) return invalid("expected a port 1..65535 after the last ':', got " + shown(text));
  ListenAddress result;
  result.text = std::string(text);
  if (split->bracketed) {
    auto in6 = ipv6_listen_host(split->host, text);
    if (!in6) return in6.error();
    in6->sin6_port = htons(*port);
    put(result, *in6);
  } else {
    auto in = ipv4_listen_host(split->host, text);
    if (!in) return in.error();
    in->sin_port = htons(*port);
    put(result, *in);
  }
  return result;
}

Result<Cidr> Cidr::parse(std::string_view text) {
  Cidr cidr;
  cidr.text = std::string(text);
  const auto slash = text.find('/');
  if (!read_network(text.substr(0, slash), cidr)) {
    return invalid("expected an address range such as \"10.0.0.0/8\" or \"fe80::/10\", got " + shown(text));
  }
  const unsigned max = cidr.family == AF_INET ? 32 : 128;
  const auto prefix = prefix_length(text, slash, max);
  if (!prefix) return invalid("expected a prefix length 0.." + std::to_string(max) + " after '/', got " + shown(text));
  cidr.prefix = *prefix;
  if (auto network = check_host_bits(cidr); !network) return network.error();
  unmap(cidr);
  return cidr;
}

bool Cidr::contains(const sockaddr* addr) const {
  const IpAddress peer = ip_address_of(addr);
  return peer.family == family && prefix_matches(bytes, peer.bytes.data(), prefix);
}

}  // namespace ttygate::daemon
