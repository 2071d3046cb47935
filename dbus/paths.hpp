// SPDX-License-Identifier: Apache-2.0
// Object paths and error names of the org.ttygate.Gateway1 API (docs/org.ttygate.Gateway1.txt).
// Pure functions, unit-tested.
//
//   /org/ttygate/Gateway1                     org.ttygate.Gateway1, ObjectManager
//   /org/ttygate/Gateway1/client/<pin hex>    org.ttygate.Client1 (64 lowercase hex digits)
//   /org/ttygate/Gateway1/session/<id>        org.ttygate.Session1 (decimal, never reused)
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

#include "ktls/pin.hpp"

namespace ttygate::dbus {

inline constexpr const char* kGatewayPath = "/org/ttygate/Gateway1";
inline constexpr const char* kClientPrefix = "/org/ttygate/Gateway1/client";
inline constexpr const char* kSessionPrefix = "/org/ttygate/Gateway1/session";
inline constexpr const char* kGatewayInterface = "org.ttygate.Gateway1";
inline constexpr const char* kClientInterface = "org.ttygate.Client1";
inline constexpr const char* kSessionInterface = "org.ttygate.Session1";

std::string client_path(const ktls::Pin& pin);
std::optional<ktls::Pin> pin_from_client_path(std::string_view path);
std::string session_path(std::uint64_t id);
std::optional<std::uint64_t> session_id_from_path(std::string_view path);

// The org.ttygate.Error.* name for a gateway refusal or a client-store error code.
const char* error_name(const std::error_code& code);

}  // namespace ttygate::dbus
