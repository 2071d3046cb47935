// SPDX-License-Identifier: Apache-2.0
// This machine's key pair and certificate. See identity.hpp.
//
// The key is the identity: every paired peer has pinned its public key, so losing or replacing
// it unpairs them all. Hence nothing here ever overwrites a key file, and a key file that looks
// wrong (permissions, content) stops start-up with a message saying what to fix. The certificate
// is only an envelope and is re-made from the key whenever it is missing.
#include "ktls/identity.hpp"

#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <utility>

#include "common/files.hpp"

namespace ttygate::ktls {
namespace {

using BignumPtr = std::unique_ptr<BIGNUM, OpenSslDeleter<BN_free>>;
using X509ExtensionPtr = std::unique_ptr<X509_EXTENSION, OpenSslDeleter<X509_EXTENSION_free>>;

constexpr std::size_t max_pem_size = 64 * 1024;
constexpr long validity_days = 36525;               // 100 years, leap days included
constexpr int serial_bytes = 20;                   // the most RFC 5280 allows
constexpr std::size_t max_common_name = 64;        // ub-common-name

Error invalid(std::string context) { return Error(std::make_error_code(std::errc::invalid_argument), std::move(context)); }

bool is_missing(const Error& error) { return error.code() == std::errc::no_such_file_or_directory; }

std::string octal_mode(mode_t mode) {
  char text[16];
  std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode & 07777));
  return text;
}

std::string bio_contents(BIO* bio) {
  char* data = nullptr;
  long size = BIO_get_mem_data(bio, &data);
  return size > 0 ? std::string(data, static_cast<std::size_t>(size)) : std::string();
}

// Refuses to prompt on a terminal for a passphrase: an encrypted key is simply unreadable here.
int no_passphrase(char*, int, int, void*) { return 0; }

Result<EvpPkeyPtr> parse_private_key(const std::filesystem::path& path, std::string_view pem) {
  ERR_clear_error();
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return openssl_error("cannot allocate a memory BIO");
  EvpPkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr));
  if (!key) return openssl_error(path.string() + ": not a readable PEM private key");
  return key;
}

Result<EvpPkeyPtr> load_key(const std::filesystem::path& path) {
  auto contents = read_file(path, max_pem_size);
  if (!contents) return contents.error();
  if (contents->mode & 077) {
    return Error(std::make_error_code(std::errc::permission_denied),
                 path.string() + ": mode " + octal_mode(contents->mode) +
                     " lets group or others read the private key; fix with: chmod 600 " + path.string());
  }
  auto key = parse_private_key(path, contents->bytes);
  OPENSSL_cleanse(contents->bytes.data(), contents->bytes.size());
  return key;
}

Result<X509Ptr> load_certificate(const std::filesystem::path& path) {
  auto contents = read_file(path, max_pem_size);
  if (!contents) return contents.error();
  auto cert = parse_certificate_pem(contents->bytes);
  if (!cert) return Error(cert.error().code(), path.string() + ": " + cert.error().context());
  return cert;
}

Result<void> set_random_serial(X509* cert) {
  unsigned char bytes[serial_bytes];
  if (RAND_bytes(bytes, sizeof bytes) != 1) return openssl_error("cannot draw a random serial number");
  bytes[0] = static_cast<unsigned char>((bytes[0] & 0x7f) | 0x40);  // positive, never zero
  BignumPtr serial(BN_bin2bn(bytes, sizeof bytes, nullptr));
  if (!serial || !BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert))) {
    return openssl_error("cannot set the serial number");
  }
  return success();
}

Result<void> set_name_and_validity(X509* cert, const std::string& common_name) {
  X509_NAME* name = X509_get_subject_name(cert);
  if (!X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                  reinterpret_cast<const unsigned char*>(common_name.data()),
                                  static_cast<int>(common_name.size()), -1, 0) ||
      !X509_set_issuer_name(cert, name)) {
    return openssl_error("cannot set the certificate name");
  }
  if (!X509_gmtime_adj(X509_getm_notBefore(cert), 0) ||
      !X509_time_adj_ex(X509_getm_notAfter(cert), validity_days, 0, nullptr)) {
    return openssl_error("cannot set the certificate validity");
  }
  return success();
}

// An end-entity certificate usable by either side of a TLS connection. Peers pin the key and
// ignore all of this, but tools that inspect the certificate see a sensible one.
Result<void> add_extensions(X509* cert) {
  X509V3_CTX context;
  X509V3_set_ctx(&context, cert, cert, nullptr, nullptr, 0);
  const std::pair<int, const char*> extensions[] = {
      {NID_basic_constraints, "critical,CA:FALSE"},
      {NID_key_usage, "critical,digitalSignature"},
      {NID_ext_key_usage, "serverAuth,clientAuth"},
      {NID_subject_key_identifier, "hash"},
  };
  for (const auto& [nid, value] : extensions) {
    X509ExtensionPtr extension(X509V3_EXT_conf_nid(nullptr, &context, nid, value));
    if (!extension || !X509_add_ext(cert, extension.get(), -1)) {
      return openssl_error(std::string("cannot add the extension ") + OBJ_nid2sn(nid));
    }
  }
  return success();
}

