// SPDX-License-Identifier: Apache-2.0
// The config parser (daemon/config): any bytes give a Config or one ConfigError line, never a
// crash, a hang or a multi-line message.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "daemon/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    ttygate::daemon::parse_config(text, "fuzz.toml");
  } catch (const ttygate::daemon::ConfigError& error) {
    for (const char* c = error.what(); *c; ++c) {
      if (*c == '\n') std::abort();  // errors are one line
    }
  }
  return 0;
}
