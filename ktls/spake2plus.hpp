// SPDX-License-Identifier: Apache-2.0
// SPAKE2+ (RFC 9383), ciphersuite P256-SHA256-HKDF-SHA256-HMAC-SHA256: a setup code proves a
// client to the gateway, and the gateway to the client, without either side learning anything
// an eavesdropper or a fake peer could test guesses of the code against offline.
//
// The client is the prover: it knows the code, so it derives w0 and w1 (derive_secrets). The
// gateway is the verifier: it stores only w0 and L = w1*P (make_verifier). A copy of that does
// not let anyone act as a client, which takes w1: only the code gives it, so they would have to
// search the codes offline, each candidate costing the PBKDF2 work.
// Messages, in order: shareP (prover, 65 bytes), shareV and confirmV (verifier, 65 + 32 bytes),
// confirmP (prover, 32 bytes). Points travel as uncompressed SEC1 only. Both sides then hold
// K_shared (32 bytes). Binding the exchange to a channel is the caller's job, through the
// transcript's context (ttygate puts its TLS session's exporter there).
//
// Built only from OpenSSL primitives (EC_POINT, BN, EVP_Digest, EVP_KDF HKDF, EVP_MAC HMAC,
// PKCS5_PBKDF2_HMAC); each scalar multiplication takes one secret scalar at a time so OpenSSL
// uses its constant-time ladder. Every received point is refused unless it is a canonical
// uncompressed encoding of a point on P-256 other than the identity (P-256's cofactor is 1, so
// that is RFC 9383's subgroup check). Every struct and object holding a secret wipes it when
// destroyed. No shared state: safe from any thread, one object per exchange.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace ttygate::ktls::spake2plus {

inline constexpr std::size_t kScalarBytes = 32;  // big-endian, below the order of P-256
inline constexpr std::size_t kPointBytes = 65;   // 0x04 || x || y
inline constexpr std::size_t kMacBytes = 32;     // HMAC-SHA256
inline constexpr std::size_t kKeyBytes = 32;     // K_shared, and each of RFC 9383's keys

using Scalar = std::array<std::uint8_t, kScalarBytes>;
using Point = std::array<std::uint8_t, kPointBytes>;
using Mac = std::array<std::uint8_t, kMacBytes>;
using Key = std::array<std::uint8_t, kKeyBytes>;

// The prover's secrets, from the code. Wiped when destroyed.
struct Secrets {
  Scalar w0{}, w1{};
  ~Secrets();
};

// What the verifier stores instead of the code. w0 is secret too (with it, a fake verifier
// needs no code), so it is wiped when destroyed.
struct Verifier {
  Scalar w0{};
  Point L{};
  ~Verifier();
};

// RFC 9383's Context, idProver and idVerifier: the same bytes on both sides, or confirmation
// fails (errc::permission_denied, as for a wrong code).
struct Transcript {
  std::vector<std::uint8_t> context, id_prover, id_verifier;
};

// w0s || w1s = PBKDF2-HMAC-SHA256(len(pw) || pw || len(idProver) || idProver || len(idVerifier)
// || idVerifier, salt, iterations, 80 bytes), then w0 = w0s mod n, w1 = w1s mod n (n: the
// order of P-256; 40 bytes each keep the bias below 2^-64). RFC 9383 section 3.2's encoding, with
// 8-byte little-endian lengths and both identities empty, as ttygate uses them: the code is
// bound to the gateway by the salt, which only that gateway's verifier file holds.
// Fails on iterations == 0, an empty salt, or a password of more than 1024 bytes.
Result<Secrets> derive_secrets(std::string_view password, std::span<const std::uint8_t> salt,
                               std::uint32_t iterations);

// L = w1*P. Fails on a scalar not below the order or w1 == 0.
Result<Verifier> make_verifier(const Secrets& secrets);

// A Verifier read back from storage: w0 below the order, L a valid point (the same checks as a
// received share). errc::invalid_argument, naming which, otherwise.
Result<Verifier> verifier_from(std::span<const std::uint8_t> w0, std::span<const std::uint8_t> L);

