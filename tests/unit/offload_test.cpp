// SPDX-License-Identifier: Apache-2.0
// Kernel hand-over without a kernel: record classification, errno sentences, the key block, and
// the secrets and record counts captured from a real OpenSSL handshake (proven right by
// decrypting OpenSSL's own records with keys derived from them). The installing half runs only
// where the kernel has a TLS ULP; tests/vm proves it end to end.
#include <gtest/gtest.h>
#include <openssl/ec.h>
#include <openssl/rand.h>

#include <cstring>
#include <string>
#include <vector>

#include "common/loopback.hpp"
#include "ktls/kernel_channel.hpp"
#include "ktls/offload.hpp"
#include "ktls/secrets.hpp"

namespace ttygate::ktls {
namespace {

std::vector<std::byte> bytes(std::initializer_list<int> values) {
  std::vector<std::byte> out;
  for (int v : values) out.push_back(static_cast<std::byte>(v));
  return out;
}

// ---------------------------------------------------------------- record classification

struct RecordCase {
  const char* name;
  std::uint8_t type;
  std::vector<std::byte> payload;
  bool is_server;
  RecordVerdict::Kind kind;
  bool update_requested;
  const char* error_mentions;
};

class ClassifyRecord : public ::testing::TestWithParam<RecordCase> {};

TEST_P(ClassifyRecord, DecidesWhatTheRecordMeans) {
  const RecordCase& c = GetParam();
  RecordVerdict v = classify_record(c.type, c.payload, c.is_server);
  EXPECT_EQ(v.kind, c.kind);
  EXPECT_EQ(v.update_requested, c.update_requested);
  if (c.error_mentions) {
    EXPECT_NE(v.error.message().find(c.error_mentions), std::string::npos) << v.error.message();
  }
}

INSTANTIATE_TEST_SUITE_P(
    KernelChannel, ClassifyRecord,
    ::testing::Values(
        RecordCase{"ApplicationData", 23, bytes({'h', 'i'}), true, RecordVerdict::data, false, nullptr},
        RecordCase{"CloseNotify", 21, bytes({1, 0}), true, RecordVerdict::closed, false, nullptr},
        RecordCase{"FatalAlertIsNamed", 21, bytes({2, 20}), true, RecordVerdict::failed, false,
                   "bad_record_mac"},
        RecordCase{"UnknownAlertIsNumbered", 21, bytes({2, 200}), true, RecordVerdict::failed, false,
                   "alert 200"},
        RecordCase{"ShortAlert", 21, bytes({1}), true, RecordVerdict::failed, false, "malformed"},
        RecordCase{"KeyUpdate", 22, bytes({24, 0, 0, 1, 0}), true, RecordVerdict::key_update, false,
                   nullptr},
        RecordCase{"KeyUpdateRequested", 22, bytes({24, 0, 0, 1, 1}), true,
                   RecordVerdict::key_update, true, nullptr},
        RecordCase{"KeyUpdateBadValue", 22, bytes({24, 0, 0, 1, 2}), true, RecordVerdict::failed,
                   false, "unexpected handshake"},
        RecordCase{"KeyUpdateNotLast", 22, bytes({24, 0, 0, 1, 0, 24, 0, 0, 1, 0}), true,
                   RecordVerdict::failed, false, "unexpected handshake"},
        RecordCase{"TruncatedHandshake", 22, bytes({24, 0, 0, 5, 0}), true, RecordVerdict::failed,
                   false, "truncated"},
        RecordCase{"TicketToClientIsIgnored", 22, bytes({4, 0, 0, 2, 9, 9}), false,
                   RecordVerdict::ignore, false, nullptr},
        RecordCase{"TicketToServerFails", 22, bytes({4, 0, 0, 2, 9, 9}), true,
                   RecordVerdict::failed, false, "unexpected handshake message 4"},
        RecordCase{"CertificateRequestFails", 22, bytes({13, 0, 0, 0}), true,
                   RecordVerdict::failed, false, "unexpected handshake message 13"},
        RecordCase{"ChangeCipherSpecFails", 20, bytes({1}), true, RecordVerdict::failed, false,
                   "record type 20"}),
    [](const ::testing::TestParamInfo<RecordCase>& info) { return std::string(info.param.name); });

TEST(AlertName, UsesTheRfcNames) {
  EXPECT_EQ(alert_name(0), "close_notify");
  EXPECT_EQ(alert_name(116), "certificate_required");
  EXPECT_EQ(alert_name(7), "alert 7");
}

// ---------------------------------------------------------------- errno sentences

TEST(UlpErrnoSentence, SaysTheKernelHasNoTlsLayer) {
  EXPECT_NE(ulp_errno_sentence(ENOENT).find("CONFIG_TLS"), std::string::npos);
  EXPECT_NE(ulp_errno_sentence(ENOTCONN).find("established"), std::string::npos);
}

TEST(KeyErrnoSentence, NamesWhatTheKernelLacks) {
  EXPECT_NE(key_errno_sentence(EINVAL, TLS_TX, Suite::chacha20_poly1305_sha256)
                .find("TLS 1.3 TLS_CHACHA20_POLY1305_SHA256"),
            std::string::npos);
  EXPECT_NE(key_errno_sentence(ENOENT, TLS_RX, Suite::aes_256_gcm_sha384).find("gcm(aes)"),
            std::string::npos);
  EXPECT_NE(key_errno_sentence(EBUSY, TLS_RX, Suite::aes_128_gcm_sha256).find("re-key"),
            std::string::npos);
  EXPECT_NE(key_errno_sentence(ENOPROTOOPT, TLS_RX, Suite::aes_128_gcm_sha256).find("receive"),
            std::string::npos);
}

// ---------------------------------------------------------------- key block layout

TrafficKeys counting_keys(std::size_t key_len) {
  std::vector<std::uint8_t> key(key_len), iv(iv_length);
  for (std::size_t i = 0; i < key.size(); ++i) key[i] = static_cast<std::uint8_t>(0x10 + i);
  for (std::size_t i = 0; i < iv.size(); ++i) iv[i] = static_cast<std::uint8_t>(0xa0 + i);
  return {*SecretBytes::from(key), *SecretBytes::from(iv)};
}

TEST(CryptoInfo, SplitsTheGcmIvIntoSaltAndExplicitPart) {
  CryptoInfo info(Suite::aes_128_gcm_sha256, counting_keys(16), 0x0102030405060708ull);
  ASSERT_EQ(info.size(), sizeof(tls12_crypto_info_aes_gcm_128));
  const auto& c = *static_cast<const tls12_crypto_info_aes_gcm_128*>(info.data());
  EXPECT_EQ(c.info.version, TLS_1_3_VERSION);
  EXPECT_EQ(c.info.cipher_type, TLS_CIPHER_AES_GCM_128);
  EXPECT_EQ(c.key[0], 0x10);
  EXPECT_EQ(c.key[15], 0x1f);
  EXPECT_EQ(c.salt[0], 0xa0);
  EXPECT_EQ(c.salt[3], 0xa3);
  EXPECT_EQ(c.iv[0], 0xa4);
  EXPECT_EQ(c.iv[7], 0xab);
  const unsigned char seq[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  EXPECT_EQ(std::memcmp(c.rec_seq, seq, 8), 0);
}

TEST(CryptoInfo, GivesChaChaTheWholeIv) {
  CryptoInfo info(Suite::chacha20_poly1305_sha256, counting_keys(32), 2);
  ASSERT_EQ(info.size(), sizeof(tls12_crypto_info_chacha20_poly1305));
  const auto& c = *static_cast<const tls12_crypto_info_chacha20_poly1305*>(info.data());
  EXPECT_EQ(c.info.cipher_type, TLS_CIPHER_CHACHA20_POLY1305);
  EXPECT_EQ(c.key[31], 0x2f);
  EXPECT_EQ(c.iv[0], 0xa0);
  EXPECT_EQ(c.iv[11], 0xab);
  EXPECT_EQ(c.rec_seq[7], 2);
  EXPECT_EQ(c.rec_seq[0], 0);
}

TEST(CryptoInfo, UsesTheAes256Layout) {
  CryptoInfo info(Suite::aes_256_gcm_sha384, counting_keys(32), 0);
  ASSERT_EQ(info.size(), sizeof(tls12_crypto_info_aes_gcm_256));
  EXPECT_EQ(info.header().cipher_type, TLS_CIPHER_AES_GCM_256);
}

using EvpCipherCtx = std::unique_ptr<EVP_CIPHER_CTX, OpenSslDeleter<EVP_CIPHER_CTX_free>>;

// ---------------------------------------------------------------- secrets from a real handshake

EvpPkeyPtr make_key() { return EvpPkeyPtr(EVP_EC_gen("P-256")); }

X509Ptr make_certificate(EVP_PKEY* key, const char* cn) {
  X509Ptr cert(X509_new());
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600);
  X509_set_pubkey(cert.get(), key);
  X509_NAME_add_entry_by_txt(X509_get_subject_name(cert.get()), "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn), -1, -1, 0);
  X509_set_issuer_name(cert.get(), X509_get_subject_name(cert.get()));
  X509_sign(cert.get(), key, EVP_sha256());
  return cert;
}

SslCtxPtr make_context(bool server, const char* suites, int max_version = TLS1_3_VERSION) {
  SslCtxPtr ctx(SSL_CTX_new(server ? TLS_server_method() : TLS_client_method()));
  EvpPkeyPtr key = make_key();
  X509Ptr cert = make_certificate(key.get(), server ? "server" : "client");
  SSL_CTX_use_certificate(ctx.get(), cert.get());
  SSL_CTX_use_PrivateKey(ctx.get(), key.get());
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  SSL_CTX_set_max_proto_version(ctx.get(), max_version);
  SSL_CTX_set_ciphersuites(ctx.get(), suites);
  // Mutual TLS as ttygate runs it; who is trusted is the pin module's business, not this test's.
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER | (server ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0),
                     [](int, X509_STORE_CTX*) { return 1; });
  if (server) SSL_CTX_set_num_tickets(ctx.get(), 2);
  return ctx;
}

// Client and server joined by memory BIOs: bytes move only when pump() moves them.
struct Session {
  SslPtr client, server;
  BIO* client_out = nullptr;
  BIO* server_out = nullptr;
  BIO* client_in = nullptr;
  BIO* server_in = nullptr;

