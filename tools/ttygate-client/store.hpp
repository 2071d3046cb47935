// SPDX-License-Identifier: Apache-2.0
// Known gateways: the client's half of pairing, the pins it checks every gateway against.
//
// One line per gateway in "<config dir>/gateways", written only by this code:
//
//   # ttygate gateways v1
//   NAME HOST:PORT PIN-HEX
//
// NAME is [A-Za-z0-9._-], 1..64 characters, not starting with '-' or '.'; HOST:PORT is a host
// name or address ("[v6]:port" for IPv6); PIN-HEX is the SHA-256 of the gateway's public key in
// 64 lowercase hex digits. Parsing is strict: anything this code would not have written is an
// error naming "file:line" and the problem, and nothing is changed. Every change rewrites the
// file atomically (common/files.hpp), mode 0600. Single-threaded; no locking between processes:
// the last writer wins, but never leaves a torn file.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "ktls/pin.hpp"

namespace ttygate::client {

inline constexpr std::uint16_t kDefaultPort = 7000;

struct Endpoint {
  std::string host;
  std::uint16_t port = kDefaultPort;

  std::string text() const;  // "host:port", "[v6]:port"
  bool operator==(const Endpoint&) const = default;
};

// "host", "host:port", "[v6]", "[v6]:port", or a bare IPv6 address (default port).
Result<Endpoint> parse_endpoint(std::string_view text);

struct KnownGateway {
  std::string name;
  Endpoint endpoint;
  ktls::Pin pin{};
};

bool valid_gateway_name(std::string_view name);
// A usable name from anything (a certificate CN): other characters become '-', at most 64.
std::string sanitise_gateway_name(std::string_view raw);

class GatewayStore {
 public:
  // A missing file is an empty store; a broken one is an error ("file:line: problem").
  static Result<GatewayStore> open(std::filesystem::path path);

  const std::filesystem::path& path() const { return path_; }
  const std::vector<KnownGateway>& gateways() const { return gateways_; }
  const KnownGateway* find(std::string_view name) const;
  const KnownGateway* find(const Endpoint& endpoint) const;

  // Adds the gateway, or replaces the one with its name. Written before it returns.
  Result<void> put(const KnownGateway& gateway);
  // False when no gateway has that name (nothing written).
  Result<bool> forget(std::string_view name);

 private:
  explicit GatewayStore(std::filesystem::path path) : path_(std::move(path)) {}
  Result<void> save(std::vector<KnownGateway> next);

  std::filesystem::path path_;
  std::vector<KnownGateway> gateways_;
};

}  // namespace ttygate::client
