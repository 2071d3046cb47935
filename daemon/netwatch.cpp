// SPDX-License-Identifier: Apache-2.0
#include "daemon/netwatch.hpp"

#include <arpa/inet.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
#include <set>

#include "common/concat.hpp"
#include "common/log.hpp"

namespace ttygate::daemon {
namespace {

struct NlCacheDeleter {
  void operator()(nl_cache* cache) const { nl_cache_free(cache); }
};
using NlCachePtr = std::unique_ptr<nl_cache, NlCacheDeleter>;

Error nl_failure(const std::string& what, int nl_error) {
  // libnl's codes are its own (NLE_*): keep its words, call it an I/O error.
  return Error(std::make_error_code(std::errc::io_error), what + ": " + nl_geterror(nl_error));
}

bool is_link_local(const NetAddress& address) {
  return address.family == AF_INET6 && address.bytes[0] == 0xfe && (address.bytes[1] & 0xc0) == 0x80;
}

ListenAddress listen_address_of(const NetAddress& address, const std::string& ifname, std::uint16_t port) {
  ListenAddress listen;
  char text[INET6_ADDRSTRLEN] = {};
  if (address.family == AF_INET) {
    sockaddr_in in{};
    in.sin_family = AF_INET;
    in.sin_port = htons(port);
    std::memcpy(&in.sin_addr, address.bytes.data(), 4);
    std::memcpy(&listen.addr, &in, sizeof in);
    listen.length = sizeof in;
    inet_ntop(AF_INET, &in.sin_addr, text, sizeof text);
    listen.text = concat({text, ":", std::to_string(port)});
    return listen;
  }
  sockaddr_in6 in6{};
  in6.sin6_family = AF_INET6;
  in6.sin6_port = htons(port);
  std::memcpy(&in6.sin6_addr, address.bytes.data(), 16);
  const bool scoped = is_link_local(address);
  if (scoped) in6.sin6_scope_id = static_cast<std::uint32_t>(address.index);
  std::memcpy(&listen.addr, &in6, sizeof in6);
  listen.length = sizeof in6;
  inet_ntop(AF_INET6, &in6.sin6_addr, text, sizeof text);
  listen.text = concat({"[", text, scoped ? "%" : "", scoped ? std::string_view(ifname) : "", "]:", std::to_string(port)});
  return listen;
}

NetLink link_of(rtnl_link* link) {
  const char* name = rtnl_link_get_name(link);
  return {rtnl_link_get_ifindex(link), name ? name : "", (rtnl_link_get_flags(link) & IFF_UP) != 0};
}

std::optional<NetAddress> address_of(rtnl_addr* addr) {
  nl_addr* local = rtnl_addr_get_local(addr);
  const int family = rtnl_addr_get_family(addr);
  if (!local || (family != AF_INET && family != AF_INET6)) return std::nullopt;
  const unsigned size = family == AF_INET ? 4 : 16;
  if (nl_addr_get_len(local) != size) return std::nullopt;
  NetAddress address;
  address.index = rtnl_addr_get_ifindex(addr);
  address.family = family;
  std::memcpy(address.bytes.data(), nl_addr_get_binary_addr(local), size);
  // Optimistic addresses (RFC 4429) may be bound; tentative ones not until DAD ends.
  const unsigned flags = rtnl_addr_get_flags(addr);
  address.usable = !(flags & IFA_F_DADFAILED) && (!(flags & IFA_F_TENTATIVE) || (flags & IFA_F_OPTIMISTIC));
  return address;
}

Result<NlSockPtr> connect_route_socket() {
  NlSockPtr sock(nl_socket_alloc());
  if (!sock) return Error(std::make_error_code(std::errc::not_enough_memory), "allocating a netlink socket");
  if (int r = nl_connect(sock.get(), NETLINK_ROUTE); r < 0) {
    // The shipped unit leaves AF_NETLINK out (only ports that name interfaces need it).
    if (r == -NLE_AF_NOSUPPORT || r == -NLE_PERM)
      return nl_failure("connecting to route netlink (under systemd, ports with `interfaces` need "
                        "RestrictAddressFamilies=AF_NETLINK in a drop-in: docs/configuration.md)", r);
    return nl_failure("connecting to route netlink", r);
  }
  return sock;
}

}  // namespace

void NlSockDeleter::operator()(nl_sock* sock) const { nl_socket_free(sock); }

std::vector<InterfaceListen> interface_listen_addresses(const NetSnapshot& snapshot,
                                                       const std::vector<std::string>& interfaces,
                                                       std::uint16_t port) {
  std::vector<InterfaceListen> result;
  for (const NetAddress& address : snapshot.addresses) {
    if (!address.usable) continue;
    auto link = std::find_if(snapshot.links.begin(), snapshot.links.end(),
                             [&](const NetLink& l) { return l.index == address.index; });
    if (link == snapshot.links.end() || !link->up) continue;
    if (std::find(interfaces.begin(), interfaces.end(), link->name) == interfaces.end()) continue;
    result.push_back({listen_address_of(address, link->name, port), address.index});
  }
  return result;
}

ListenDiff diff_listen(const std::vector<std::string>& current, const std::vector<InterfaceListen>& wanted) {
  ListenDiff diff;
  std::set<std::string> want;
  for (const InterfaceListen& listen : wanted) {
    if (!want.insert(listen.address.text).second) continue;
    if (std::find(current.begin(), current.end(), listen.address.text) == current.end()) diff.added.push_back(listen);
  }
  for (const std::string& text : current)
    if (!want.count(text)) diff.removed.push_back(text);
  return diff;
}

Result<std::unique_ptr<NetWatch>> NetWatch::open(Loop& loop, OnChange on_change) {
  auto events = connect_route_socket();
  if (!events) return events.error();
  nl_socket_disable_seq_check(events->get());
  if (int r = nl_socket_add_memberships(events->get(), RTNLGRP_LINK, RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV6_IFADDR, 0); r < 0)
    return nl_failure("subscribing to link and address changes", r);
  if (int r = nl_socket_set_nonblocking(events->get()); r < 0) return nl_failure("making the netlink socket non-blocking", r);
  auto dumps = connect_route_socket();
  if (!dumps) return dumps.error();
  std::unique_ptr<NetWatch> watch(new NetWatch(loop, std::move(on_change), std::move(*events), std::move(*dumps)));
  // Subscribed before this dump: a change during it is a notification still to come.
  auto first = watch->dump();
  if (!first) return first.error();
  watch->snapshot_ = std::move(*first);
  watch->arm();
  return watch;
}

NetWatch::NetWatch(Loop& loop, OnChange on_change, NlSockPtr events, NlSockPtr dumps)
    : loop_(loop), on_change_(std::move(on_change)), events_(std::move(events)), dumps_(std::move(dumps)) {}

NetWatch::~NetWatch() = default;

Result<NetSnapshot> NetWatch::dump() {
  nl_cache* raw = nullptr;
  if (int r = rtnl_link_alloc_cache(dumps_.get(), AF_UNSPEC, &raw); r < 0) return nl_failure("listing interfaces", r);
  NlCachePtr links(raw);
  if (int r = rtnl_addr_alloc_cache(dumps_.get(), &raw); r < 0) return nl_failure("listing addresses", r);
  NlCachePtr addresses(raw);
  NetSnapshot snapshot;
  for (nl_object* o = nl_cache_get_first(links.get()); o; o = nl_cache_get_next(o))
    snapshot.links.push_back(link_of(reinterpret_cast<rtnl_link*>(o)));
  for (nl_object* o = nl_cache_get_first(addresses.get()); o; o = nl_cache_get_next(o))
    if (auto address = address_of(reinterpret_cast<rtnl_addr*>(o))) snapshot.addresses.push_back(*address);
  return snapshot;
}

void NetWatch::arm() {
  readable_.set(loop_, loop_.poll(nl_socket_get_fd(events_.get()), POLLIN, [this](int res) { on_readable(res); }));
}

// Drains every queued notification (their content is not needed: the dump is the truth), then
// resyncs once.
void NetWatch::on_readable(int res) {
  if (res < 0) log::warning(std::string("Failed to wait for netlink: ") + std::strerror(-res) + "; resyncing");
  std::array<char, 32 * 1024> buffer;
  const int fd = nl_socket_get_fd(events_.get());
  for (;;) {
    ssize_t n = ::recv(fd, buffer.data(), buffer.size(), MSG_DONTWAIT);
    if (n > 0) continue;
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == ENOBUFS) {
      if (overflows_++ == 0) log::notice("Netlink notifications overflowed (ENOBUFS): resyncing from a full dump");
      continue;
    }
    break;  // EAGAIN: drained
  }
  arm();
  resync();
}

void NetWatch::resync() {
  auto snapshot = dump();
  if (!snapshot) {
    log::warning("Failed to read the interfaces: " + snapshot.error().message() + "; retrying in 1 s");
    retry_.set(loop_, loop_.timeout(std::chrono::seconds(1), [this](int) { resync(); }));
    return;
  }
  retry_.reset();
  snapshot_ = std::move(*snapshot);
  on_change_(snapshot_);
}

}  // namespace ttygate::daemon
