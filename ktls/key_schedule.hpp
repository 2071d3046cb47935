// SPDX-License-Identifier: Apache-2.0
// Key schedule: TLS 1.3 record keys from traffic secrets (RFC 8446 sections 7.1 to 7.3).
//
// After the handshake OpenSSL knows the application traffic secrets but not how the kernel wants
// them: the kernel takes a write key and an IV per direction. This module derives those with
// HKDF-Expand-Label through OpenSSL's HKDF (expand-only), and the next secret for KeyUpdate.
// Pure functions over their arguments; safe from any thread. Every byte of key material lives in
// a SecretBytes, which wipes itself.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "common/result.hpp"

namespace ttygate::ktls {

// The TLS 1.3 cipher suites the kernel can run. Named by AEAD and hash, as in RFC 8446 B.4.
enum class Suite { aes_128_gcm_sha256, aes_256_gcm_sha384, chacha20_poly1305_sha256 };

// From the IANA id (SSL_CIPHER_get_protocol_id): 0x1301, 0x1302, 0x1303; nullopt otherwise
// (TLS_AES_128_CCM_* is not offered by ttygate).
std::optional<Suite> suite_from_id(std::uint16_t id);
std::string_view to_string(Suite suite);  // the IANA name, "TLS_AES_128_GCM_SHA256"
std::size_t key_length(Suite suite);      // 16 or 32
std::size_t hash_length(Suite suite);     // 32 or 48: also the length of its traffic secrets
inline constexpr std::size_t iv_length = 12;

// Up to 48 bytes of key material (a SHA-384 secret is the largest). Wiped with OPENSSL_cleanse
// on destruction, on assignment and when moved from; never printed.
class SecretBytes {
 public:
  static constexpr std::size_t capacity = 48;

  SecretBytes() = default;
  // nullopt when bytes is longer than capacity.
  static std::optional<SecretBytes> from(std::span<const std::uint8_t> bytes);
  SecretBytes(const SecretBytes& other);
  SecretBytes& operator=(const SecretBytes& other);
  SecretBytes(SecretBytes&& other) noexcept;
  SecretBytes& operator=(SecretBytes&& other) noexcept;
  ~SecretBytes();

  std::span<const std::uint8_t> bytes() const { return {data_.data(), size_}; }
  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  void clear();

 private:
  friend Result<SecretBytes> hkdf_expand_label(Suite, std::span<const std::uint8_t>,
                                               std::string_view, std::span<const std::uint8_t>,
                                               std::size_t);
  std::array<std::uint8_t, capacity> data_{};
  std::size_t size_ = 0;
};

struct TrafficKeys {
  SecretBytes key;  // key_length(suite) bytes
  SecretBytes iv;   // iv_length bytes: the per-record nonce is iv XOR the sequence number
};

// HKDF-Expand-Label(secret, label, context, length) with the suite's hash; label without the
// "tls13 " prefix. Fails on a secret whose length is not hash_length(suite), a length above
// SecretBytes::capacity, or an OpenSSL failure.
Result<SecretBytes> hkdf_expand_label(Suite suite, std::span<const std::uint8_t> secret,
                                      std::string_view label,
                                      std::span<const std::uint8_t> context, std::size_t length);

// [sender]_write_key and [sender]_write_iv (RFC 8446 7.3) from a traffic secret.
Result<TrafficKeys> traffic_keys(Suite suite, std::span<const std::uint8_t> secret);

// application_traffic_secret_N+1 = HKDF-Expand-Label(secret_N, "traffic upd", "", Hash.length)
// (RFC 8446 7.2): the secret a direction moves to on KeyUpdate.
Result<SecretBytes> next_traffic_secret(Suite suite, std::span<const std::uint8_t> secret);

}  // namespace ttygate::ktls