// Whether bytes are a canonical uncompressed P-256 point other than the identity, and whether
// they are a 32-byte big-endian scalar below the order: the checks verifier_from makes.
bool valid_point(std::span<const std::uint8_t> bytes);
bool valid_scalar(std::span<const std::uint8_t> bytes);

// The prover's result once the verifier has proven itself.
struct Finish {
  Mac confirm{};     // confirmP, to send to the verifier
  Key shared_key{};  // K_shared
  ~Finish();
};

// The client's side. start() draws x and computes shareP; finish() takes the verifier's reply.
class Prover {
 public:
  // x_for_tests replaces the random x (RFC vectors, cross-checks); it must be in [1, n-1].
  static Result<Prover> start(const Secrets& secrets, Transcript transcript,
                              std::optional<Scalar> x_for_tests = std::nullopt);

  Prover(Prover&&) = default;
  Prover& operator=(Prover&&) = default;
  ~Prover();

  std::span<const std::uint8_t, kPointBytes> share() const { return share_p_; }  // shareP = X

  // Checks shareV, then confirmV. A refused shareV is errc::invalid_argument; a confirmV that
  // does not match (a wrong code, or a different transcript) is errc::permission_denied. Either
  // way nothing is returned to send. Once only: x is wiped on the first call, whatever its outcome.
  Result<Finish> finish(std::span<const std::uint8_t> share_v, std::span<const std::uint8_t> confirm_v);

 private:
  Prover() = default;
  Secrets secrets_;
  Transcript transcript_;
  Scalar x_{};
  Point share_p_{};
  bool finished_ = false;
};

// The gateway's side: one call on the prover's shareP yields shareV and confirmV, then finish()
// checks confirmP.
class VerifierSession {
 public:
  // Refuses a bad shareP with errc::invalid_argument. y_for_tests: as x_for_tests above.
  static Result<VerifierSession> respond(const Verifier& verifier, Transcript transcript,
                                         std::span<const std::uint8_t> share_p,
                                         std::optional<Scalar> y_for_tests = std::nullopt);

  VerifierSession(VerifierSession&&) = default;
  VerifierSession& operator=(VerifierSession&&) = default;
  ~VerifierSession();

  std::span<const std::uint8_t, kPointBytes> share() const { return share_v_; }      // shareV = Y
  std::span<const std::uint8_t, kMacBytes> confirm() const { return confirm_v_; }   // confirmV

  // K_shared when confirmP matches, else errc::permission_denied. Once only: the keys are
  // wiped on the first call, whatever its outcome.
  Result<Key> finish(std::span<const std::uint8_t> confirm_p);

 private:
  VerifierSession() = default;
  Point share_v_{};
  Mac confirm_v_{};
  Mac expected_confirm_p_{};
  Key shared_key_{};
  bool finished_ = false;
};

// Every value RFC 9383's test vectors list, as one side computes it. For tests (the RFC's
// Appendix C, the Python cross-check); Prover and VerifierSession are thin wrappers around these
// two functions, so checking them checks the protocol's arithmetic. Wiped when destroyed.
struct Details {
  Point share_p{}, share_v{}, Z{}, V{};
  std::vector<std::uint8_t> TT;
  Key K_main{}, K_confirmP{}, K_confirmV{}, K_shared{};
  Mac confirm_p{};  // HMAC(K_confirmP, shareV)
  Mac confirm_v{};  // HMAC(K_confirmV, shareP)
  ~Details();
};

// The prover's view, given its x and the verifier's shareV (checked as finish() does).
Result<Details> prover_details(const Secrets& secrets, const Transcript& transcript, const Scalar& x,
                               std::span<const std::uint8_t> share_v);
// The verifier's view, given the prover's shareP (checked as respond() does) and its y.
Result<Details> verifier_details(const Verifier& verifier, const Transcript& transcript,
                                 std::span<const std::uint8_t> share_p, const Scalar& y);

}  // namespace ttygate::ktls::spake2plus
