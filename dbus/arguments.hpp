// SPDX-License-Identifier: Apache-2.0
// Arguments: the size of every string a D-Bus caller hands the gateway, checked at the door.
//
// The gateway's own checks (names, roles, codes, certificates) come after these; this only makes
// sure that no call spends the event loop on a megabyte of text, and that a refusal quotes at most
// a short escaped prefix of what it refused (common/escape.hpp: shown). The limits are far above
// any valid value, so a valid argument never meets them. Pure functions; any thread.
#pragma once

#include <cstddef>
#include <string_view>

#include "common/result.hpp"

namespace ttygate::dbus {

inline constexpr std::size_t kMaxPemArgument = 64 << 10;  // a certificate is a few KiB at most
inline constexpr std::size_t kMaxNameArgument = 256;      // names are 1..64 characters
inline constexpr std::size_t kMaxRoleArgument = 16;       // "control" or "monitor"
inline constexpr std::size_t kMaxCodeArgument = 64;       // a 6-digit code

// Refusal::invalid_args, "<what> is <n> bytes, more than <max>: "<prefix>..."", when value is
// longer than max.
Result<void> bounded_argument(std::string_view what, std::string_view value, std::size_t max);

// The three AddClient arguments, each against its limit.
Result<void> check_add_client_arguments(std::string_view pem, std::string_view name, std::string_view role);

// The text of a D-Bus error reply: the refusal's message as one escaped line of bounded length,
// so neither a caller's bytes nor a parser's multi-line message reach a terminal raw.
std::string error_text(const Error& refusal);

}  // namespace ttygate::dbus
