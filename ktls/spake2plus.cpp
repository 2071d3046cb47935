// SPDX-License-Identifier: Apache-2.0
// SPAKE2+ over OpenSSL's EC and EVP primitives. See spake2plus.hpp.
//
// Names follow RFC 9383 (x, y, w0, w1, L, M, N, Z, V, TT, K_main, ...) so each line can be held
// against the RFC's pseudocode. Each multiplication takes one scalar: EC_POINT_mul with a
// generator scalar and a point scalar together goes through OpenSSL's variable-time wNAF code,
// while a single scalar gets the constant-time ladder (or P-256's constant-time tables).
#include "ktls/spake2plus.hpp"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/obj_mac.h>

#include <climits>
#include <memory>
#include <string>

#include "common/openssl.hpp"

namespace ttygate::ktls::spake2plus {
namespace {

using BnPtr = std::unique_ptr<BIGNUM, OpenSslDeleter<BN_clear_free>>;
using BnCtxPtr = std::unique_ptr<BN_CTX, OpenSslDeleter<BN_CTX_free>>;
using EcGroupPtr = std::unique_ptr<EC_GROUP, OpenSslDeleter<EC_GROUP_free>>;
using EcPointPtr = std::unique_ptr<EC_POINT, OpenSslDeleter<EC_POINT_clear_free>>;
using EvpKdfPtr = std::unique_ptr<EVP_KDF, OpenSslDeleter<EVP_KDF_free>>;
using EvpMacPtr = std::unique_ptr<EVP_MAC, OpenSslDeleter<EVP_MAC_free>>;
using EvpMacCtxPtr = std::unique_ptr<EVP_MAC_CTX, OpenSslDeleter<EVP_MAC_CTX_free>>;
using Bytes = std::span<const std::uint8_t>;

// RFC 9383 section 4, P-256: M and N as the RFC gives them, compressed SEC1.
constexpr std::uint8_t kM[33] = {0x02, 0x88, 0x6e, 0x2f, 0x97, 0xac, 0xe4, 0x6e, 0x55, 0xba, 0x9d,
                                 0xd7, 0x24, 0x25, 0x79, 0xf2, 0x99, 0x3b, 0x64, 0xe1, 0x6e, 0xf3,
                                 0xdc, 0xab, 0x95, 0xaf, 0xd4, 0x97, 0x33, 0x3d, 0x8f, 0xa1, 0x2f};
constexpr std::uint8_t kN[33] = {0x03, 0xd8, 0xbb, 0xd6, 0xc6, 0x39, 0xc6, 0x29, 0x37, 0xb0, 0x4d,
                                 0x99, 0x7f, 0x38, 0xc3, 0x77, 0x07, 0x19, 0xc6, 0x29, 0xd7, 0x01,
                                 0x4d, 0x49, 0xa2, 0x4b, 0x4f, 0x98, 0xba, 0xa1, 0x29, 0x2b, 0x49};

// PBKDF2 output: two halves of ceil(log2(n)) + 64 bits = 40 bytes (RFC 9383 section 3.2).
constexpr std::size_t kHalfBytes = 40;
constexpr std::size_t kMaxPasswordBytes = 1024;

Error invalid(std::string context) { return Error(std::make_error_code(std::errc::invalid_argument), std::move(context)); }
Error mismatch(std::string context) { return Error(std::make_error_code(std::errc::permission_denied), std::move(context)); }

template <std::size_t N>
void wipe(std::array<std::uint8_t, N>& bytes) { OPENSSL_cleanse(bytes.data(), bytes.size()); }

// len(S) of RFC 9383: eight bytes, little-endian.
void append_with_length(std::vector<std::uint8_t>& out, std::span<const std::uint8_t> bytes) {
  std::uint64_t length = bytes.size();
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<std::uint8_t>(length >> (8 * i)));
  out.insert(out.end(), bytes.begin(), bytes.end());
}

// The group with its fixed points and a scratch context: made per operation, so nothing is
// shared between threads.
class Curve {
 public:
  static Result<Curve> p256();

