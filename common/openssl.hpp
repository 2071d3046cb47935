// SPDX-License-Identifier: Apache-2.0
// RAII owners for OpenSSL handles, and the conversion of OpenSSL's error queue into an Error.
#pragma once

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <memory>
#include <string>
#include <system_error>

#include "common/result.hpp"

namespace ttygate {

template <auto Free>
struct OpenSslDeleter {
  template <class T>
  void operator()(T* p) const { Free(p); }
};

using SslCtxPtr = std::unique_ptr<SSL_CTX, OpenSslDeleter<SSL_CTX_free>>;
using SslPtr = std::unique_ptr<SSL, OpenSslDeleter<SSL_free>>;
using X509Ptr = std::unique_ptr<X509, OpenSslDeleter<X509_free>>;
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, OpenSslDeleter<EVP_PKEY_free>>;
using EvpPkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, OpenSslDeleter<EVP_PKEY_CTX_free>>;
using EvpKdfCtxPtr = std::unique_ptr<EVP_KDF_CTX, OpenSslDeleter<EVP_KDF_CTX_free>>;
using EvpMdCtxPtr = std::unique_ptr<EVP_MD_CTX, OpenSslDeleter<EVP_MD_CTX_free>>;
using BioPtr = std::unique_ptr<BIO, OpenSslDeleter<BIO_free_all>>;

// Error category whose codes are OpenSSL's packed error codes (ERR_get_error()).
class OpenSslCategory : public std::error_category {
 public:
  const char* name() const noexcept override { return "openssl"; }
  std::string message(int code) const override {
    char buf[256];
    // Packed codes fit in 32 bits; going through unsigned keeps the system-error flag bit.
    ERR_error_string_n(static_cast<unsigned long>(static_cast<unsigned>(code)), buf, sizeof buf);
    return buf;
  }
};

inline const std::error_category& openssl_category() {
  static const OpenSslCategory category;
  return category;
}

// Takes the oldest error off this thread's queue (and clears the rest) as an Error.
inline Error openssl_error(std::string context) {
  unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return Error(std::make_error_code(std::errc::protocol_error), std::move(context));
  return Error(std::error_code(static_cast<int>(code), openssl_category()), std::move(context));
}

}  // namespace ttygate