  Session(SSL_CTX* client_ctx, SSL_CTX* server_ctx)
      : client(SSL_new(client_ctx)), server(SSL_new(server_ctx)) {
    client_in = BIO_new(BIO_s_mem());
    client_out = BIO_new(BIO_s_mem());
    server_in = BIO_new(BIO_s_mem());
    server_out = BIO_new(BIO_s_mem());
    SSL_set_bio(client.get(), client_in, client_out);
    SSL_set_bio(server.get(), server_in, server_out);
    SSL_set_connect_state(client.get());
    SSL_set_accept_state(server.get());
  }
  static void move(BIO* from, BIO* to) {
    char buf[4096];
    for (int n; (n = BIO_read(from, buf, sizeof buf)) > 0;) BIO_write(to, buf, n);
  }
  std::vector<std::uint8_t> take(BIO* from) {
    std::vector<std::uint8_t> out(static_cast<std::size_t>(BIO_ctrl_pending(from)));
    if (!out.empty()) BIO_read(from, out.data(), static_cast<int>(out.size()));
    return out;
  }
  bool handshake() {
    for (int round = 0; round < 10; ++round) {
      int c = SSL_do_handshake(client.get());
      move(client_out, server_in);
      int s = SSL_do_handshake(server.get());
      move(server_out, client_in);
      if (c == 1 && s == 1) return true;
    }
    return false;
  }
};

struct SuiteCase {
  const char* openssl_name;
  Suite suite;
  const EVP_CIPHER* (*cipher)();
};

// Opens one TLS 1.3 record (RFC 8446 5.2) with keys derived from a captured secret.
std::string open_record(const SuiteCase& sc, const SecretBytes& secret, std::uint64_t sequence,
                        const std::vector<std::uint8_t>& record) {
  Result<TrafficKeys> keys = traffic_keys(sc.suite, secret.bytes());
  if (!keys || record.size() < 5 + 17) return "<no keys or short record>";
  std::uint8_t nonce[12];
  std::memcpy(nonce, keys->iv.bytes().data(), 12);
  for (int i = 0; i < 8; ++i) nonce[11 - i] ^= static_cast<std::uint8_t>(sequence >> (8 * i));
  std::size_t length = std::size_t{record[3]} << 8 | record[4];
  if (record.size() < 5 + length) return "<truncated>";
  std::size_t text = length - 16;
  EvpCipherCtx ctx(EVP_CIPHER_CTX_new());
  std::vector<std::uint8_t> plain(text);
  int n = 0, m = 0;
  EVP_DecryptInit_ex(ctx.get(), sc.cipher(), nullptr, keys->key.bytes().data(), nonce);
  EVP_DecryptUpdate(ctx.get(), nullptr, &n, record.data(), 5);
  EVP_DecryptUpdate(ctx.get(), plain.data(), &n, record.data() + 5, static_cast<int>(text));
  EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_SET_TAG, 16,
                      const_cast<std::uint8_t*>(record.data() + 5 + text));
  if (EVP_DecryptFinal_ex(ctx.get(), plain.data() + n, &m) != 1) return "<authentication failed>";
  return std::string(plain.begin(), plain.end());  // content + inner type byte
}

class CapturedSecrets : public ::testing::TestWithParam<SuiteCase> {
 protected:
  void SetUp() override {
    server_ctx_ = make_context(true, GetParam().openssl_name);
    client_ctx_ = make_context(false, GetParam().openssl_name);
    ASSERT_TRUE(prepare_for_offload(server_ctx_.get()).ok());
  }
  SslCtxPtr server_ctx_, client_ctx_;
};

TEST_P(CapturedSecrets, CountTheServerTicketsAsSentRecords) {
  Session s(client_ctx_.get(), server_ctx_.get());
  ASSERT_TRUE(s.handshake());
  const OffloadState* state = offload_state(s.server.get());
  ASSERT_NE(state, nullptr);
  EXPECT_EQ(state->client_secret.size(), hash_length(GetParam().suite));
  EXPECT_EQ(state->server_secret.size(), hash_length(GetParam().suite));
  EXPECT_EQ(state->records_sent, 2u);  // two NewSessionTicket records
  EXPECT_EQ(state->records_received, 0u);
  EXPECT_TRUE(check_ready(s.server.get()).ok());
}

TEST_P(CapturedSecrets, DecryptTheServersNextRecordAtTheCountedSequence) {
  Session s(client_ctx_.get(), server_ctx_.get());
  ASSERT_TRUE(s.handshake());
  const OffloadState* state = offload_state(s.server.get());
  std::uint64_t sequence = state->records_sent;
  ASSERT_EQ(SSL_write(s.server.get(), "pong", 4), 4);
  EXPECT_EQ(open_record(GetParam(), state->server_secret, sequence, s.take(s.server_out)),
            std::string("pong\x17", 5));
  EXPECT_EQ(state->records_sent, sequence + 1);
}

TEST_P(CapturedSecrets, DecryptTheClientsRecordsAtTheCountedSequence) {
  Session s(client_ctx_.get(), server_ctx_.get());
  ASSERT_TRUE(s.handshake());
  const OffloadState* state = offload_state(s.server.get());
  ASSERT_EQ(SSL_write(s.client.get(), "one", 3), 3);
  Session::move(s.client_out, s.server_in);
  char buf[16];
  ASSERT_EQ(SSL_read(s.server.get(), buf, sizeof buf), 3);
  EXPECT_EQ(state->records_received, 1u);
  ASSERT_EQ(SSL_write(s.client.get(), "two", 3), 3);
  EXPECT_EQ(open_record(GetParam(), state->client_secret, state->records_received,
                        s.take(s.client_out)),
            std::string("two\x17", 4));
}

// Splits the front record (header and body) off bytes.
std::vector<std::uint8_t> next_record(std::vector<std::uint8_t>& bytes) {
  if (bytes.size() < 5) return {};
  std::size_t length = 5 + (std::size_t{bytes[3]} << 8 | bytes[4]);
  if (bytes.size() < length) return {};
  std::vector<std::uint8_t> record(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(length));
  bytes.erase(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(length));
  return record;
}

// OpenSSL's own KeyUpdate: the record goes out under the old key at the counted sequence, and
// what follows opens with next_traffic_secret() (RFC 8446 7.2) from record number 0, which is
// what KernelChannel installs. Both directions, twice in a row (the secret chain).
TEST_P(CapturedSecrets, DecryptRecordsAfterAKeyUpdateWithTheNextTrafficSecret) {
  Session s(client_ctx_.get(), server_ctx_.get());
  ASSERT_TRUE(s.handshake());
  const OffloadState* state = offload_state(s.server.get());
  const Suite suite = GetParam().suite;
  struct Side {
    SSL* ssl;
    BIO* out;
    SecretBytes secret;
    std::uint64_t sequence;
  };
  for (Side side : {Side{s.client.get(), s.client_out, state->client_secret, 0},
                    Side{s.server.get(), s.server_out, state->server_secret, state->records_sent}}) {
    for (int round = 0; round < 2; ++round) {
      ASSERT_EQ(SSL_key_update(side.ssl, round == 0 ? SSL_KEY_UPDATE_NOT_REQUESTED : SSL_KEY_UPDATE_REQUESTED), 1);
      ASSERT_EQ(SSL_write(side.ssl, "after", 5), 5);
      std::vector<std::uint8_t> wire = s.take(side.out);
      const char update[] = {24, 0, 0, 1, static_cast<char>(round), 22};
      EXPECT_EQ(open_record(GetParam(), side.secret, side.sequence, next_record(wire)),
                std::string(update, sizeof update));
      Result<SecretBytes> next = next_traffic_secret(suite, side.secret.bytes());
      ASSERT_TRUE(next.ok());
      EXPECT_EQ(open_record(GetParam(), *next, 0, next_record(wire)), std::string("after\x17", 6));
      side.secret = *next;
      side.sequence = 1;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Offload, CapturedSecrets,
    ::testing::Values(SuiteCase{"TLS_AES_128_GCM_SHA256", Suite::aes_128_gcm_sha256, EVP_aes_128_gcm},
                      SuiteCase{"TLS_AES_256_GCM_SHA384", Suite::aes_256_gcm_sha384, EVP_aes_256_gcm},
                      SuiteCase{"TLS_CHACHA20_POLY1305_SHA256", Suite::chacha20_poly1305_sha256,
                                EVP_chacha20_poly1305}),
    [](const ::testing::TestParamInfo<SuiteCase>& info) {
      return std::string(to_string(info.param.suite)).substr(4);
    });

// ---------------------------------------------------------------- readiness

class Readiness : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ctx_ = make_context(true, "TLS_AES_128_GCM_SHA256");
    client_ctx_ = make_context(false, "TLS_AES_128_GCM_SHA256");
    ASSERT_TRUE(prepare_for_offload(server_ctx_.get()).ok());
  }
  SslCtxPtr server_ctx_, client_ctx_;
};

TEST_F(Readiness, RefusesWhileCiphertextWaitsInTheReadBio) {
  Session s(client_ctx_.get(), server_ctx_.get());
  ASSERT_TRUE(s.handshake());
  ASSERT_EQ(SSL_write(s.client.get(), "early", 5), 5);
  Session::move(s.client_out, s.server_in);
  Result<void> r = check_ready(s.server.get());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), std::errc::resource_unavailable_try_again);
}