  const EC_GROUP* group() const { return group_.get(); }
  const BIGNUM* order() const { return EC_GROUP_get0_order(group_.get()); }
  const EC_POINT* M() const { return M_.get(); }
  const EC_POINT* N() const { return N_.get(); }
  BN_CTX* ctx() const { return ctx_.get(); }

  Result<EcPointPtr> decode(std::span<const std::uint8_t> bytes, const std::string& what) const;
  Result<Point> encode(const EC_POINT* point, const std::string& what) const;
  Result<BnPtr> scalar(std::span<const std::uint8_t> bytes, const std::string& what) const;
  Result<BnPtr> ephemeral(const std::optional<Scalar>& for_tests, const std::string& what) const;
  Result<EcPointPtr> times_generator(const BIGNUM* k) const;
  Result<EcPointPtr> times(const EC_POINT* point, const BIGNUM* k) const;
  Result<EcPointPtr> plus(const EC_POINT* a, const EC_POINT* b) const;
  Result<EcPointPtr> minus(const EC_POINT* a, const EC_POINT* b) const;

 private:
  EcGroupPtr group_;
  BnCtxPtr ctx_;
  EcPointPtr M_, N_;
};

Result<Curve> Curve::p256() {
  Curve curve;
  curve.group_.reset(EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1));
  curve.ctx_.reset(BN_CTX_new());
  if (!curve.group_ || !curve.ctx_) return openssl_error("P-256");
  curve.M_.reset(EC_POINT_new(curve.group()));
  curve.N_.reset(EC_POINT_new(curve.group()));
  if (!curve.M_ || !curve.N_ ||
      EC_POINT_oct2point(curve.group(), curve.M_.get(), kM, sizeof kM, curve.ctx()) != 1 ||
      EC_POINT_oct2point(curve.group(), curve.N_.get(), kN, sizeof kN, curve.ctx()) != 1) {
    return openssl_error("SPAKE2+ points M and N");
  }
  return curve;
}

// Only the canonical uncompressed form: OpenSSL would also take the compressed and "hybrid"
// (0x06/0x07) encodings, which would give one point several transcripts.
Result<EcPointPtr> Curve::decode(std::span<const std::uint8_t> bytes, const std::string& what) const {
  if (bytes.size() != kPointBytes) {
    return invalid(what + ": " + std::to_string(bytes.size()) + " bytes, expected a 65-byte uncompressed P-256 point");
  }
  if (bytes[0] != 0x04) return invalid(what + ": not an uncompressed point (first byte is not 0x04)");
  EcPointPtr point(EC_POINT_new(group()));
  if (!point) return openssl_error(what);
  if (EC_POINT_oct2point(group(), point.get(), bytes.data(), bytes.size(), ctx()) != 1) {
    ERR_clear_error();
    return invalid(what + ": not a point on P-256");
  }
  if (EC_POINT_is_at_infinity(group(), point.get()) == 1) return invalid(what + ": the identity point");
  if (EC_POINT_is_on_curve(group(), point.get(), ctx()) != 1) {
    ERR_clear_error();
    return invalid(what + ": not a point on P-256");
  }
  auto again = encode(point.get(), what);
  if (!again || CRYPTO_memcmp(again->data(), bytes.data(), kPointBytes) != 0) {
    return invalid(what + ": not a canonical encoding");
  }
  return point;
}

// The identity has no 65-byte encoding; reaching it means a peer's share cancelled ours.
Result<Point> Curve::encode(const EC_POINT* point, const std::string& what) const {
  if (EC_POINT_is_at_infinity(group(), point) == 1) return invalid(what + " is the identity point");
  Point out{};
  std::size_t n = EC_POINT_point2oct(group(), point, POINT_CONVERSION_UNCOMPRESSED, out.data(), out.size(), ctx());
  if (n != out.size()) return openssl_error("encoding " + what);
  return out;
}

