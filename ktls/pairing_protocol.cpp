// SPDX-License-Identifier: Apache-2.0
#include "ktls/pairing_protocol.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include <charconv>
#include <cstring>

#include "common/escape.hpp"
#include "common/hex.hpp"
#include "common/openssl.hpp"

namespace ttygate::ktls::pairing {
namespace {

constexpr std::string_view kCommitLabel = "ttygate pairing commit v1";
constexpr std::string_view kCodeLabel = "ttygate pairing code v1";
constexpr std::string_view kPasscodeLabel = "ttygate pairing passcode v1";
constexpr std::uint32_t kMaxIterations = 10'000'000;  // a gateway asking more would stall the client

using Args = std::vector<std::string_view>;

// "TTYGATE-PAIR 1 <verb> <args>" → verb and args; nothing when the prefix is wrong.
struct Message {
  std::string_view verb;
  Args args;
};

std::optional<Message> parse(std::string_view line) {
  if (!line.starts_with(kPrefix)) return std::nullopt;
  line.remove_prefix(kPrefix.size());
  Message m;
  std::size_t space = line.find(' ');
  m.verb = line.substr(0, space);
  while (space != std::string_view::npos) {
    line.remove_prefix(space + 1);
    space = line.find(' ');
    m.args.push_back(line.substr(0, space));
  }
  return m;
}

// The one argument of a message, as N bytes of hex.
template <std::size_t N>
std::optional<std::array<std::uint8_t, N>> single(const Args& args) {
  if (args.size() != 1) return std::nullopt;
  return from_hex_array<N>(args[0]);
}

std::string line(std::string_view verb, std::initializer_list<std::string> args) {
  std::string out(kPrefix);
  out += verb;
  for (const std::string& a : args) out += " " + a;
  return out + "\n";
}

Step failed(std::string reason, std::string detail) {
  Step s;
  s.kind = Step::failed;
  s.reason = std::move(reason);
  s.detail = std::move(detail);
  return s;
}

Bytes32 random_bytes() {
  Bytes32 out{};
  if (RAND_priv_bytes(out.data(), static_cast<int>(out.size())) != 1) std::abort();  // no RNG: nothing is safe
  return out;
}

}  // namespace

Result<Bytes32> exporter(SSL* ssl) {
  Bytes32 out{};
  if (SSL_export_keying_material(ssl, out.data(), out.size(), kExporterLabel, std::strlen(kExporterLabel), nullptr,
                                 0, 0) != 1)
    return openssl_error("exporting the pairing secret");
  return out;
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

Bytes32 commitment(const Bytes32& exporter, const Bytes32& gateway_nonce) {
  Bytes32 out{};
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  unsigned size = 0;
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1 ||
      EVP_DigestUpdate(ctx.get(), kCommitLabel.data(), kCommitLabel.size()) != 1 ||
      EVP_DigestUpdate(ctx.get(), exporter.data(), exporter.size()) != 1 ||
      EVP_DigestUpdate(ctx.get(), gateway_nonce.data(), gateway_nonce.size()) != 1 ||
      EVP_DigestFinal_ex(ctx.get(), out.data(), &size) != 1)
    std::abort();  // SHA-256 does not fail short of memory exhaustion
  return out;
}

std::string code(const Bytes32& exporter, const Bytes32& gateway_nonce, const Bytes32& client_nonce) {
  std::array<std::uint8_t, kCodeLabel.size() + 2 * kSecretBytes> message{};
  std::memcpy(message.data(), kCodeLabel.data(), kCodeLabel.size());
  std::memcpy(message.data() + kCodeLabel.size(), gateway_nonce.data(), kSecretBytes);
  std::memcpy(message.data() + kCodeLabel.size() + kSecretBytes, client_nonce.data(), kSecretBytes);
  std::array<std::uint8_t, EVP_MAX_MD_SIZE> mac{};
  unsigned size = 0;
  if (!HMAC(EVP_sha256(), exporter.data(), static_cast<int>(exporter.size()), message.data(), message.size(),
            mac.data(), &size))
    std::abort();
  std::uint64_t value = 0;
  for (int i = 0; i < 8; ++i) value = value << 8 | mac[i];  // 2^64 mod 10^6 is a bias below 10^-13
  std::string text = std::to_string(value % 1'000'000);
  OPENSSL_cleanse(mac.data(), mac.size());
  return std::string(6 - text.size(), '0') + text;
}

std::optional<std::string> setup_code_digits(std::string_view typed) {
  std::string digits;
  for (char c : typed) {
    if (c >= '0' && c <= '9') digits += c;
    else if (c != '-' && c != ' ') return std::nullopt;
  }
  if (digits.size() != 8) return std::nullopt;
  return digits;
}

std::vector<std::uint8_t> passcode_context(const Bytes32& exporter) {
  std::vector<std::uint8_t> context(kPasscodeLabel.size() + exporter.size());
  std::memcpy(context.data(), kPasscodeLabel.data(), kPasscodeLabel.size());
  std::memcpy(context.data() + kPasscodeLabel.size(), exporter.data(), exporter.size());
  return context;
}

// --- the gateway's half ---------------------------------------------------------------------

std::unique_ptr<GatewayExchange> GatewayExchange::committed_code(const Bytes32& exporter, std::optional<Bytes32> nonce) {
  std::unique_ptr<GatewayExchange> x(new GatewayExchange);
  x->exporter_ = exporter;
  x->nonce_ = nonce ? *nonce : random_bytes();
  x->opening_ = line("commit", {to_hex(commitment(exporter, x->nonce_))});
  x->state_ = State::await_nonce;
  return x;
}

std::unique_ptr<GatewayExchange> GatewayExchange::passcode(const Bytes32& exporter, PasscodeVerifier verifier) {
  std::unique_ptr<GatewayExchange> x(new GatewayExchange);
  x->exporter_ = exporter;
  x->opening_ = line("passcode", {to_hex(verifier.salt), std::to_string(verifier.iterations)});
  x->verifier_ = std::move(verifier);
  x->state_ = State::await_share;
  return x;
}

GatewayExchange::~GatewayExchange() {
  OPENSSL_cleanse(exporter_.data(), exporter_.size());
  OPENSSL_cleanse(nonce_.data(), nonce_.size());
}

Step GatewayExchange::fail(std::string reason, std::string detail) {
  state_ = State::done;
  pake_.reset();
  return failed(std::move(reason), std::move(detail));
}

Step GatewayExchange::receive(std::string_view text) {
  auto m = parse(text);
  if (!m) return fail("protocol", "not a pairing message: " + shown(text));
  const Args& args = m->args;
  if (state_ == State::await_nonce && m->verb == "nonce") return on_nonce(args);
  if (state_ == State::await_share && m->verb == "share") return on_share(args);
  if (state_ == State::await_confirm && m->verb == "confirm") return on_confirm(args);
  return fail("protocol", "unexpected message now: " + shown(text));
}

Step GatewayExchange::on_nonce(const Args& args) {
  auto client_nonce = single<kSecretBytes>(args);
  if (!client_nonce) return fail("protocol", "malformed nonce");
  Step s;
  s.kind = Step::code_shown;
  s.code = code(exporter_, nonce_, *client_nonce);
  s.send = line("reveal", {to_hex(nonce_)});
  state_ = State::done;
  return s;
}

Step GatewayExchange::on_share(const Args& args) {
  auto share = single<spake2plus::kPointBytes>(args);
  if (!share) return fail("protocol", "malformed share");
  spake2plus::Transcript transcript{passcode_context(exporter_), {}, {}};
  auto pake = spake2plus::VerifierSession::respond(verifier_->verifier, std::move(transcript), *share);
  if (!pake) return fail("protocol", "share refused: " + pake.error().message());
  pake_.emplace(std::move(*pake));
  Step s;
  s.send = line("reply", {to_hex(pake_->share()), to_hex(pake_->confirm())});
  state_ = State::await_confirm;
  return s;
}

Step GatewayExchange::on_confirm(const Args& args) {
  auto confirm = single<spake2plus::kMacBytes>(args);
  if (!confirm) return fail("protocol", "malformed confirmation");
  auto shared = pake_->finish(*confirm);
  if (!shared) return fail("wrong-passcode", "the client's confirmation does not verify");
  state_ = State::done;
  pake_.reset();
  Step s;
  s.kind = Step::proved;
  return s;
}

// --- the client's half ----------------------------------------------------------------------

ClientExchange::ClientExchange(const Bytes32& exporter, std::optional<std::string> passcode,
                               std::optional<Bytes32> nonce)
    : exporter_(exporter), passcode_(std::move(passcode)), fixed_nonce_(nonce) {}

ClientExchange::~ClientExchange() {
  OPENSSL_cleanse(exporter_.data(), exporter_.size());
  OPENSSL_cleanse(nonce_.data(), nonce_.size());
  if (passcode_) OPENSSL_cleanse(passcode_->data(), passcode_->size());
}

Step ClientExchange::fail(std::string reason, std::string detail) {
  state_ = State::done;
  pake_.reset();
  return failed(std::move(reason), std::move(detail));
}

Step ClientExchange::receive(std::string_view text) {
  auto m = parse(text);
  if (!m) return fail("protocol", "not a pairing message: " + shown(text));
  const Args& args = m->args;
  if (state_ == State::await_opening && m->verb == "commit") return on_commit(args);
  if (state_ == State::await_opening && m->verb == "passcode") return on_passcode(args);
  if (state_ == State::await_reveal && m->verb == "reveal") return on_reveal(args);
  if (state_ == State::await_reply && m->verb == "reply") return on_reply(args);
  return fail("protocol", "unexpected message now: " + shown(text));
}

Step ClientExchange::on_commit(const Args& args) {
  auto c = single<kSecretBytes>(args);
  if (!c) return fail("protocol", "malformed commitment");
  if (passcode_) return fail("protocol", "the gateway compares codes; it has no setup code to check");
  commitment_ = *c;
  nonce_ = fixed_nonce_ ? *fixed_nonce_ : random_bytes();
  state_ = State::await_reveal;
  Step s;
  s.send = line("nonce", {to_hex(nonce_)});
  return s;
}

Step ClientExchange::on_reveal(const Args& args) {
  auto gateway_nonce = single<kSecretBytes>(args);
  if (!gateway_nonce) return fail("protocol", "malformed reveal");
  Bytes32 expected = commitment(exporter_, *gateway_nonce);
  if (CRYPTO_memcmp(expected.data(), commitment_.data(), expected.size()) != 0)
    return fail("protocol", "the revealed nonce does not match the gateway's commitment");
  state_ = State::done;
  Step s;
  s.kind = Step::code_shown;
  s.code = code(exporter_, *gateway_nonce, nonce_);
  return s;
}

Step ClientExchange::on_passcode(const Args& args) {
  if (args.size() != 2) return fail("protocol", "malformed passcode parameters");
  auto salt = from_hex(args[0], args[0].size() / 2);
  std::uint32_t iterations = 0;
  auto [end, ec] = std::from_chars(args[1].data(), args[1].data() + args[1].size(), iterations);
  if (!salt || salt->size() < 16 || salt->size() > 64 || ec != std::errc() || end != args[1].data() + args[1].size() ||
      iterations < 1000 || iterations > kMaxIterations)
    return fail("protocol", "malformed passcode parameters");
  if (!passcode_) return fail("passcode-needed", "the gateway asks for its setup code");
  auto secrets = spake2plus::derive_secrets(*passcode_, *salt, iterations);
  if (!secrets) return fail("protocol", "deriving from the setup code: " + secrets.error().message());
  spake2plus::Transcript transcript{passcode_context(exporter_), {}, {}};
  auto prover = spake2plus::Prover::start(*secrets, std::move(transcript));
  if (!prover) return fail("protocol", "starting SPAKE2+: " + prover.error().message());
  pake_.emplace(std::move(*prover));
  state_ = State::await_reply;
  Step s;
  s.send = line("share", {to_hex(pake_->share())});
  return s;
}

Step ClientExchange::on_reply(const Args& args) {
  if (args.size() != 2) return fail("protocol", "malformed reply");
  auto share = from_hex_array<spake2plus::kPointBytes>(args[0]);
  auto confirm = from_hex_array<spake2plus::kMacBytes>(args[1]);
  if (!share || !confirm) return fail("protocol", "malformed reply");
  auto finished = pake_->finish(*share, *confirm);
  if (!finished) {
    if (finished.error().code() == std::errc::permission_denied)
      return fail("wrong-passcode", "the gateway's confirmation does not verify");
    return fail("protocol", "reply refused: " + finished.error().message());
  }
  state_ = State::done;
  Step s;
  s.kind = Step::proved;
  s.send = line("confirm", {to_hex(finished->confirm)});
  pake_.reset();
  return s;
}

}  // namespace ttygate::ktls::pairing