TEST_F(Readiness, RefusesWhileDecryptedBytesAreUnread) {
  Session s(client_ctx_.get(), server_ctx_.get());
  ASSERT_TRUE(s.handshake());
  ASSERT_EQ(SSL_write(s.client.get(), "early", 5), 5);
  Session::move(s.client_out, s.server_in);
  char one;
  ASSERT_EQ(SSL_read(s.server.get(), &one, 1), 1);
  Result<void> r = check_ready(s.server.get());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("4 decrypted bytes"), std::string::npos) << r.error().message();
  char rest[8];
  ASSERT_EQ(SSL_read(s.server.get(), rest, sizeof rest), 4);
  EXPECT_TRUE(check_ready(s.server.get()).ok());
}

TEST_F(Readiness, RefusesUnsentTickets) {
  Session s(client_ctx_.get(), server_ctx_.get());
  for (int i = 0; i < 4; ++i) {  // run the handshake but keep the server's last flight
    SSL_do_handshake(s.client.get());
    Session::move(s.client_out, s.server_in);
    SSL_do_handshake(s.server.get());
    if (SSL_is_init_finished(s.server.get())) break;
    Session::move(s.server_out, s.client_in);
  }
  ASSERT_TRUE(SSL_is_init_finished(s.server.get()));
  Result<void> r = check_ready(s.server.get());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("write BIO"), std::string::npos) << r.error().message();
}