// Secret scalars carry BN_FLG_CONSTTIME, so OpenSSL takes its constant-time paths with them.
Result<BnPtr> Curve::scalar(std::span<const std::uint8_t> bytes, const std::string& what) const {
  if (bytes.size() != kScalarBytes) {
    return invalid(what + ": " + std::to_string(bytes.size()) + " bytes, expected " + std::to_string(kScalarBytes));
  }
  BnPtr k(BN_bin2bn(bytes.data(), static_cast<int>(bytes.size()), nullptr));
  if (!k) return openssl_error(what);
  BN_set_flags(k.get(), BN_FLG_CONSTTIME);
  if (BN_cmp(k.get(), order()) >= 0) return invalid(what + ": not below the order of P-256");
  return k;
}

// x or y: uniform in [1, n-1] from the private DRBG. Zero, which RFC 9383's [0, p-1] allows,
// would make the share w0*M or w0*N alone; it is drawn again (and refused from tests).
Result<BnPtr> Curve::ephemeral(const std::optional<Scalar>& for_tests, const std::string& what) const {
  if (for_tests) {
    auto k = scalar(*for_tests, what);
    if (k && BN_is_zero(k->get())) return invalid(what + ": zero");
    return k;
  }
  BnPtr k(BN_secure_new());
  if (!k) return openssl_error(what);
  BN_set_flags(k.get(), BN_FLG_CONSTTIME);
  do {
    if (BN_priv_rand_range(k.get(), order()) != 1) return openssl_error("drawing " + what);
  } while (BN_is_zero(k.get()));
  return k;
}

Result<EcPointPtr> Curve::times_generator(const BIGNUM* k) const {
  EcPointPtr r(EC_POINT_new(group()));
  if (!r || EC_POINT_mul(group(), r.get(), k, nullptr, nullptr, ctx()) != 1) return openssl_error("scalar multiplication");
  return r;
}

Result<EcPointPtr> Curve::times(const EC_POINT* point, const BIGNUM* k) const {
  EcPointPtr r(EC_POINT_new(group()));
  if (!r || EC_POINT_mul(group(), r.get(), nullptr, point, k, ctx()) != 1) return openssl_error("scalar multiplication");
  return r;
}

Result<EcPointPtr> Curve::plus(const EC_POINT* a, const EC_POINT* b) const {
  EcPointPtr r(EC_POINT_new(group()));
  if (!r || EC_POINT_add(group(), r.get(), a, b, ctx()) != 1) return openssl_error("point addition");
  return r;
}

Result<EcPointPtr> Curve::minus(const EC_POINT* a, const EC_POINT* b) const {
  EcPointPtr negated(EC_POINT_dup(b, group()));
  if (!negated || EC_POINT_invert(group(), negated.get(), ctx()) != 1) return openssl_error("point negation");
  return plus(a, negated.get());
}

// k*P + w0*blind: shareP (x, M) or shareV (y, N).
Result<Point> blinded_share(const Curve& curve, const BIGNUM* k, const BIGNUM* w0, const EC_POINT* blind,
                            const std::string& what) {
  auto kP = curve.times_generator(k);
  if (!kP) return kP.error();
  auto w0_blind = curve.times(blind, w0);
  if (!w0_blind) return w0_blind.error();
  auto sum = curve.plus(kP->get(), w0_blind->get());
  if (!sum) return sum.error();
  return curve.encode(sum->get(), what);
}

Result<Key> sha256(std::span<const std::uint8_t> bytes) {
  Key out{};
  unsigned int n = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), out.data(), &n, EVP_sha256(), nullptr) != 1 || n != out.size()) {
    return openssl_error("SHA-256");
  }
  return out;
}

// KDF(nil, ikm, info) of RFC 9383: HKDF-SHA256 (extract and expand) without a salt, which
// RFC 5869 defines as HashLen zero bytes.
Result<void> hkdf(std::span<const std::uint8_t> ikm, std::string_view info, std::span<std::uint8_t> out) {
  EvpKdfPtr kdf(EVP_KDF_fetch(nullptr, "HKDF", nullptr));
  if (!kdf) return openssl_error("HKDF not available");
  EvpKdfCtxPtr ctx(EVP_KDF_CTX_new(kdf.get()));
  if (!ctx) return openssl_error("HKDF context");
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, const_cast<char*>("SHA256"), 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, const_cast<std::uint8_t*>(ikm.data()), ikm.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, const_cast<char*>(info.data()), info.size()),
      OSSL_PARAM_construct_end(),
  };
  if (EVP_KDF_derive(ctx.get(), out.data(), out.size(), params) != 1) return openssl_error("HKDF \"" + std::string(info) + "\"");
  return success();
}

