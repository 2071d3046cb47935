// Exporter: values both ends of a finished TLS 1.3 handshake can derive (RFC 8446 7.5) and
// what the peer's certificate says about itself. Used by pairing, on a live SSL (before any
// kernel hand-over frees it). Pure wrappers, no logging.
#pragma once

#include <openssl/ssl.h>

#include <array>
#include <cstdint>
#include <string>

#include "common/result.hpp"

namespace ttygate::ktls {

// The label both ends use for the pairing code; no context, 4 bytes.
inline constexpr const char* kPairingExporterLabel = "EXPORTER-ttygate-pairing";

Result<std::array<std::uint8_t, 4>> pairing_exporter(SSL* ssl);

// The peer certificate's subject CN as written (may be empty or anything at all: sanitise it).
std::string peer_common_name(const SSL* ssl);

}  // namespace ttygate::ktls
