// SPDX-License-Identifier: Apache-2.0
// What the benchmark device and client agree on: the bulk byte pattern and the fan-out frame.
//
// The pattern runs through all 256 byte values (0x00, 0x11/0x13, 0xff included), so a path that
// is not 8-bit clean or byte-exact shows up as check errors, not as a plausible number.
#pragma once

#include <time.h>

#include <cstdint>
#include <cstring>

namespace ttygate::bench {

inline std::uint8_t pattern_byte(std::uint64_t offset) {
  return static_cast<std::uint8_t>((offset * 7) ^ (offset >> 8) ^ (offset >> 16));
}

inline std::uint64_t mono_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000u + static_cast<std::uint64_t>(ts.tv_nsec);
}

// 32 bytes: "TGF1", sequence (u32), CLOCK_MONOTONIC send time (u64), 16 pattern bytes.
struct Frame {
  static constexpr std::size_t size = 32;
  unsigned char bytes[size];

  static Frame make(std::uint32_t seq, std::uint64_t sent_ns) {
    Frame f;
    std::memcpy(f.bytes, "TGF1", 4);
    std::memcpy(f.bytes + 4, &seq, 4);
    std::memcpy(f.bytes + 8, &sent_ns, 8);
    for (std::size_t i = 16; i < size; ++i) f.bytes[i] = pattern_byte(seq * size + i);
    return f;
  }
  // False when the bytes are not a well-formed frame.
  static bool parse(const unsigned char* p, std::uint32_t& seq, std::uint64_t& sent_ns) {
    if (std::memcmp(p, "TGF1", 4) != 0) return false;
    std::memcpy(&seq, p + 4, 4);
    std::memcpy(&sent_ns, p + 8, 8);
    for (std::size_t i = 16; i < size; ++i)
      if (p[i] != pattern_byte(std::uint64_t{seq} * size + i)) return false;
    return true;
  }
};

}  // namespace ttygate::bench