Result<Mac> hmac_sha256(std::span<const std::uint8_t> key, std::span<const std::uint8_t> message) {
  EvpMacPtr mac(EVP_MAC_fetch(nullptr, "HMAC", nullptr));
  if (!mac) return openssl_error("HMAC not available");
  EvpMacCtxPtr ctx(EVP_MAC_CTX_new(mac.get()));
  if (!ctx) return openssl_error("HMAC context");
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>("SHA256"), 0),
      OSSL_PARAM_construct_end(),
  };
  Mac out{};
  std::size_t n = 0;
  if (EVP_MAC_init(ctx.get(), key.data(), key.size(), params) != 1 ||
      EVP_MAC_update(ctx.get(), message.data(), message.size()) != 1 ||
      EVP_MAC_final(ctx.get(), out.data(), &n, out.size()) != 1 || n != out.size()) {
    return openssl_error("HMAC-SHA256");
  }
  return out;
}

// TT of RFC 9383 section 3.3, in its order.
Result<void> fill_transcript(const Curve& curve, const Transcript& t, const Scalar& w0, Details& d) {
  auto M = curve.encode(curve.M(), "M");
  auto N = curve.encode(curve.N(), "N");
  if (!M || !N) return (!M ? M : N).error();
  for (Bytes part : {Bytes(t.context), Bytes(t.id_prover), Bytes(t.id_verifier), Bytes(*M), Bytes(*N),
                     Bytes(d.share_p), Bytes(d.share_v), Bytes(d.Z), Bytes(d.V), Bytes(w0)}) {
    append_with_length(d.TT, part);
  }
  return success();
}

// RFC 9383 section 3.4: TT, K_main, the confirmation keys, both MACs and K_shared, from the
// shares, Z and V already in d.
Result<void> key_schedule(const Curve& curve, const Transcript& transcript, const Scalar& w0, Details& d) {
  if (auto tt = fill_transcript(curve, transcript, w0, d); !tt) return tt;
  auto K_main = sha256(d.TT);
  if (!K_main) return K_main.error();
  d.K_main = *K_main;
  wipe(*K_main);
  std::array<std::uint8_t, 2 * kKeyBytes> confirmation{};
  auto derived = hkdf(d.K_main, "ConfirmationKeys", confirmation);
  std::copy(confirmation.begin(), confirmation.begin() + kKeyBytes, d.K_confirmP.begin());
  std::copy(confirmation.begin() + kKeyBytes, confirmation.end(), d.K_confirmV.begin());
  wipe(confirmation);
  if (!derived) return derived;
  if (auto shared = hkdf(d.K_main, "SharedKey", d.K_shared); !shared) return shared;
  auto confirm_p = hmac_sha256(d.K_confirmP, d.share_v);
  auto confirm_v = hmac_sha256(d.K_confirmV, d.share_p);
  if (!confirm_p || !confirm_v) return (!confirm_p ? confirm_p : confirm_v).error();
  d.confirm_p = *confirm_p;
  d.confirm_v = *confirm_v;
  return success();
}

// Z = h*k*T and V = h*s*U (h = 1 on P-256) into d, both refused if they are the identity.
Result<void> shared_values(const Curve& curve, const BIGNUM* k, const EC_POINT* T, const BIGNUM* s, const EC_POINT* U,
                           Details& d) {
  auto Z = curve.times(T, k);
  if (!Z) return Z.error();
  auto V = curve.times(U, s);
  if (!V) return V.error();
  auto Z_bytes = curve.encode(Z->get(), "Z");
  if (!Z_bytes) return Z_bytes.error();
  auto V_bytes = curve.encode(V->get(), "V");
  if (!V_bytes) return V_bytes.error();
  d.Z = *Z_bytes;
  d.V = *V_bytes;
  wipe(*Z_bytes);
  wipe(*V_bytes);
  return success();
}

