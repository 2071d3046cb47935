// SPDX-License-Identifier: Apache-2.0
// NetWatch: the kernel's interfaces and their addresses, followed over route netlink (libnl-route)
// on the loop, for ports that listen on named interfaces ([[port]] interfaces = [...]).
//
// The notifications (RTNLGRP_LINK, RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV6_IFADDR on a non-blocking
// nl_sock whose fd the loop polls) are only a trigger: each wake-up drains the socket, then reads
// the whole truth again with a dump (libnl's link and address caches on a second socket) and
// hands it on as a NetSnapshot. A burst of a thousand changes thus costs a few dumps and ends in
// the right set; an overflowing socket (ENOBUFS: notifications were lost) is the same resync,
// never a silent stop. A failed dump is retried after a second.
//
// The pure half (interface_listen_addresses, diff_listen) decides what a port listens on; it is
// unit-tested without a kernel. Single-threaded; neither copied nor moved (its address is in
// loop handlers).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "daemon/address.hpp"
#include "daemon/loop.hpp"

struct nl_sock;

namespace ttygate::daemon {

struct NetLink {
  int index = 0;
  std::string name;
  bool up = false;  // IFF_UP
};

struct NetAddress {
  int index = 0;                          // the interface's
  int family = AF_INET;                   // AF_INET or AF_INET6
  std::array<std::uint8_t, 16> bytes{};   // network order, first 4 for IPv4
  bool usable = true;                     // not tentative (IPv6 DAD running) and not DAD-failed
};

struct NetSnapshot {
  std::vector<NetLink> links;
  std::vector<NetAddress> addresses;
};

// Every address a port with these interfaces listens on, in snapshot order: the usable
// addresses of the named interfaces that are up, IPv4 and IPv6, link-local IPv6 with the
// interface as its scope ("[fe80::1%eth0]:7000"). Nothing of any other interface.
struct InterfaceListen {
  ListenAddress address;
  int ifindex = 0;  // the interface it belongs to
};
std::vector<InterfaceListen> interface_listen_addresses(const NetSnapshot& snapshot,
                                                       const std::vector<std::string>& interfaces,
                                                       std::uint16_t port);

// What to close (by text) and what to open to go from `current` to `wanted` (duplicates in
// `wanted` count once).
struct ListenDiff {
  std::vector<std::string> removed;
  std::vector<InterfaceListen> added;
};
ListenDiff diff_listen(const std::vector<std::string>& current, const std::vector<InterfaceListen>& wanted);

struct NlSockDeleter {
  void operator()(nl_sock* sock) const;
};
using NlSockPtr = std::unique_ptr<nl_sock, NlSockDeleter>;

class NetWatch {
 public:
  using OnChange = std::function<void(const NetSnapshot&)>;

  // Subscribes and takes the first snapshot; on_change runs after every later resync (not for
  // the first one: read snapshot()).
  static Result<std::unique_ptr<NetWatch>> open(Loop& loop, OnChange on_change);
  NetWatch(const NetWatch&) = delete;
  NetWatch& operator=(const NetWatch&) = delete;
  ~NetWatch();

  const NetSnapshot& snapshot() const { return snapshot_; }
  // Dumps again now (soon, after a failure) and reports the result.
  void resync();
  // Resyncs done and notification overflows seen: for logs and tests.
  unsigned overflows() const { return overflows_; }

 private:
  NetWatch(Loop& loop, OnChange on_change, NlSockPtr events, NlSockPtr dumps);
  Result<NetSnapshot> dump();
  void arm();
  void on_readable(int res);

  Loop& loop_;
  OnChange on_change_;
  NlSockPtr events_;
  NlSockPtr dumps_;
  NetSnapshot snapshot_;
  Op readable_;
  Op retry_;
  unsigned overflows_ = 0;
};

}  // namespace ttygate::daemon
