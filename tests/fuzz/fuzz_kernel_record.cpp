// SPDX-License-Identifier: Apache-2.0
// The kernel-TLS record-type handler (ktls/kernel_channel: classify_record): any record type and
// payload from the peer is decided without a crash or an out-of-bounds read.
#include <cstddef>
#include <cstdint>
#include <span>

#include "ktls/kernel_channel.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::uint8_t type = data[0];
  const bool is_server = data[1] & 1;
  auto payload = std::as_bytes(std::span(data + 2, size - 2));
  auto verdict = ttygate::ktls::classify_record(type, payload, is_server);
  (void)verdict;
  (void)ttygate::ktls::alert_name(type);
  return 0;
}