// The prover's side after shareP = X was sent: Z = x*(Y - w0*N), V = w1*(Y - w0*N).
Result<Details> prover_side(const Curve& curve, const Secrets& secrets, const Transcript& transcript, const BIGNUM* x,
                            const Point& share_p, std::span<const std::uint8_t> share_v) {
  auto Y = curve.decode(share_v, "shareV");
  if (!Y) return Y.error();
  auto w0 = curve.scalar(secrets.w0, "w0");
  if (!w0) return w0.error();
  auto w1 = curve.scalar(secrets.w1, "w1");
  if (!w1) return w1.error();
  auto w0_N = curve.times(curve.N(), w0->get());
  if (!w0_N) return w0_N.error();
  auto unblinded = curve.minus(Y->get(), w0_N->get());
  if (!unblinded) return unblinded.error();
  Details d;
  d.share_p = share_p;
  std::copy(share_v.begin(), share_v.end(), d.share_v.begin());
  if (auto zv = shared_values(curve, x, unblinded->get(), w1->get(), unblinded->get(), d); !zv) return zv.error();
  if (auto keys = key_schedule(curve, transcript, secrets.w0, d); !keys) return keys.error();
  return d;
}

// The verifier's side: Y = y*P + w0*N, Z = y*(X - w0*M), V = y*L.
Result<Details> verifier_side(const Curve& curve, const Verifier& verifier, const Transcript& transcript,
                              std::span<const std::uint8_t> share_p, const BIGNUM* y) {
  auto X = curve.decode(share_p, "shareP");
  if (!X) return X.error();
  auto w0 = curve.scalar(verifier.w0, "w0");
  if (!w0) return w0.error();
  auto L = curve.decode(verifier.L, "L");
  if (!L) return L.error();
  Details d;
  std::copy(share_p.begin(), share_p.end(), d.share_p.begin());
  auto Y = blinded_share(curve, y, w0->get(), curve.N(), "shareV");
  if (!Y) return Y.error();
  d.share_v = *Y;
  auto w0_M = curve.times(curve.M(), w0->get());
  if (!w0_M) return w0_M.error();
  auto unblinded = curve.minus(X->get(), w0_M->get());
  if (!unblinded) return unblinded.error();
  if (auto zv = shared_values(curve, y, unblinded->get(), y, L->get(), d); !zv) return zv.error();
  if (auto keys = key_schedule(curve, transcript, verifier.w0, d); !keys) return keys.error();
  return d;
}

Result<Point> prover_share(const Curve& curve, const Secrets& secrets, const BIGNUM* x) {
  auto w0 = curve.scalar(secrets.w0, "w0");
  if (!w0) return w0.error();
  return blinded_share(curve, x, w0->get(), curve.M(), "shareP");
}

// The password-derived input of RFC 9383 section 3.2, identities empty.
std::vector<std::uint8_t> pbkdf_input(std::string_view password) {
  std::vector<std::uint8_t> input;
  input.reserve(password.size() + 24);
  append_with_length(input, {reinterpret_cast<const std::uint8_t*>(password.data()), password.size()});
  append_with_length(input, {});  // idProver
  append_with_length(input, {});  // idVerifier
  return input;
}

Result<Scalar> reduce(const Curve& curve, std::span<const std::uint8_t> half) {
  BnPtr wide(BN_bin2bn(half.data(), static_cast<int>(half.size()), nullptr));
  BnPtr reduced(BN_new());
  if (!wide || !reduced) return openssl_error("w0/w1");
  BN_set_flags(wide.get(), BN_FLG_CONSTTIME);
  Scalar out{};
  if (BN_mod(reduced.get(), wide.get(), curve.order(), curve.ctx()) != 1 ||
      BN_bn2binpad(reduced.get(), out.data(), static_cast<int>(out.size())) != static_cast<int>(out.size())) {
    return openssl_error("w0/w1 mod n");
  }
  return out;
}

}  // namespace

