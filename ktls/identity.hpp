// SPDX-License-Identifier: Apache-2.0
// Identity: this machine's key pair and the self-signed certificate that carries its public key.
//
// The private key is generated here from the system RNG (OpenSSL's default DRBG, seeded by
// getrandom) and never leaves the machine: it is written 0600, atomically (temp file, fsync,
// rename, fsync of the directory). A key file that exists but is unreadable, corrupt, or
// readable by group or others is an error, never silently replaced: replacing it would unpair
// every client.
#pragma once

#include <filesystem>
#include <string>

#include "common/openssl.hpp"
#include "common/result.hpp"
#include "ktls/pin.hpp"

namespace ttygate::ktls {

struct Identity {
  EvpPkeyPtr key;
  X509Ptr certificate;
  Pin pin{};
};

struct IdentityFiles {
  std::filesystem::path key;          // PEM PKCS#8 private key, mode 0600
  std::filesystem::path certificate;  // PEM certificate
};

// The gateway's files are "<dir>/<stem>.key" and "<dir>/<stem>.crt".
IdentityFiles identity_files(const std::filesystem::path& dir, const std::string& stem);

// Loads the identity, or creates it (ECDSA P-256, self-signed, CN = common_name, 100 years)
// when neither file exists. A missing certificate beside an existing key is re-made from the key
// (it is only an envelope). The directory is created 0700 if missing.
Result<Identity> load_or_create_identity(const IdentityFiles& files, const std::string& common_name);

// Loads only; never creates.
Result<Identity> load_identity(const IdentityFiles& files);

}  // namespace ttygate::ktls
