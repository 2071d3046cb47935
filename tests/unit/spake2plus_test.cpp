// SPDX-License-Identifier: Apache-2.0
// SPAKE2+ against RFC 9383's Appendix C, then the protocol's promises: same code, same key;
// anything else (a wrong code, another transcript, a bad point) fails, and says how.
#include "ktls/spake2plus.hpp"

#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/obj_mac.h>

#include <string>
#include <string_view>
#include <vector>

#include "common/hex.hpp"

namespace ttygate::ktls::spake2plus {
namespace {

std::vector<std::uint8_t> unhex(std::string_view text) {
  std::vector<std::uint8_t> out;
  for (std::size_t i = 0; i + 1 < text.size(); i += 2) out.push_back(static_cast<std::uint8_t>(std::stoi(std::string(text.substr(i, 2)), nullptr, 16)));
  return out;
}

template <std::size_t N>
std::array<std::uint8_t, N> unhex_array(std::string_view text) {
  std::array<std::uint8_t, N> out{};
  auto bytes = unhex(text);
  EXPECT_EQ(bytes.size(), N) << text;
  std::copy_n(bytes.begin(), std::min(N, bytes.size()), out.begin());
  return out;
}

std::vector<std::uint8_t> bytes_of(std::string_view text) { return {text.begin(), text.end()}; }

// RFC 9383 Appendix C: every vector of P256-SHA256-HKDF-SHA256-HMAC-SHA256. The published RFC
// has one for this suite (idProver "client", idVerifier "server"); the drafts' vectors with
// empty identities predate its key schedule and do not apply.
struct RfcVector {
  std::string_view context, id_prover, id_verifier;
  std::string_view w0, w1, L, x, shareP, y, shareV, Z, V, TT, K_main, K_confirmP, K_confirmV;
  std::string_view hmac_confirmP_shareV, hmac_confirmV_shareP, K_shared;
};

const RfcVector kRfcVectors[] = {
    {
        "SPAKE2+-P256-SHA256-HKDF-SHA256-HMAC-SHA256 Test Vectors",
        "client",
        "server",
        "bb8e1bbcf3c48f62c08db243652ae55d3e5586053fca77102994f23ad95491b3",
        "7e945f34d78785b8a3ef44d0df5a1a97d6b3b460409a345ca7830387a74b1dba",
        "04eb7c9db3d9a9eb1f8adab81b5794c1f13ae3e225efbe91ea487425854c7fc00f00bfedcbd09b2400142d40a14f2064ef31dfaa903b91d1faea7093d835966efd",
        "d1232c8e8693d02368976c174e2088851b8365d0d79a9eee709c6a05a2fad539",
        "04ef3bd051bf78a2234ec0df197f7828060fe9856503579bb1733009042c15c0c1de127727f418b5966afadfdd95a6e4591d171056b333dab97a79c7193e341727",
        "717a72348a182085109c8d3917d6c43d59b224dc6a7fc4f0483232fa6516d8b3",
        "04c0f65da0d11927bdf5d560c69e1d7d939a05b0e88291887d679fcadea75810fb5cc1ca7494db39e82ff2f50665255d76173e09986ab46742c798a9a68437b048",
        "04bbfce7dd7f277819c8da21544afb7964705569bdf12fb92aa388059408d50091a0c5f1d3127f56813b5337f9e4e67e2ca633117a4fbd559946ab474356c41839",
        "0458bf27c6bca011c9ce1930e8984a797a3419797b936629a5a937cf2f11c8b9514b82b993da8a46e664f23db7c01edc87faa530db01c2ee405230b18997f16b68",
        "38000000000000005350414b45322b2d503235362d5348413235362d484b44462d5348413235362d484d41432d53484132"
        "3536205465737420566563746f72730600000000000000636c69656e74060000000000000073657276657241000000000000"
        "0004886e2f97ace46e55ba9dd7242579f2993b64e16ef3dcab95afd497333d8fa12f5ff355163e43ce224e0b0e65ff02ac8e"
        "5c7be09419c785e0ca547d55a12e2d20410000000000000004d8bbd6c639c62937b04d997f38c3770719c629d7014d49a24b"
        "4f98baa1292b4907d60aa6bfade45008a636337f5168c64d9bd36034808cd564490b1e656edbe7410000000000000004ef3b"
        "d051bf78a2234ec0df197f7828060fe9856503579bb1733009042c15c0c1de127727f418b5966afadfdd95a6e4591d171056"
        "b333dab97a79c7193e341727410000000000000004c0f65da0d11927bdf5d560c69e1d7d939a05b0e88291887d679fcadea7"
        "5810fb5cc1ca7494db39e82ff2f50665255d76173e09986ab46742c798a9a68437b048410000000000000004bbfce7dd7f27"
        "7819c8da21544afb7964705569bdf12fb92aa388059408d50091a0c5f1d3127f56813b5337f9e4e67e2ca633117a4fbd5599"
        "46ab474356c4183941000000000000000458bf27c6bca011c9ce1930e8984a797a3419797b936629a5a937cf2f11c8b9514b"
        "82b993da8a46e664f23db7c01edc87faa530db01c2ee405230b18997f16b682000000000000000bb8e1bbcf3c48f62c08db2"
        "43652ae55d3e5586053fca77102994f23ad95491b3",
        "4c59e1ccf2cfb961aa31bd9434478a1089b56cd11542f53d3576fb6c2a438a29",
        "871ae3f7b78445e34438fb284504240239031c39d80ac23eb5ab9be5ad6db58a",
        "ccd53c7c1fa37b64a462b40db8be101cedcf838950162902054e644b400f1680",
        "926cc713504b9b4d76c9162ded04b5493e89109f6d89462cd33adc46fda27527",
        "9747bcc4f8fe9f63defee53ac9b07876d907d55047e6ff2def2e7529089d3e68",
        "0c5f8ccd1413423a54f6c1fb26ff01534a87f893779c6e68666d772bfd91f3e7",
    },
};

Transcript transcript_of(const RfcVector& v) {
  return {bytes_of(v.context), bytes_of(v.id_prover), bytes_of(v.id_verifier)};
}

Secrets secrets_of(const RfcVector& v) { return {unhex_array<kScalarBytes>(v.w0), unhex_array<kScalarBytes>(v.w1)}; }

void expect_matches(const Details& d, const RfcVector& v, const char* side) {
  SCOPED_TRACE(side);
  EXPECT_EQ(to_hex(d.share_p), v.shareP);
  EXPECT_EQ(to_hex(d.share_v), v.shareV);
  EXPECT_EQ(to_hex(d.Z), v.Z);
  EXPECT_EQ(to_hex(d.V), v.V);
  EXPECT_EQ(to_hex(d.TT), v.TT);
  EXPECT_EQ(to_hex(d.K_main), v.K_main);
  EXPECT_EQ(to_hex(d.K_confirmP), v.K_confirmP);
  EXPECT_EQ(to_hex(d.K_confirmV), v.K_confirmV);
  EXPECT_EQ(to_hex(d.confirm_p), v.hmac_confirmP_shareV);
  EXPECT_EQ(to_hex(d.confirm_v), v.hmac_confirmV_shareP);
  EXPECT_EQ(to_hex(d.K_shared), v.K_shared);
}

TEST(Spake2Plus, MatchesEveryRfc9383TestVector) {
  for (const RfcVector& v : kRfcVectors) {
    SCOPED_TRACE(std::string(v.context) + " idProver=" + std::string(v.id_prover) + " idVerifier=" + std::string(v.id_verifier));
    Secrets secrets = secrets_of(v);
    auto verifier = make_verifier(secrets);
    ASSERT_TRUE(verifier) << verifier.error().message();
    EXPECT_EQ(to_hex(verifier->L), v.L);
    EXPECT_EQ(to_hex(verifier->w0), v.w0);

    auto prover_view = prover_details(secrets, transcript_of(v), unhex_array<kScalarBytes>(v.x), unhex(v.shareV));
    ASSERT_TRUE(prover_view) << prover_view.error().message();
    expect_matches(*prover_view, v, "prover");
    auto verifier_view = verifier_details(*verifier, transcript_of(v), unhex(v.shareP), unhex_array<kScalarBytes>(v.y));
    ASSERT_TRUE(verifier_view) << verifier_view.error().message();
    expect_matches(*verifier_view, v, "verifier");

    // And the objects a protocol uses, on the same inputs.
    auto prover = Prover::start(secrets, transcript_of(v), unhex_array<kScalarBytes>(v.x));
    ASSERT_TRUE(prover) << prover.error().message();
    EXPECT_EQ(to_hex(prover->share()), v.shareP);
    auto session = VerifierSession::respond(*verifier, transcript_of(v), prover->share(), unhex_array<kScalarBytes>(v.y));
    ASSERT_TRUE(session) << session.error().message();
    EXPECT_EQ(to_hex(session->share()), v.shareV);
    EXPECT_EQ(to_hex(session->confirm()), v.hmac_confirmV_shareP);
    auto finished = prover->finish(session->share(), session->confirm());
    ASSERT_TRUE(finished) << finished.error().message();
    EXPECT_EQ(to_hex(finished->confirm), v.hmac_confirmP_shareV);
    EXPECT_EQ(to_hex(finished->shared_key), v.K_shared);
    auto key = session->finish(finished->confirm);
    ASSERT_TRUE(key) << key.error().message();
    EXPECT_EQ(to_hex(*key), v.K_shared);
  }
}

// Known answers computed independently with Python's hashlib.pbkdf2_hmac over the same encoding.
TEST(Spake2Plus, DerivesSecretsWithPbkdf2OverTheRfcEncodingOfThePassword) {
  struct Case {
    std::string_view password, salt, w0, w1;
    std::uint32_t iterations;
  } cases[] = {
      {"20231204", "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
       "9222b96529cd1f25d903a83264b045bcb0a545992be6816f0c00840e3fb718f4",
       "5c980060f27a763f71ec35f5a2a715ad1858ec69a4488ccfb09ecb1daa1e7866", 1000},
      {"", "73616c74", "0780c73a85664acda96d0208143c1ca00c0a666130a79dc3e6e05f21c75fc8a8",
       "aa2bea19f45cbd4d5f1625b832a294448d0c91c693eb72baed0f389d1a1ce06e", 1},
      {"correct horse", "ffffffffffffffffffffffffffffffff",
       "4130aaf468694328691dc7c47fb5ff997fc155d655bc2017c1dae5de1f6a6554",
       "bbb23d08ed3d423ef621e9875cd4d9ec39a59eca92cb2d535e26186acc04259c", 2},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(c.password));
    auto secrets = derive_secrets(c.password, unhex(c.salt), c.iterations);
    ASSERT_TRUE(secrets) << secrets.error().message();
    EXPECT_EQ(to_hex(secrets->w0), c.w0);
    EXPECT_EQ(to_hex(secrets->w1), c.w1);
  }
}

TEST(Spake2Plus, RefusesDegeneratePbkdf2Parameters) {
  std::vector<std::uint8_t> salt(32, 1);
  EXPECT_FALSE(derive_secrets("12345670", salt, 0));
  EXPECT_FALSE(derive_secrets("12345670", {}, 1000));
  EXPECT_FALSE(derive_secrets(std::string(1025, '1'), salt, 1000));
}

// A run between a fresh prover and verifier, each with its own code and transcript.
struct Outcome {
  Result<Finish> prover_result = Error();
  Result<Key> verifier_result = Error();
};

Outcome run(std::string_view code_p, std::string_view code_v, Transcript transcript_p, Transcript transcript_v) {
  std::vector<std::uint8_t> salt(32, 7);
  Outcome r;
  auto prover_secrets = derive_secrets(code_p, salt, 1000);
  auto verifier_secrets = derive_secrets(code_v, salt, 1000);
  auto verifier = make_verifier(*verifier_secrets);
  auto prover = Prover::start(*prover_secrets, std::move(transcript_p));
  EXPECT_TRUE(prover);
  auto session = VerifierSession::respond(*verifier, std::move(transcript_v), prover->share());
  EXPECT_TRUE(session);
  r.prover_result = prover->finish(session->share(), session->confirm());
  if (r.prover_result) r.verifier_result = session->finish(r.prover_result->confirm);
  return r;
}

Transcript context(std::string_view text) { return {bytes_of(text), {}, {}}; }

TEST(Spake2Plus, AProverAndAVerifierWithTheSameCodeAgreeOnTheSharedKey) {
  Outcome r = run("31415926", "31415926", context("ttygate test"), context("ttygate test"));
  ASSERT_TRUE(r.prover_result) << r.prover_result.error().message();
  ASSERT_TRUE(r.verifier_result) << r.verifier_result.error().message();
  EXPECT_EQ(r.prover_result->shared_key, *r.verifier_result);
}

TEST(Spake2Plus, EachRunDrawsFreshSharesAndKeys) {
  Outcome a = run("31415926", "31415926", context("c"), context("c"));
  Outcome b = run("31415926", "31415926", context("c"), context("c"));
  ASSERT_TRUE(a.verifier_result && b.verifier_result);
  EXPECT_NE(*a.verifier_result, *b.verifier_result);
}

TEST(Spake2Plus, AWrongCodeMakesTheProverRejectConfirmV) {
  Outcome r = run("31415926", "27182818", context("c"), context("c"));
  ASSERT_FALSE(r.prover_result);
  EXPECT_EQ(r.prover_result.error().code(), std::errc::permission_denied);
}

// The verifier's side of a wrong code: a prover that sends its confirmP regardless.
TEST(Spake2Plus, AWrongCodeMakesTheVerifierRejectConfirmP) {
  std::vector<std::uint8_t> salt(32, 7);
  auto right = derive_secrets("31415926", salt, 1000);
  auto wrong = derive_secrets("27182818", salt, 1000);
  auto verifier = make_verifier(*right);
  Scalar x{};
  x[31] = 5;
  auto prover = Prover::start(*wrong, context("c"), x);
  auto session = VerifierSession::respond(*verifier, context("c"), prover->share());
  ASSERT_TRUE(session);
  auto dishonest = prover_details(*wrong, context("c"), x, session->share());
  ASSERT_TRUE(dishonest) << dishonest.error().message();
  auto key = session->finish(dishonest->confirm_p);
  ASSERT_FALSE(key);
  EXPECT_EQ(key.error().code(), std::errc::permission_denied);
}

// A machine in the middle holds two TLS sessions, so the two ends bind different contexts.
TEST(Spake2Plus, ADifferentContextMakesConfirmationFail) {
  Outcome r = run("31415926", "31415926", context("exporter of session A"), context("exporter of session B"));
  ASSERT_FALSE(r.prover_result);
  EXPECT_EQ(r.prover_result.error().code(), std::errc::permission_denied);
}

TEST(Spake2Plus, DifferentIdentitiesMakeConfirmationFail) {
  Outcome r = run("31415926", "31415926", Transcript{bytes_of("c"), bytes_of("client"), {}},
              Transcript{bytes_of("c"), bytes_of("other"), {}});
  ASSERT_FALSE(r.prover_result);
  EXPECT_EQ(r.prover_result.error().code(), std::errc::permission_denied);
}

TEST(Spake2Plus, TheVerifierRefusesAConfirmPThatDoesNotMatch) {
  const RfcVector& v = kRfcVectors[0];
  auto verifier = make_verifier(secrets_of(v));
  auto confirm = unhex(v.hmac_confirmP_shareV);
  struct Case {
    const char* what;
    std::vector<std::uint8_t> confirm;
    std::errc code;
  } cases[] = {
      {"one bit flipped", [&] { auto c = confirm; c[31] ^= 1; return c; }(), std::errc::permission_denied},
      {"confirmV sent back", unhex(v.hmac_confirmV_shareP), std::errc::permission_denied},
      {"too short", std::vector<std::uint8_t>(confirm.begin(), confirm.end() - 1), std::errc::invalid_argument},
      {"empty", {}, std::errc::invalid_argument},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    auto session = VerifierSession::respond(*verifier, transcript_of(v), unhex(v.shareP), unhex_array<kScalarBytes>(v.y));
    ASSERT_TRUE(session);
    auto key = session->finish(c.confirm);
    ASSERT_FALSE(key);
    EXPECT_EQ(key.error().code(), c.code) << key.error().message();
  }
}

TEST(Spake2Plus, TheProverRefusesAConfirmVThatDoesNotMatch) {
  const RfcVector& v = kRfcVectors[0];
  auto confirm = unhex(v.hmac_confirmV_shareP);
  confirm[0] ^= 0x80;
  auto prover = Prover::start(secrets_of(v), transcript_of(v), unhex_array<kScalarBytes>(v.x));
  auto finished = prover->finish(unhex(v.shareV), confirm);
  ASSERT_FALSE(finished);
  EXPECT_EQ(finished.error().code(), std::errc::permission_denied);
}

// Points a peer might send instead of a share. Each is refused before any secret is used on it.
std::vector<std::pair<std::string, std::vector<std::uint8_t>>> bad_points() {
  const RfcVector& v = kRfcVectors[0];
  auto valid = unhex(v.shareV);
  auto tampered = valid;
  tampered[64] ^= 1;  // y no longer matches x
  auto compressed = std::vector<std::uint8_t>(valid.begin(), valid.begin() + 33);
  compressed[0] = (valid[64] & 1) ? 0x03 : 0x02;
  auto hybrid = valid;
  hybrid[0] = (valid[64] & 1) ? 0x07 : 0x06;
  std::vector<std::uint8_t> zero(65, 0);
  zero[0] = 0x04;
  std::vector<std::uint8_t> coordinates_above_p(65, 0xff);
  coordinates_above_p[0] = 0x04;
  return {
      {"a tampered share (off the curve)", tampered},
      {"(0, 0), not on the curve", zero},
      {"coordinates not below p", coordinates_above_p},
      {"the identity (SEC1 0x00)", {0x00}},
      {"the identity padded to 65 bytes", std::vector<std::uint8_t>(65, 0)},
      {"compressed", compressed},
      {"hybrid", hybrid},
      {"64 bytes", std::vector<std::uint8_t>(valid.begin(), valid.end() - 1)},
      {"66 bytes", [&] { auto p = valid; p.push_back(0); return p; }()},
      {"empty", {}},
  };
}

TEST(Spake2Plus, TheVerifierRefusesABadShareP) {
  const RfcVector& v = kRfcVectors[0];
  auto verifier = make_verifier(secrets_of(v));
  for (const auto& [what, point] : bad_points()) {
    SCOPED_TRACE(what);
    EXPECT_FALSE(valid_point(point));
    auto session = VerifierSession::respond(*verifier, transcript_of(v), point);
    ASSERT_FALSE(session);
    EXPECT_EQ(session.error().code(), std::errc::invalid_argument) << session.error().message();
  }
}

TEST(Spake2Plus, TheProverRefusesABadShareV) {
  const RfcVector& v = kRfcVectors[0];
  for (const auto& [what, point] : bad_points()) {
    SCOPED_TRACE(what);
    auto prover = Prover::start(secrets_of(v), transcript_of(v));
    ASSERT_TRUE(prover);
    auto finished = prover->finish(point, unhex(v.hmac_confirmV_shareP));
    ASSERT_FALSE(finished);
    EXPECT_EQ(finished.error().code(), std::errc::invalid_argument) << finished.error().message();
  }
}

// A valid point that is not the verifier's share: it decodes, so confirmation is what fails.
TEST(Spake2Plus, ASubstitutedShareOnTheCurveFailsConfirmation) {
  const RfcVector& v = kRfcVectors[0];
  auto prover = Prover::start(secrets_of(v), transcript_of(v), unhex_array<kScalarBytes>(v.x));
  auto finished = prover->finish(unhex(v.shareP), unhex(v.hmac_confirmV_shareP));
  ASSERT_FALSE(finished);
  EXPECT_EQ(finished.error().code(), std::errc::permission_denied);
}

// w0*blind, computed here with OpenSSL directly: the share of someone who knows w0 and
// sends a share that cancels the blinding, so Z would be the identity.
std::vector<std::uint8_t> w0_times(const Scalar& w0, std::string_view blind_compressed) {
  EC_GROUP* group = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
  EC_POINT* blind = EC_POINT_new(group);
  EC_POINT* product = EC_POINT_new(group);
  BIGNUM* k = BN_bin2bn(w0.data(), static_cast<int>(w0.size()), nullptr);
  auto compressed = unhex(blind_compressed);
  std::vector<std::uint8_t> out(kPointBytes);
  EXPECT_EQ(EC_POINT_oct2point(group, blind, compressed.data(), compressed.size(), nullptr), 1);
  EXPECT_EQ(EC_POINT_mul(group, product, nullptr, blind, k, nullptr), 1);
  EXPECT_EQ(EC_POINT_point2oct(group, product, POINT_CONVERSION_UNCOMPRESSED, out.data(), out.size(), nullptr), out.size());
  BN_free(k);
  EC_POINT_free(product);
  EC_POINT_free(blind);
  EC_GROUP_free(group);
  return out;
}

constexpr std::string_view kM = "02886e2f97ace46e55ba9dd7242579f2993b64e16ef3dcab95afd497333d8fa12f";
constexpr std::string_view kN = "03d8bbd6c639c62937b04d997f38c3770719c629d7014d49a24b4f98baa1292b49";

TEST(Spake2Plus, TheProverRefusesAShareThatCancelsItsBlinding) {
  const RfcVector& v = kRfcVectors[0];
  auto prover = Prover::start(secrets_of(v), transcript_of(v));
  auto finished = prover->finish(w0_times(secrets_of(v).w0, kN), unhex(v.hmac_confirmV_shareP));
  ASSERT_FALSE(finished);
  EXPECT_EQ(finished.error().code(), std::errc::invalid_argument) << finished.error().message();
}

TEST(Spake2Plus, TheVerifierRefusesAShareThatCancelsItsBlinding) {
  const RfcVector& v = kRfcVectors[0];
  auto session = VerifierSession::respond(*make_verifier(secrets_of(v)), transcript_of(v), w0_times(secrets_of(v).w0, kM));
  ASSERT_FALSE(session);
  EXPECT_EQ(session.error().code(), std::errc::invalid_argument) << session.error().message();
}

TEST(Spake2Plus, RefusesTestScalarsOutsideOneToTheOrder) {
  const RfcVector& v = kRfcVectors[0];
  Scalar zero{};
  Scalar order = unhex_array<kScalarBytes>("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551");
  Scalar below_order = order;
  below_order[31] -= 1;
  EXPECT_FALSE(Prover::start(secrets_of(v), transcript_of(v), zero));
  EXPECT_FALSE(Prover::start(secrets_of(v), transcript_of(v), order));
  EXPECT_TRUE(Prover::start(secrets_of(v), transcript_of(v), below_order));
}

TEST(Spake2Plus, EachSideFinishesOnlyOnce) {
  const RfcVector& v = kRfcVectors[0];
  auto prover = Prover::start(secrets_of(v), transcript_of(v), unhex_array<kScalarBytes>(v.x));
  ASSERT_TRUE(prover->finish(unhex(v.shareV), unhex(v.hmac_confirmV_shareP)));
  auto again = prover->finish(unhex(v.shareV), unhex(v.hmac_confirmV_shareP));
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code(), std::errc::operation_not_permitted);

