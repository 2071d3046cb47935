// SPDX-License-Identifier: Apache-2.0
// Browse: the gateways that announce themselves on the LAN (DNS-SD, _ttygate._tcp), found
// through Avahi's D-Bus API on the system bus (no libavahi-client): a ServiceBrowser lists them,
// ResolveService gives each one's address, port and TXT record.
//
// What an advert says is unsigned: anyone on the LAN can announce any serial and any fingerprint
// prefix. It only tells where to look; the TLS pin (checked against the advertised prefix by
// pair --serial, and against the stored pin by every connection) is what trusts a gateway.
// Blocking, for the command line only.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "tools/ttygate-client/store.hpp"

namespace ttygate::client {

struct Advert {
  std::string name;     // DNS-SD instance name ("ttygate console")
  std::string address;  // numeric; a link-local IPv6 one with "%interface"
  std::uint16_t port = 0;
  std::string serial, port_name, fp, version;  // TXT serial=, port=, fp=, v=

  Endpoint endpoint() const { return {address, port}; }
};

// The TXT records of one advert into its fields (unknown keys ignored, values at most 64 bytes).
void read_txt(Advert& advert, const std::vector<std::string>& records);

// Everything announced, until Avahi says it has listed all it knows ("all for now") or
// `timeout` passes; only serial `serial` when it is not empty. One advert per instance name
// (IPv4 preferred when it has both).
Result<std::vector<Advert>> browse_gateways(std::chrono::milliseconds timeout, std::string_view serial);

}  // namespace ttygate::client
