// SPDX-License-Identifier: Apache-2.0
// Key schedule against published vectors.
//
// Traffic secrets, keys and IVs are from RFC 8448 section 3 ("Simple 1-RTT Handshake",
// TLS_AES_128_GCM_SHA256). RFC 8448 has no KeyUpdate, no SHA-384 and no ChaCha20 trace; those
// expectations were computed independently with Python's standard library, straight from the
// RFC 8446 7.1 definitions:
//
//   import hmac, hashlib
//   def expand(prk, info, n, h):                  # RFC 5869 HKDF-Expand
//       out, t, i = b"", b"", 1
//       while len(out) < n:
//           t = hmac.new(prk, t + info + bytes([i]), h).digest(); out += t; i += 1
//       return out[:n]
//   def expand_label(secret, label, n, h=hashlib.sha256):
//       label = b"tls13 " + label
//       info = n.to_bytes(2, "big") + bytes([len(label)]) + label + b"\x00"
//       return expand(secret, info, n, h)
//
// (That script also reproduces every RFC 8448 value below, which checks the script.)
#include "ktls/key_schedule.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ttygate::ktls {
namespace {

std::vector<std::uint8_t> unhex(std::string_view hex) {
  std::vector<std::uint8_t> out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<std::uint8_t>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

std::string hex(std::span<const std::uint8_t> bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (std::uint8_t b : bytes) {
    out += digits[b >> 4];
    out += digits[b & 15];
  }
  return out;
}

struct KeyVector {
  const char* name;
  Suite suite;
  const char* secret;
  const char* key;
  const char* iv;
};

// RFC 8448 section 3.
constexpr const char* client_hs_secret =
    "b3eddb126e067f35a780b3abf45e2d8f3b1a950738f52e9600746a0e27a55a21";
constexpr const char* server_hs_secret =
    "b67b7d690cc16c4e75e54213cb2d37b4e9c912bcded9105d42befd59d391ad38";
constexpr const char* client_ap_secret =
    "9e40646ce79a7f9dc05af8889bce6552875afa0b06df0087f792ebb7c17504a5";
constexpr const char* server_ap_secret =
    "a11af9f05531f856ad47116b45a950328204b4f44bfb6b3a4b4f1f3fcb631643";
// 48 bytes 00 01 02 ... 2f: an arbitrary SHA-384-sized secret for the Python-derived vectors.
constexpr const char* counting_secret_48 =
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
    "202122232425262728292a2b2c2d2e2f";

class TrafficKeysFromSecret : public ::testing::TestWithParam<KeyVector> {};

TEST_P(TrafficKeysFromSecret, MatchTheVector) {
  const KeyVector& v = GetParam();
  Result<TrafficKeys> keys = traffic_keys(v.suite, unhex(v.secret));
  ASSERT_TRUE(keys.ok()) << keys.error().message();
  EXPECT_EQ(hex(keys->key.bytes()), v.key);
  EXPECT_EQ(hex(keys->iv.bytes()), v.iv);
}

INSTANTIATE_TEST_SUITE_P(
    KeySchedule, TrafficKeysFromSecret,
    ::testing::Values(
        // RFC 8448 3: {server} derive write traffic keys for handshake data.
        KeyVector{"ServerHandshake", Suite::aes_128_gcm_sha256, server_hs_secret,
                  "3fce516009c21727d0f2e4e86ee403bc", "5d313eb2671276ee13000b30"},
        // RFC 8448 3: {client} derive read traffic keys for handshake data.
        KeyVector{"ClientHandshake", Suite::aes_128_gcm_sha256, client_hs_secret,
                  "dbfaa693d1762c5b666af5d950258d01", "5bd3c71b836e0b76bb73265f"},
        // RFC 8448 3: {server} derive write traffic keys for application data.
        KeyVector{"ServerApplication", Suite::aes_128_gcm_sha256, server_ap_secret,
                  "9f02283b6c9c07efc26bb9f2ac92e356", "cf782b88dd83549aadf1e984"},
        // RFC 8448 3: {client} derive write traffic keys for application data.
        KeyVector{"ClientApplication", Suite::aes_128_gcm_sha256, client_ap_secret,
                  "17422dda596ed5d9acd890e3c63f5051", "5b78923dee08579033e523d9"},
        // Python (header): expand_label(client_ap_secret, b"key", 32), b"iv" as for AES-128.
        KeyVector{"ChaCha20ClientApplication", Suite::chacha20_poly1305_sha256, client_ap_secret,
                  "c8afd24f48952725381a54085e8d8e3856d8d89e3019243b30a9db54809a3732",
                  "5b78923dee08579033e523d9"},
        // Python (header): expand_label(bytes(range(48)), b"key", 32, hashlib.sha384), b"iv" 12.
        KeyVector{"Aes256Sha384", Suite::aes_256_gcm_sha384, counting_secret_48,
                  "6877d022f1c61d24ebb7487c16752d9a4798e40431c75b39320e537c90e23225",
                  "42822531a0fe88648fc09e9f"}),
    [](const ::testing::TestParamInfo<KeyVector>& info) { return std::string(info.param.name); });

TEST(NextTrafficSecret, FollowsTrafficUpdForSha256) {
  // Python (header): expand_label(client_ap_secret, b"traffic upd", 32)
  Result<SecretBytes> next = next_traffic_secret(Suite::aes_128_gcm_sha256, unhex(client_ap_secret));
  ASSERT_TRUE(next.ok()) << next.error().message();
  EXPECT_EQ(hex(next->bytes()), "fcdfcc72725aaee48bf64e4fd8b749cdbdbab39d90da0b26e2245ca6ea167207");
}

TEST(NextTrafficSecret, FollowsTrafficUpdForServerSecret) {
  // Python (header): expand_label(server_ap_secret, b"traffic upd", 32)
  Result<SecretBytes> next = next_traffic_secret(Suite::chacha20_poly1305_sha256,
                                                 unhex(server_ap_secret));
  ASSERT_TRUE(next.ok()) << next.error().message();
  EXPECT_EQ(hex(next->bytes()), "51921b8aa3001976eb401d0a4319a8516416a6c56001a357e5d162031e84f916");
}

TEST(NextTrafficSecret, FollowsTrafficUpdForSha384) {
  // Python (header): expand_label(bytes(range(48)), b"traffic upd", 48, hashlib.sha384)
  Result<SecretBytes> next = next_traffic_secret(Suite::aes_256_gcm_sha384, unhex(counting_secret_48));
  ASSERT_TRUE(next.ok()) << next.error().message();
  EXPECT_EQ(hex(next->bytes()),
            "401331b63e9d59f202e8f041042d9516f4cd7fa2e2ee14631d3b49fc"
            "340d7af37fc2c0c9f252d8036f81ec5b85cbe5db");
}

TEST(HkdfExpandLabel, RefusesASecretOfTheWrongLengthForTheSuite) {
  Result<TrafficKeys> keys = traffic_keys(Suite::aes_256_gcm_sha384, unhex(client_ap_secret));
  ASSERT_FALSE(keys.ok());
  EXPECT_EQ(keys.error().code(), std::errc::invalid_argument);
}

TEST(HkdfExpandLabel, RefusesAnOutputLongerThanASecret) {
  Result<SecretBytes> out =
      hkdf_expand_label(Suite::aes_128_gcm_sha256, unhex(client_ap_secret), "key", {}, 49);
  EXPECT_FALSE(out.ok());
}

TEST(SuiteFromId, KnowsTheThreeKernelSuitesOnly) {
  EXPECT_EQ(suite_from_id(0x1301), Suite::aes_128_gcm_sha256);
  EXPECT_EQ(suite_from_id(0x1302), Suite::aes_256_gcm_sha384);
  EXPECT_EQ(suite_from_id(0x1303), Suite::chacha20_poly1305_sha256);
  EXPECT_EQ(suite_from_id(0x1304), std::nullopt);  // TLS_AES_128_CCM_SHA256
  EXPECT_EQ(to_string(Suite::aes_256_gcm_sha384), "TLS_AES_256_GCM_SHA384");
}

TEST(SecretBytes, IsEmptiedWhenMovedFrom) {
  std::vector<std::uint8_t> raw(32, 0xab);
  std::optional<SecretBytes> a = SecretBytes::from(raw);
  ASSERT_TRUE(a);
  SecretBytes b = std::move(*a);
  EXPECT_TRUE(a->empty());
  EXPECT_EQ(b.size(), 32u);
  EXPECT_FALSE(SecretBytes::from(std::vector<std::uint8_t>(49)).has_value());
}

}  // namespace
}  // namespace ttygate::ktls
