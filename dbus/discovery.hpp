// SPDX-License-Identifier: Apache-2.0
// Discovery: every port published as a DNS-SD service, _ttygate._tcp, through Avahi's D-Bus API
// (org.freedesktop.Avahi; no libavahi-client), on its own system-bus connection on the loop.
//
// One Avahi EntryGroup per port, named "<gateway name> <port name>", with the TXT records
// serial=, port=, fp= (the first 16 base32 letters of the gateway's fingerprint) and v=1. It
// follows where the port listens (Gateway::live_listeners): one AddService per interface that
// has a listener (all interfaces for a non-loopback listen address; none for loopback only), and
// is filled again whenever that changes.
//
// Everything is asynchronous (sd_bus_call_async): the loop never waits for Avahi. A name that
// collides (AddService fails with a collision, or the group reports COLLISION because another
// host has it) takes Avahi's alternative name ("name #2") and is published again. When
// avahi-daemon restarts, its groups are gone: NameOwnerChanged brings a new owner and everything
// is published again. No Avahi on the bus is one warning, then nothing until it appears.
//
// The TXT record is unsigned: a hint for finding a gateway, never a substitute for the TLS pin.
// Neither copied nor moved (its address is sd-bus userdata). Single-threaded.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/gateway.hpp"
#include "dbus/bus.hpp"
#include "ktls/pin.hpp"

namespace ttygate::dbus {

inline constexpr const char* kServiceType = "_ttygate._tcp";

// The first 16 letters of the fingerprint, without separators.
std::string fingerprint_prefix(const ktls::Pin& pin);
// "serial=…", "port=…", "fp=…", "v=1".
std::vector<std::string> txt_records(std::string_view serial, std::string_view port, std::string_view fp_prefix);
// "<gateway> <port>", cut to DNS-SD's 63 bytes of an instance name.
std::string service_name(std::string_view gateway, std::string_view port);
// Where to announce a port: the interface indices with a listener, {-1} (every interface) when
// a listen address is not tied to one, {} when the port listens on loopback only.
std::vector<int> announce_interfaces(const std::vector<daemon::Gateway::LiveListener>& live);

class Discovery {
 public:
  // Throws std::system_error when sd-bus refuses the signal matches (start-up only).
  Discovery(Bus& bus, daemon::Gateway& gateway);
  Discovery(const Discovery&) = delete;
  Discovery& operator=(const Discovery&) = delete;
  ~Discovery();

  class Publication;  // one port's entry group (discovery.cpp)

  Bus& bus() { return bus_; }
  daemon::Gateway& gateway() { return gateway_; }
  // Avahi answered that it is not on the bus: warn once.
  void avahi_missing(const std::string& why);
  void avahi_owner_changed(bool present);
  void state_changed(const char* path, int state, const char* error);

 private:
  Bus& bus_;
  daemon::Gateway& gateway_;
  std::vector<std::unique_ptr<Publication>> publications_;
  SdBusSlotPtr owner_match_;
  SdBusSlotPtr state_match_;
  bool warned_missing_ = false;
};

// A system-bus connection of its own, so publishing does not depend on owning
// org.ttygate.Gateway1 (a second gateway on one bus still publishes). nullptr after one warning
// when there is no bus.
struct DiscoveryAttachment {
  std::unique_ptr<Bus> bus;
  std::unique_ptr<Discovery> discovery;
};
DiscoveryAttachment attach_discovery(daemon::Loop& loop, daemon::Gateway& gateway);

}  // namespace ttygate::dbus
