// SPDX-License-Identifier: Apache-2.0
// Hex: lowercase hexadecimal, the text form of keys, nonces and digests in ttygate's files and
// line protocols. Strict on input: exactly the expected length, lowercase digits only, so one
// value has one spelling.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ttygate {

inline std::string to_hex(std::span<const std::uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (std::uint8_t b : bytes) {
    out += kDigits[b >> 4];
    out += kDigits[b & 0x0f];
  }
  return out;
}

// The bytes of `text` when it is exactly 2 * size lowercase hex digits; else nothing.
inline std::optional<std::vector<std::uint8_t>> from_hex(std::string_view text, std::size_t size) {
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  if (text.size() != 2 * size) return std::nullopt;
  std::vector<std::uint8_t> out(size);
  for (std::size_t i = 0; i < size; ++i) {
    int hi = nibble(text[2 * i]), lo = nibble(text[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out[i] = static_cast<std::uint8_t>(hi << 4 | lo);
  }
  return out;
}

// The same for a value of fixed size N.
template <std::size_t N>
std::optional<std::array<std::uint8_t, N>> from_hex_array(std::string_view text) {
  auto bytes = from_hex(text, N);
  if (!bytes) return std::nullopt;
  std::array<std::uint8_t, N> out{};
  std::copy(bytes->begin(), bytes->end(), out.begin());
  return out;
}

}  // namespace ttygate