Result<X509Ptr> make_certificate(EVP_PKEY* key, const std::string& common_name) {
  if (common_name.empty() || common_name.size() > max_common_name) {
    return invalid("certificate common name must be 1 to 64 bytes, got " + std::to_string(common_name.size()));
  }
  ERR_clear_error();
  X509Ptr cert(X509_new());
  if (!cert || !X509_set_version(cert.get(), X509_VERSION_3) || !X509_set_pubkey(cert.get(), key)) {
    return openssl_error("cannot start a certificate");
  }
  if (auto serial = set_random_serial(cert.get()); !serial) return serial.error();
  if (auto named = set_name_and_validity(cert.get(), common_name); !named) return named.error();
  if (auto extended = add_extensions(cert.get()); !extended) return extended.error();
  // Ed25519 and Ed448 sign the message itself: no separate digest.
  int type = EVP_PKEY_get_id(key);
  const EVP_MD* digest = (type == EVP_PKEY_ED25519 || type == EVP_PKEY_ED448) ? nullptr : EVP_sha256();
  if (X509_sign(cert.get(), key, digest) <= 0) return openssl_error("cannot sign the certificate");
  return cert;
}

Result<std::string> private_key_pem(EVP_PKEY* key) {
  ERR_clear_error();
  BioPtr bio(BIO_new(BIO_s_secmem()));
  // Unencrypted PKCS#8 ("BEGIN PRIVATE KEY"): the file mode is the protection.
  if (!bio || !PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr)) {
    return openssl_error("cannot encode the private key");
  }
  return bio_contents(bio.get());
}

Result<std::string> certificate_pem(X509* cert) {
  ERR_clear_error();
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || !PEM_write_bio_X509(bio.get(), cert)) return openssl_error("cannot encode the certificate");
  return bio_contents(bio.get());
}

Result<void> write_certificate(const std::filesystem::path& path, X509* cert) {
  auto pem = certificate_pem(cert);
  if (!pem) return pem.error();
  return write_file_atomically(path, *pem, 0644);
}

Result<Identity> assemble(EvpPkeyPtr key, X509Ptr cert) {
  auto pin = pin_of(key.get());
  if (!pin) return pin.error();
  return Identity{std::move(key), std::move(cert), *pin};
}

Result<Identity> create_identity(const IdentityFiles& files, const std::string& common_name) {
  ERR_clear_error();
  EvpPkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (!key) return openssl_error("cannot generate a P-256 key");
  auto cert = make_certificate(key.get(), common_name);
  if (!cert) return cert.error();
  auto pem = private_key_pem(key.get());
  if (!pem) return pem.error();
  auto written = write_file_atomically(files.key, *pem, 0600, IfExists::fail);
  OPENSSL_cleanse(pem->data(), pem->size());
  if (!written) return written.error();
  if (auto cert_written = write_certificate(files.certificate, cert->get()); !cert_written) {
    return cert_written.error();
  }
  return assemble(std::move(key), std::move(*cert));
}

Result<Identity> remake_certificate(const IdentityFiles& files, EvpPkeyPtr key, const std::string& common_name) {
  auto cert = make_certificate(key.get(), common_name);
  if (!cert) return cert.error();
  if (auto written = write_certificate(files.certificate, cert->get()); !written) return written.error();
  return assemble(std::move(key), std::move(*cert));
}

Result<Identity> match(const IdentityFiles& files, EvpPkeyPtr key, X509Ptr cert) {
  auto key_pin = pin_of(key.get());
  if (!key_pin) return Error(key_pin.error().code(), files.key.string() + ": " + key_pin.error().context());
  auto cert_pin = pin_of(cert.get());
  if (!cert_pin) return Error(cert_pin.error().code(), files.certificate.string() + ": " + cert_pin.error().context());
  if (*key_pin != *cert_pin) {
    return invalid(files.certificate.string() + ": its public key is not the one of " + files.key.string() +
                   "; remove the certificate to have it made again from the key");
  }
  return Identity{std::move(key), std::move(cert), *key_pin};
}

Result<void> make_directories(const IdentityFiles& files) {
  for (const auto& path : {files.key, files.certificate}) {
    if (auto made = make_private_directory(path.parent_path()); !made) return made;
  }
  return success();
}

}  // namespace

IdentityFiles identity_files(const std::filesystem::path& dir, const std::string& stem) {
  return IdentityFiles{dir / (stem + ".key"), dir / (stem + ".crt")};
}

Result<Identity> load_identity(const IdentityFiles& files) {
  auto key = load_key(files.key);
  if (!key) return key.error();
  auto cert = load_certificate(files.certificate);
  if (!cert) return cert.error();
  return match(files, std::move(*key), std::move(*cert));
}

Result<Identity> load_or_create_identity(const IdentityFiles& files, const std::string& common_name) {
  if (auto made = make_directories(files); !made) return made.error();
  auto key = load_key(files.key);
  if (!key && is_missing(key.error())) {
    if (auto cert = read_file(files.certificate, max_pem_size); cert || !is_missing(cert.error())) {
      return Error(std::make_error_code(std::errc::no_such_file_or_directory),
                   files.key.string() + " is missing but " + files.certificate.string() +
                       " exists: restore the key, or remove the certificate to make a new identity "
                       "(every client will have to pair again)");
    }
    return create_identity(files, common_name);
  }
  if (!key) return key.error();
  auto cert = load_certificate(files.certificate);
  if (!cert && is_missing(cert.error())) return remake_certificate(files, std::move(*key), common_name);
  if (!cert) return cert.error();
  return match(files, std::move(*key), std::move(*cert));
}

}  // namespace ttygate::ktls
