// SPDX-License-Identifier: Apache-2.0
// Pins: the identity of a peer is the SHA-256 of its DER SubjectPublicKeyInfo.
//
// Certificates are only envelopes for public keys: issuer, dates and self-signatures play no
// part. People see a pin as its fingerprint: base32 (RFC 4648, no padding), in groups of four
// letters. These are pure functions; no I/O except the PEM helpers, which parse a string.
#pragma once

#include <openssl/x509.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/openssl.hpp"
#include "common/result.hpp"

namespace ttygate::ktls {

using Pin = std::array<std::uint8_t, 32>;

// Pin of a certificate's public key. Fails only on a certificate without a usable key.
Result<Pin> pin_of(X509* cert);
Result<Pin> pin_of(EVP_PKEY* key);

// Parses the first certificate of a PEM text. The error says what was wrong with it.
Result<X509Ptr> parse_certificate_pem(std::string_view pem);

// Lowercase hex, 64 characters: the on-disk form.
std::string pin_hex(const Pin& pin);
std::optional<Pin> pin_from_hex(std::string_view hex);

// Human form: base32 in groups of four letters separated by '-', 13 groups ("ABCD-EFGH-...").
std::string fingerprint(const Pin& pin);
// Accepts a fingerprint in any case, with or without separators ('-', ':', spaces or tabs), or the hex
// form; nullopt when it is neither.
std::optional<Pin> pin_from_text(std::string_view text);

}  // namespace ttygate::ktls