Secrets::~Secrets() {
  wipe(w0);
  wipe(w1);
}

Verifier::~Verifier() { wipe(w0); }

Finish::~Finish() { wipe(shared_key); }

Details::~Details() {
  OPENSSL_cleanse(TT.data(), TT.size());
  wipe(Z);
  wipe(V);
  wipe(K_main);
  wipe(K_confirmP);
  wipe(K_confirmV);
  wipe(K_shared);
}

Result<Secrets> derive_secrets(std::string_view password, std::span<const std::uint8_t> salt, std::uint32_t iterations) {
  if (iterations == 0 || iterations > INT_MAX) return invalid("PBKDF2 iterations out of range");
  if (salt.empty() || salt.size() > INT_MAX) return invalid("PBKDF2 salt is empty");
  if (password.size() > kMaxPasswordBytes) return invalid("password longer than 1024 bytes");
  auto curve = Curve::p256();
  if (!curve) return curve.error();
  std::vector<std::uint8_t> input = pbkdf_input(password);
  std::array<std::uint8_t, 2 * kHalfBytes> output{};
  int ok = PKCS5_PBKDF2_HMAC(reinterpret_cast<const char*>(input.data()), static_cast<int>(input.size()), salt.data(),
                             static_cast<int>(salt.size()), static_cast<int>(iterations), EVP_sha256(),
                             static_cast<int>(output.size()), output.data());
  OPENSSL_cleanse(input.data(), input.size());
  if (ok != 1) return openssl_error("PBKDF2-HMAC-SHA256");
  auto w0 = reduce(*curve, std::span(output).first(kHalfBytes));
  auto w1 = reduce(*curve, std::span(output).last(kHalfBytes));
  wipe(output);
  if (!w0 || !w1) return (!w0 ? w0 : w1).error();
  Secrets secrets{*w0, *w1};
  wipe(*w0);
  wipe(*w1);
  return secrets;
}

Result<Verifier> make_verifier(const Secrets& secrets) {
  auto curve = Curve::p256();
  if (!curve) return curve.error();
  if (auto w0 = curve->scalar(secrets.w0, "w0"); !w0) return w0.error();
  auto w1 = curve->scalar(secrets.w1, "w1");
  if (!w1) return w1.error();
  auto L = curve->times_generator(w1->get());
  if (!L) return L.error();
  auto L_bytes = curve->encode(L->get(), "L");
  if (!L_bytes) return L_bytes.error();
  return Verifier{secrets.w0, *L_bytes};
}

Result<Verifier> verifier_from(std::span<const std::uint8_t> w0, std::span<const std::uint8_t> L) {
  auto curve = Curve::p256();
  if (!curve) return curve.error();
  if (auto scalar = curve->scalar(w0, "w0"); !scalar) return scalar.error();
  if (auto point = curve->decode(L, "L"); !point) return point.error();
  Verifier verifier;
  std::copy(w0.begin(), w0.end(), verifier.w0.begin());
  std::copy(L.begin(), L.end(), verifier.L.begin());
  return verifier;
}

bool valid_point(std::span<const std::uint8_t> bytes) {
  auto curve = Curve::p256();
  return curve && curve->decode(bytes, "point").ok();
}

bool valid_scalar(std::span<const std::uint8_t> bytes) {
  auto curve = Curve::p256();
  return curve && curve->scalar(bytes, "scalar").ok();
}

Result<Details> prover_details(const Secrets& secrets, const Transcript& transcript, const Scalar& x,
                               std::span<const std::uint8_t> share_v) {
  auto curve = Curve::p256();
  if (!curve) return curve.error();
  auto k = curve->ephemeral(x, "x");
  if (!k) return k.error();
  auto X = prover_share(*curve, secrets, k->get());
  if (!X) return X.error();
  return prover_side(*curve, secrets, transcript, k->get(), *X, share_v);
}

Result<Details> verifier_details(const Verifier& verifier, const Transcript& transcript,
                                 std::span<const std::uint8_t> share_p, const Scalar& y) {
  auto curve = Curve::p256();
  if (!curve) return curve.error();
  auto k = curve->ephemeral(y, "y");
  if (!k) return k.error();
  return verifier_side(*curve, verifier, transcript, share_p, k->get());
}

