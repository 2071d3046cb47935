// SPDX-License-Identifier: Apache-2.0
// cryptofloor: repeats one public-key operation of a TLS 1.3 handshake N times, the way
// `openssl speed` does (contexts made once, only the operation in the loop), so that
// bench/profile can count its instructions under callgrind: two runs with different N, the
// difference divided by the difference of N, is one operation's cost whatever the machine's load.
//
//   cryptofloor OP N      OP: p256-keygen | p256-derive | p256-public-check | ecdsa-sign |
//                             ecdsa-verify | x25519-keygen | x25519-derive
//
// p256-public-check is what OpenSSL 3.0 adds to every P-256 key exchange in TLS: its
// EVP_PKEY_derive_set_peer runs a full public-key validation of the peer's share (a scalar
// multiplication by the group order). The floor counts it apart.
#include <openssl/evp.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>

#include "common/openssl.hpp"

namespace {

using ttygate::EvpPkeyCtxPtr;
using ttygate::EvpPkeyPtr;

EvpPkeyPtr generate(const char* type) {
  EvpPkeyPtr key(std::string(type) == "EC" ? EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256")
                                           : EVP_PKEY_Q_keygen(nullptr, nullptr, type));
  if (!key) throw std::runtime_error(std::string("cannot generate a ") + type + " key");
  return key;
}

void check(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(what);
}

void keygen(const char* type, long n) {
  for (long i = 0; i < n; ++i) generate(type);
}

void derive(const char* type, long n) {
  EvpPkeyPtr own = generate(type), peer = generate(type);
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new(own.get(), nullptr));
  check(ctx && EVP_PKEY_derive_init(ctx.get()) == 1 && EVP_PKEY_derive_set_peer(ctx.get(), peer.get()) == 1,
        "cannot set up the key exchange");
  std::array<unsigned char, 64> secret{};
  for (long i = 0; i < n; ++i) {
    std::size_t length = secret.size();
    check(EVP_PKEY_derive(ctx.get(), secret.data(), &length) == 1, "key exchange failed");
  }
}

void public_check(long n) {
  EvpPkeyPtr peer = generate("EC");
  for (long i = 0; i < n; ++i) {
    EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new(peer.get(), nullptr));
    check(ctx && EVP_PKEY_public_check(ctx.get()) == 1, "public key check failed");
  }
}

// Sign and verify a SHA-256 digest, as a CertificateVerify does after hashing the transcript.
void ecdsa(bool sign, long n) {
  EvpPkeyPtr key = generate("EC");
  const std::array<unsigned char, 32> digest{1, 2, 3};
  std::array<unsigned char, 80> signature{};
  std::size_t length = signature.size();
  EvpPkeyCtxPtr signer(EVP_PKEY_CTX_new(key.get(), nullptr));
  check(signer && EVP_PKEY_sign_init(signer.get()) == 1 &&
            EVP_PKEY_sign(signer.get(), signature.data(), &length, digest.data(), digest.size()) == 1,
        "cannot sign");
  if (sign) {
    for (long i = 0; i < n; ++i) {
      length = signature.size();
      check(EVP_PKEY_sign(signer.get(), signature.data(), &length, digest.data(), digest.size()) == 1, "sign failed");
    }
    return;
  }
  EvpPkeyCtxPtr verifier(EVP_PKEY_CTX_new(key.get(), nullptr));
  check(verifier && EVP_PKEY_verify_init(verifier.get()) == 1, "cannot verify");
  for (long i = 0; i < n; ++i)
    check(EVP_PKEY_verify(verifier.get(), signature.data(), length, digest.data(), digest.size()) == 1,
          "verify failed");
}

}  // namespace

int main(int argc, char** argv) {
  const std::map<std::string, std::function<void(long)>> ops = {
      {"p256-keygen", [](long n) { keygen("EC", n); }},
      {"p256-derive", [](long n) { derive("EC", n); }},
      {"p256-public-check", public_check},
      {"ecdsa-sign", [](long n) { ecdsa(true, n); }},
      {"ecdsa-verify", [](long n) { ecdsa(false, n); }},
      {"x25519-keygen", [](long n) { keygen("X25519", n); }},
      {"x25519-derive", [](long n) { derive("X25519", n); }},
  };
  auto op = argc == 3 ? ops.find(argv[1]) : ops.end();
  if (op == ops.end()) {
    std::fprintf(stderr, "usage: cryptofloor OP N (OP: p256-keygen, p256-derive, p256-public-check, "
                         "ecdsa-sign, ecdsa-verify, x25519-keygen, x25519-derive)\n");
    return 2;
  }
  try {
    op->second(std::atol(argv[2]));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cryptofloor: %s\n", e.what());
    return 1;
  }
  return 0;
}
