// SPDX-License-Identifier: Apache-2.0
// One-line escaping of foreign text. See escape.hpp.
#include "common/escape.hpp"

#include <algorithm>
#include <cstdint>
#include <span>

#include "common/hex.hpp"

namespace ttygate {

std::string shown(std::string_view text) {
  std::string out = "\"";
  for (char c : text.substr(0, std::min(text.size(), kMaxShown))) {
    const auto byte = static_cast<std::uint8_t>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (byte >= 0x20 && byte <= 0x7e) {
      out += c;
    } else {
      out += "\\x" + to_hex(std::span(&byte, 1));
    }
  }
  if (text.size() > kMaxShown) out += "...";
  return out + "\"";
}

std::string one_line(std::string_view text, std::size_t max) {
  std::string out;
  for (char c : text.substr(0, std::min(text.size(), max))) {
    const auto byte = static_cast<std::uint8_t>(c);
    if (byte >= 0x20 && byte <= 0x7e) {
      out += c;
    } else {
      out += "\\x" + to_hex(std::span(&byte, 1));
    }
  }
  if (text.size() > max) out += "...";
  return out;
}

}  // namespace ttygate
