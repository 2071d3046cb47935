// SPDX-License-Identifier: Apache-2.0
#include "ktls/key_schedule.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/kdf.h>

#include <cstring>
#include <vector>

#include "common/openssl.hpp"

namespace ttygate::ktls {
namespace {

using EvpKdfPtr = std::unique_ptr<EVP_KDF, OpenSslDeleter<EVP_KDF_free>>;

const char* digest_name(Suite suite) {
  return suite == Suite::aes_256_gcm_sha384 ? "SHA384" : "SHA256";
}

// struct { uint16 length; opaque label<7..255> = "tls13 " + Label; opaque context<0..255>; }
// Not secret: only the length, the label and the (empty) context.
std::vector<std::uint8_t> hkdf_label(std::string_view label, std::span<const std::uint8_t> context,
                                     std::size_t length) {
  static constexpr std::string_view prefix = "tls13 ";
  std::vector<std::uint8_t> out;
  out.reserve(4 + prefix.size() + label.size() + context.size());
  out.push_back(static_cast<std::uint8_t>(length >> 8));
  out.push_back(static_cast<std::uint8_t>(length));
  out.push_back(static_cast<std::uint8_t>(prefix.size() + label.size()));
  out.insert(out.end(), prefix.begin(), prefix.end());
  out.insert(out.end(), label.begin(), label.end());
  out.push_back(static_cast<std::uint8_t>(context.size()));
  out.insert(out.end(), context.begin(), context.end());
  return out;
}

Error invalid(std::string context) {
  return Error(std::make_error_code(std::errc::invalid_argument), std::move(context));
}

}  // namespace

std::optional<Suite> suite_from_id(std::uint16_t id) {
  switch (id) {
    case 0x1301: return Suite::aes_128_gcm_sha256;
    case 0x1302: return Suite::aes_256_gcm_sha384;
    case 0x1303: return Suite::chacha20_poly1305_sha256;
    default: return std::nullopt;
  }
}

std::string_view to_string(Suite suite) {
  switch (suite) {
    case Suite::aes_128_gcm_sha256: return "TLS_AES_128_GCM_SHA256";
    case Suite::aes_256_gcm_sha384: return "TLS_AES_256_GCM_SHA384";
    case Suite::chacha20_poly1305_sha256: return "TLS_CHACHA20_POLY1305_SHA256";
  }
  return "unknown";
}

std::size_t key_length(Suite suite) { return suite == Suite::aes_128_gcm_sha256 ? 16 : 32; }

std::size_t hash_length(Suite suite) { return suite == Suite::aes_256_gcm_sha384 ? 48 : 32; }

std::optional<SecretBytes> SecretBytes::from(std::span<const std::uint8_t> bytes) {
  if (bytes.size() > capacity) return std::nullopt;
  SecretBytes s;
  std::memcpy(s.data_.data(), bytes.data(), bytes.size());
  s.size_ = bytes.size();
  return s;
}

SecretBytes::SecretBytes(const SecretBytes& other) : data_(other.data_), size_(other.size_) {}

SecretBytes& SecretBytes::operator=(const SecretBytes& other) {
  if (this != &other) {
    clear();
    data_ = other.data_;
    size_ = other.size_;
  }
  return *this;
}

SecretBytes::SecretBytes(SecretBytes&& other) noexcept : data_(other.data_), size_(other.size_) {
  other.clear();
}

SecretBytes& SecretBytes::operator=(SecretBytes&& other) noexcept {
  if (this != &other) {
    clear();
    data_ = other.data_;
    size_ = other.size_;
    other.clear();
  }
  return *this;
}

SecretBytes::~SecretBytes() { clear(); }

void SecretBytes::clear() {
  OPENSSL_cleanse(data_.data(), data_.size());
  size_ = 0;
}

Result<SecretBytes> hkdf_expand_label(Suite suite, std::span<const std::uint8_t> secret,
                                      std::string_view label,
                                      std::span<const std::uint8_t> context, std::size_t length) {
  if (secret.size() != hash_length(suite)) {
    return invalid("traffic secret of " + std::to_string(secret.size()) + " bytes for " +
                   std::string(to_string(suite)));
  }
  if (length == 0 || length > SecretBytes::capacity || label.size() > 249 || context.size() > 255) {
    return invalid("HKDF-Expand-Label arguments out of range");
  }
  EvpKdfPtr kdf(EVP_KDF_fetch(nullptr, "HKDF", nullptr));
  if (!kdf) return openssl_error("HKDF not available");
  EvpKdfCtxPtr ctx(EVP_KDF_CTX_new(kdf.get()));
  if (!ctx) return openssl_error("HKDF context");

  std::vector<std::uint8_t> info = hkdf_label(label, context, length);
  int mode = EVP_KDF_HKDF_MODE_EXPAND_ONLY;
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode),
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
                                       const_cast<char*>(digest_name(suite)), 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
                                        const_cast<std::uint8_t*>(secret.data()), secret.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info.data(), info.size()),
      OSSL_PARAM_construct_end(),
  };
  SecretBytes out;
  if (EVP_KDF_derive(ctx.get(), out.data_.data(), length, params) != 1) {
    return openssl_error("HKDF-Expand-Label \"" + std::string(label) + "\"");
  }
  out.size_ = length;
  return out;
}

Result<TrafficKeys> traffic_keys(Suite suite, std::span<const std::uint8_t> secret) {
  Result<SecretBytes> key = hkdf_expand_label(suite, secret, "key", {}, key_length(suite));
  if (!key) return key.error();
  Result<SecretBytes> iv = hkdf_expand_label(suite, secret, "iv", {}, iv_length);
  if (!iv) return iv.error();
  return TrafficKeys{std::move(key).value(), std::move(iv).value()};
}

Result<SecretBytes> next_traffic_secret(Suite suite, std::span<const std::uint8_t> secret) {
  return hkdf_expand_label(suite, secret, "traffic upd", {}, hash_length(suite));
}

}  // namespace ttygate::ktls
