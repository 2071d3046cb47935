#include "ktls/exporter.hpp"

#include <openssl/x509.h>

#include <cstdio>
#include <cstring>

#include "common/openssl.hpp"

namespace ttygate::ktls {

Result<std::array<std::uint8_t, 4>> pairing_exporter(SSL* ssl) {
  std::array<std::uint8_t, 4> out{};
  if (SSL_export_keying_material(ssl, out.data(), out.size(), kPairingExporterLabel, std::strlen(kPairingExporterLabel),
                                 nullptr, 0, 0) != 1)
    return openssl_error("deriving the pairing code");
  return out;
}

std::string pairing_code_from_exporter(std::span<const std::uint8_t, 4> b) {
  std::uint32_t value = (std::uint32_t{b[0]} << 24) | (std::uint32_t{b[1]} << 16) | (std::uint32_t{b[2]} << 8) | b[3];
  char text[8];
  std::snprintf(text, sizeof text, "%06u", static_cast<unsigned>(value % 1'000'000));
  return text;
}

Result<std::string> pairing_code(SSL* ssl) {
  auto exported = pairing_exporter(ssl);
  if (!exported) return exported.error();
  return pairing_code_from_exporter(*exported);
}

std::string peer_common_name(const SSL* ssl) {
  X509* cert = SSL_get0_peer_certificate(ssl);
  X509_NAME* subject = cert ? X509_get_subject_name(cert) : nullptr;
  int index = subject ? X509_NAME_get_index_by_NID(subject, NID_commonName, -1) : -1;
  if (index < 0) return {};
  ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, index));
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(data)),
                     static_cast<std::size_t>(ASN1_STRING_length(data)));
}

}  // namespace ttygate::ktls