  auto session = VerifierSession::respond(*make_verifier(secrets_of(v)), transcript_of(v), unhex(v.shareP),
                                          unhex_array<kScalarBytes>(v.y));
  ASSERT_FALSE(session->finish(std::vector<std::uint8_t>(32, 0)));
  auto late = session->finish(unhex(v.hmac_confirmP_shareV));  // the right one, after a wrong one
  ASSERT_FALSE(late);
  EXPECT_EQ(late.error().code(), std::errc::operation_not_permitted);
}

TEST(Spake2Plus, AStoredVerifierIsCheckedWhenReadBack) {
  const RfcVector& v = kRfcVectors[0];
  auto good = verifier_from(unhex(v.w0), unhex(v.L));
  ASSERT_TRUE(good) << good.error().message();
  EXPECT_EQ(to_hex(good->L), v.L);
  auto order = unhex("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551");
  EXPECT_FALSE(verifier_from(order, unhex(v.L)));
  EXPECT_FALSE(verifier_from(std::vector<std::uint8_t>(31, 1), unhex(v.L)));
  auto off_curve = unhex(v.L);
  off_curve[64] ^= 1;
  EXPECT_FALSE(verifier_from(unhex(v.w0), off_curve));
  EXPECT_TRUE(valid_scalar(unhex(v.w0)));
  EXPECT_FALSE(valid_scalar(order));
}

TEST(Spake2Plus, MakeVerifierRefusesAZeroW1) {
  Secrets secrets{};
  secrets.w0[31] = 1;
  EXPECT_FALSE(make_verifier(secrets));
}

}  // namespace
}  // namespace ttygate::ktls::spake2plus