TEST_F(Readiness, RefusesAContextThatWasNotPrepared) {
  SslCtxPtr plain = make_context(true, "TLS_AES_128_GCM_SHA256");
  Session s(client_ctx_.get(), plain.get());
  ASSERT_TRUE(s.handshake());
  Result<void> r = check_ready(s.server.get());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), std::errc::not_supported);
}

TEST_F(Readiness, RefusesTls12) {
  SslCtxPtr old_client = make_context(false, "TLS_AES_128_GCM_SHA256", TLS1_2_VERSION);
  Session s(old_client.get(), server_ctx_.get());
  ASSERT_TRUE(s.handshake());
  Result<void> r = check_ready(s.server.get());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("TLS 1.3"), std::string::npos);
}

TEST_F(Readiness, RefusesAfterAKeyUpdate) {
  Session s(client_ctx_.get(), server_ctx_.get());
  ASSERT_TRUE(s.handshake());
  ASSERT_EQ(SSL_key_update(s.client.get(), SSL_KEY_UPDATE_NOT_REQUESTED), 1);
  ASSERT_EQ(SSL_write(s.client.get(), "x", 1), 1);
  Session::move(s.client_out, s.server_in);
  char buf[4];
  ASSERT_EQ(SSL_read(s.server.get(), buf, sizeof buf), 1);
  Result<void> r = check_ready(s.server.get());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("KeyUpdate"), std::string::npos);
}

