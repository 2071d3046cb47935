// SPDX-License-Identifier: Apache-2.0
// ConfigShape: the bounds a configuration text must keep before toml++ sees it.
//
// toml++ recurses once per dotted key part and per nested array or inline table, so a hostile
// or corrupted file ("[a.a.a. … 40,000 times]") overflows the stack inside the parser. This
// scanner walks the text once, without recursion, skipping strings and comments as TOML defines
// them, and refuses a line with more than kMaxDottedParts dots outside strings or brackets nested
// deeper than kMaxNesting. ttygate's own keys have at most three parts and two levels, so the
// bounds leave room for any real file. Pure function; any thread.
#pragma once

#include <cstddef>
#include <string_view>

#include "common/result.hpp"

namespace ttygate::daemon {

inline constexpr std::size_t kMaxDottedParts = 32;
inline constexpr std::size_t kMaxNesting = 32;

// errc::invalid_argument with "<line>:<column>: <problem>" (the caller adds the file).
Result<void> check_config_shape(std::string_view text);

}  // namespace ttygate::daemon
