// SPDX-License-Identifier: Apache-2.0
// Pins and their text forms. See pin.hpp.
//
// The fingerprint is base32 rather than hex because people read it aloud and compare it by eye:
// 52 letters and digits with no 0/1/8/9 to confuse with O/I/B/g. Parsing is tolerant of the ways
// people copy it (any case, dashes, colons, spaces) but never guesses: the text must decode to
// exactly 32 bytes, with the four padding bits of the last base32 letter zero, or it is rejected.
#include "ktls/pin.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <climits>
#include <memory>

#include "common/hex.hpp"

namespace ttygate::ktls {
namespace {

constexpr std::string_view base32_alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
constexpr std::size_t fingerprint_letters = 52;  // ceil(256 / 5)
constexpr std::size_t fingerprint_group = 4;

Error bad_input(std::string context) {
  return Error(std::make_error_code(std::errc::invalid_argument), std::move(context));
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

int base32_value(char c) {
  if (c >= 'a' && c <= 'z') return c - 'a';
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= '2' && c <= '7') return c - '2' + 26;
  return -1;
}

// Decodes exactly 52 base32 letters; the 4 bits past the 256th must be zero so that every pin
// has one spelling.
std::optional<Pin> pin_from_base32(std::string_view letters) {
  if (letters.size() != fingerprint_letters) return std::nullopt;
  Pin pin{};
  std::uint32_t buffer = 0;
  int bits = 0;
  std::size_t out = 0;
  for (char c : letters) {
    int v = base32_value(c);
    if (v < 0) return std::nullopt;
    buffer = (buffer << 5) | static_cast<std::uint32_t>(v);
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      pin[out++] = static_cast<std::uint8_t>(buffer >> bits);
      buffer &= (1u << bits) - 1;
    }
  }
  if (out != pin.size() || buffer != 0) return std::nullopt;
  return pin;
}

bool is_separator(char c) { return c == '-' || c == ':' || c == ' ' || c == '\t'; }

}  // namespace

// SHA-256 over an encoding made by `encode` (an i2d function: called for the length, then to
// write).
template <typename Encode>
Result<Pin> hash_of_der(Encode encode) {
  int length = encode(nullptr);
  if (length <= 0) return openssl_error("cannot encode the public key as SubjectPublicKeyInfo");
  auto der = std::make_unique<unsigned char[]>(static_cast<std::size_t>(length));
  unsigned char* cursor = der.get();
  if (encode(&cursor) != length) return openssl_error("cannot encode the public key as SubjectPublicKeyInfo");
  Pin pin{};
  unsigned int digest_length = 0;
  if (EVP_Digest(der.get(), static_cast<std::size_t>(length), pin.data(), &digest_length, EVP_sha256(), nullptr) != 1 ||
      digest_length != pin.size()) {
    return openssl_error("cannot hash the public key");
  }
  return pin;
}

Result<Pin> pin_of(EVP_PKEY* key) {
  if (key == nullptr) return bad_input("no public key");
  ERR_clear_error();
  return hash_of_der([key](unsigned char** out) { return i2d_PUBKEY(key, out); });
}

Result<Pin> pin_of(X509* cert) {
  if (cert == nullptr) return bad_input("no certificate");
  ERR_clear_error();
  // get0: the key stays owned by the certificate.
  if (X509_get0_pubkey(cert) == nullptr) return openssl_error("certificate has no usable public key");
  // The certificate's SubjectPublicKeyInfo as parsed: the same bytes as i2d_PUBKEY of its key,
  // without OpenSSL 3.0's encoder lookup, which cost a fifth of the gateway's CPU in a reconnect
  // storm (the pin is taken in every handshake and every resumption).
  X509_PUBKEY* spki = X509_get_X509_PUBKEY(cert);
  return hash_of_der([spki](unsigned char** out) { return i2d_X509_PUBKEY(spki, out); });
}

Result<X509Ptr> parse_certificate_pem(std::string_view pem) {
  if (pem.empty()) return bad_input("empty PEM text");
  if (pem.size() > INT_MAX) return bad_input("PEM text too large");
  // PEM_read_bio_X509 skips other blocks (keys, parameters) until it finds a certificate, so
  // checking for the marker first is what lets the error say which of the two cases it was.
  if (pem.find("-----BEGIN CERTIFICATE-----") == std::string_view::npos) {
    return bad_input("no certificate found in PEM");
  }
  ERR_clear_error();
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return openssl_error("cannot allocate a memory BIO");
  X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!cert) return openssl_error("malformed certificate in PEM");
  return cert;
}

std::string pin_hex(const Pin& pin) { return to_hex(pin); }

std::optional<Pin> pin_from_hex(std::string_view hex) {
  Pin pin{};
  if (hex.size() != pin.size() * 2) return std::nullopt;
  for (std::size_t i = 0; i < pin.size(); ++i) {
    int high = hex_value(hex[2 * i]);
    int low = hex_value(hex[2 * i + 1]);
    if (high < 0 || low < 0) return std::nullopt;
    pin[i] = static_cast<std::uint8_t>((high << 4) | low);
  }
  return pin;
}

std::string fingerprint(const Pin& pin) {
  std::string letters;
  letters.reserve(fingerprint_letters);
  std::uint32_t buffer = 0;
  int bits = 0;
  for (std::uint8_t byte : pin) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      letters.push_back(base32_alphabet[(buffer >> bits) & 0x1f]);
    }
    buffer &= (1u << bits) - 1;
  }
  if (bits > 0) letters.push_back(base32_alphabet[(buffer << (5 - bits)) & 0x1f]);

  std::string out;
  out.reserve(fingerprint_letters + fingerprint_letters / fingerprint_group);
  for (std::size_t i = 0; i < letters.size(); ++i) {
    if (i > 0 && i % fingerprint_group == 0) out.push_back('-');
    out.push_back(letters[i]);
  }
  return out;
}

std::optional<Pin> pin_from_text(std::string_view text) {
  std::string compact;
  compact.reserve(text.size());
  for (char c : text) {
    if (!is_separator(c)) compact.push_back(c);
  }
  if (compact.size() == fingerprint_letters) return pin_from_base32(compact);
  return pin_from_hex(compact);
}

}  // namespace ttygate::ktls