TEST(AbsorbKeylogLine, KeepsOnlyTheApplicationSecrets) {
  OffloadState state;
  absorb_keylog_line(state, "CLIENT_HANDSHAKE_TRAFFIC_SECRET 00 0102");
  EXPECT_TRUE(state.client_secret.empty());
  absorb_keylog_line(state, "SERVER_TRAFFIC_SECRET_0 abcd 0a0B");
  EXPECT_EQ(state.server_secret.size(), 2u);
  EXPECT_EQ(state.server_secret.bytes()[1], 0x0b);
  absorb_keylog_line(state, "CLIENT_TRAFFIC_SECRET_0 abcd 0x");
  EXPECT_TRUE(state.malformed);
}

// ---------------------------------------------------------------- the kernel itself

TEST_F(Readiness, HandOverSaysWhatTheKernelLacks) {
  KernelTlsSupport support = probe_kernel_tls();
  if (support.ulp) GTEST_SKIP() << "kernel has a TLS ULP";
  EXPECT_FALSE(support.any());
  EXPECT_NE(support.reason.find("CONFIG_TLS"), std::string::npos) << support.reason;
  Session s(client_ctx_.get(), server_ctx_.get());
  ASSERT_TRUE(s.handshake());
  auto pair = loopback_pair();
  ASSERT_TRUE(pair.ok());
  Result<std::unique_ptr<Channel>> channel =
      hand_over(std::move(s.server), std::move(pair->second));
  ASSERT_FALSE(channel.ok());
  EXPECT_EQ(channel.error().code(), std::error_code(ENOENT, std::system_category()));
  EXPECT_NE(channel.error().message().find("CONFIG_TLS"), std::string::npos);
}

TEST_F(Readiness, HandOverGivesAKernelChannel) {
  if (!probe_kernel_tls().supports(Suite::aes_128_gcm_sha256)) {
    GTEST_SKIP() << "kernel has no TLS ULP";
  }
  Session s(client_ctx_.get(), server_ctx_.get());
  ASSERT_TRUE(s.handshake());
  auto pair = loopback_pair();
  ASSERT_TRUE(pair.ok());
  Result<std::unique_ptr<Channel>> channel =
      hand_over(std::move(s.server), std::move(pair->second));
  ASSERT_TRUE(channel.ok()) << channel.error().message();
  EXPECT_EQ((*channel)->offload(), Offload::kernel);
}

}  // namespace
}  // namespace ttygate::ktls
