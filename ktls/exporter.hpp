// Exporter: values both ends of a finished TLS 1.3 handshake can derive (RFC 8446 7.5) and
// what the peer's certificate says about itself. Used by pairing, on a live SSL (before any
// kernel hand-over frees it). Pure wrappers, no logging.
#pragma once

#include <openssl/ssl.h>

#include <array>
#include <cstdint>
#include <span>
#include <string>

#include "common/result.hpp"

namespace ttygate::ktls {

// The label both ends use for the pairing code; no context, 4 bytes.
inline constexpr const char* kPairingExporterLabel = "EXPORTER-ttygate-pairing";

Result<std::array<std::uint8_t, 4>> pairing_exporter(SSL* ssl);

// The 6-digit code: the exporter's 4 bytes as a big-endian number, mod 10^6, zero-padded.
std::string pairing_code_from_exporter(std::span<const std::uint8_t, 4> bytes);
// Both ends call this: pairing_exporter then pairing_code_from_exporter.
Result<std::string> pairing_code(SSL* ssl);

// The peer certificate's subject CN as written (may be empty or anything at all: sanitise it).
std::string peer_common_name(const SSL* ssl);

}  // namespace ttygate::ktls