Result<Prover> Prover::start(const Secrets& secrets, Transcript transcript, std::optional<Scalar> x_for_tests) {
  auto curve = Curve::p256();
  if (!curve) return curve.error();
  auto x = curve->ephemeral(x_for_tests, "x");
  if (x_for_tests) wipe(*x_for_tests);
  if (!x) return x.error();
  if (auto w1 = curve->scalar(secrets.w1, "w1"); !w1) return w1.error();
  auto X = prover_share(*curve, secrets, x->get());
  if (!X) return X.error();
  Prover prover;
  prover.secrets_ = secrets;
  prover.transcript_ = std::move(transcript);
  prover.share_p_ = *X;
  if (BN_bn2binpad(x->get(), prover.x_.data(), static_cast<int>(prover.x_.size())) != static_cast<int>(prover.x_.size())) {
    return openssl_error("x");
  }
  return prover;
}

Prover::~Prover() { wipe(x_); }

Result<Finish> Prover::finish(std::span<const std::uint8_t> share_v, std::span<const std::uint8_t> confirm_v) {
  if (finished_) return Error(std::make_error_code(std::errc::operation_not_permitted), "SPAKE2+ prover already finished");
  finished_ = true;
  Scalar x = x_;
  wipe(x_);
  auto curve = Curve::p256();
  auto k = curve ? curve->scalar(x, "x") : Result<BnPtr>(curve.error());
  wipe(x);
  if (!k) return k.error();
  if (confirm_v.size() != kMacBytes) {
    return invalid("confirmV: " + std::to_string(confirm_v.size()) + " bytes, expected " + std::to_string(kMacBytes));
  }
  auto d = prover_side(*curve, secrets_, transcript_, k->get(), share_p_, share_v);
  if (!d) return d.error();
  if (CRYPTO_memcmp(d->confirm_v.data(), confirm_v.data(), kMacBytes) != 0) {
    return mismatch("confirmV does not match: a different setup code or transcript");
  }
  Finish done;
  done.confirm = d->confirm_p;
  done.shared_key = d->K_shared;
  return done;
}

Result<VerifierSession> VerifierSession::respond(const Verifier& verifier, Transcript transcript,
                                                 std::span<const std::uint8_t> share_p, std::optional<Scalar> y_for_tests) {
  auto curve = Curve::p256();
  if (!curve) return curve.error();
  auto y = curve->ephemeral(y_for_tests, "y");
  if (y_for_tests) wipe(*y_for_tests);
  if (!y) return y.error();
  auto d = verifier_side(*curve, verifier, transcript, share_p, y->get());
  if (!d) return d.error();
  VerifierSession session;
  session.share_v_ = d->share_v;
  session.confirm_v_ = d->confirm_v;
  session.expected_confirm_p_ = d->confirm_p;
  session.shared_key_ = d->K_shared;
  return session;
}

VerifierSession::~VerifierSession() {
  wipe(expected_confirm_p_);
  wipe(shared_key_);
}

Result<Key> VerifierSession::finish(std::span<const std::uint8_t> confirm_p) {
  if (finished_) return Error(std::make_error_code(std::errc::operation_not_permitted), "SPAKE2+ verifier already finished");
  finished_ = true;
  bool matches = confirm_p.size() == kMacBytes &&
                 CRYPTO_memcmp(expected_confirm_p_.data(), confirm_p.data(), kMacBytes) == 0;
  Key key = shared_key_;
  wipe(expected_confirm_p_);
  wipe(shared_key_);
  if (!matches) {
    wipe(key);
    if (confirm_p.size() != kMacBytes) {
      return invalid("confirmP: " + std::to_string(confirm_p.size()) + " bytes, expected " + std::to_string(kMacBytes));
    }
    return mismatch("confirmP does not match: a different setup code or transcript");
  }
  Result<Key> out(key);
  wipe(key);
  return out;
}

}  // namespace ttygate::ktls::spake2plus
