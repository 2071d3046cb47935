// SPDX-License-Identifier: Apache-2.0
// Names: the one rule for the names people give clients and the gateway, and its one wording.
//
// A name is 1 to 64 characters of printable ASCII (0x20..0x7e), not starting or ending with a
// space, so it fits on one line of the client store and of a terminal, and reads the same in
// every font. The client store, the D-Bus API, ttygated --add-client and the configuration
// (gateway.name) all check it here and refuse a bad name with the same words. Pure functions.
#pragma once

#include <string>
#include <string_view>

#include "common/result.hpp"

namespace ttygate::daemon {

// What a name must be, for messages: "1 to 64 printable ASCII characters without leading or
// trailing spaces".
std::string_view name_rule();

// True when a name given by a person is acceptable as is (no sanitising needed).
bool valid_name(std::string_view name);

// errc::invalid_argument for a bad name, with the context
//   name "<the name, escaped>" is not <name_rule()>
Result<void> check_name(std::string_view name);

// Turns anything (a certificate CN, say) into a valid name: each control character, DEL or UTF-8
// sequence becomes one '_', outer spaces are trimmed, the result is cut to 64; an empty result
// becomes "client".
std::string sanitize_name(std::string_view raw);

}  // namespace ttygate::daemon
