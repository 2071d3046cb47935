// SPDX-License-Identifier: Apache-2.0
#include "ktls/pairing_protocol.hpp"

#include <gtest/gtest.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <string>

#include "common/hex.hpp"

using namespace ttygate::ktls;
using namespace ttygate::ktls::pairing;

namespace {

Bytes32 filled(std::uint8_t b) {
  Bytes32 out;
  out.fill(b);
  return out;
}

std::string strip(const std::string& line) { return line.substr(0, line.size() - 1); }  // the '\n'

// A gateway and a client exchange lines until neither has more to say.
struct Ends {
  Step gateway_end, client_end;
};

Ends run(GatewayExchange& gateway, ClientExchange& client) {
  Ends r;
  std::string to_client = gateway.opening();
  while (!to_client.empty()) {
    r.client_end = client.receive(strip(to_client));
    to_client.clear();
    if (r.client_end.send.empty()) break;
    r.gateway_end = gateway.receive(strip(r.client_end.send));
    to_client = r.gateway_end.send;
  }
  return r;
}

PasscodeVerifier verifier_for(const std::string& passcode, std::vector<std::uint8_t> salt = std::vector<std::uint8_t>(32, 7)) {
  auto secrets = spake2plus::derive_secrets(passcode, salt, 1000);
  EXPECT_TRUE(secrets);
  auto verifier = spake2plus::make_verifier(*secrets);
  EXPECT_TRUE(verifier);
  return {salt, 1000, *verifier};
}

TEST(ACommitment, IsSha256OfTheLabelTheExporterAndTheGatewayNonce) {
  Bytes32 exporter = filled(1), nonce = filled(2);
  std::string input = "ttygate pairing commit v1";
  input.append(exporter.begin(), exporter.end());
  input.append(nonce.begin(), nonce.end());
  Bytes32 expected{};
  unsigned size = 0;
  EVP_Digest(input.data(), input.size(), expected.data(), &size, EVP_sha256(), nullptr);
  EXPECT_EQ(commitment(exporter, nonce), expected);
}

TEST(APairingCode, IsTheFirstEightBytesOfTheHmacBigEndianModuloAMillion) {
  Bytes32 exporter = filled(1), ng = filled(2), nc = filled(3);
  std::string message = "ttygate pairing code v1";
  message.append(ng.begin(), ng.end());
  message.append(nc.begin(), nc.end());
  unsigned char mac[32];
  unsigned size = 0;
  HMAC(EVP_sha256(), exporter.data(), 32, reinterpret_cast<const unsigned char*>(message.data()), message.size(), mac,
       &size);
  std::uint64_t value = 0;
  for (int i = 0; i < 8; ++i) value = value << 8 | mac[i];
  char expected[8];
  std::snprintf(expected, sizeof expected, "%06u", static_cast<unsigned>(value % 1000000));
  EXPECT_EQ(code(exporter, ng, nc), expected);
  EXPECT_EQ(code(exporter, ng, nc).size(), 6u);
}

TEST(APairingCode, ChangesWithEitherNonceAndWithTheSession) {
  Bytes32 e = filled(1), ng = filled(2), nc = filled(3);
  std::string base = code(e, ng, nc);
  int differing = 0;
  for (std::uint8_t b = 10; b < 30; ++b) {
    differing += code(e, filled(b), nc) != base;
    differing += code(e, ng, filled(b)) != base;
    differing += code(filled(b), ng, nc) != base;
  }
  EXPECT_GE(differing, 59);  // one collision in 60 is already a 1-in-17,000 event
}

TEST(ACommittedCodeExchange, ShowsTheSameCodeOnBothEnds) {
  Bytes32 exporter = filled(9);
  auto gateway = GatewayExchange::committed_code(exporter, filled(4));
  ClientExchange client(exporter, std::nullopt, filled(5));
  Ends r = run(*gateway, client);
  ASSERT_EQ(r.gateway_end.kind, Step::code_shown);
  ASSERT_EQ(r.client_end.kind, Step::code_shown);
  EXPECT_EQ(r.gateway_end.code, r.client_end.code);
  EXPECT_EQ(r.gateway_end.code, code(exporter, filled(4), filled(5)));
  EXPECT_TRUE(gateway->finished());
}

TEST(ACommittedCodeExchange, SpeaksTheDocumentedLines) {
  Bytes32 exporter = filled(9);
  auto gateway = GatewayExchange::committed_code(exporter, filled(4));
  EXPECT_EQ(gateway->opening(), "TTYGATE-PAIR 1 commit " + ttygate::to_hex(commitment(exporter, filled(4))) + "\n");
  Step reveal = gateway->receive("TTYGATE-PAIR 1 nonce " + std::string(64, 'a'));
  EXPECT_EQ(reveal.send, "TTYGATE-PAIR 1 reveal " + ttygate::to_hex(filled(4)) + "\n");
}

TEST(ACommittedCodeExchange, DrawsAFreshGatewayNonceEachTime) {
  Bytes32 exporter = filled(9);
  EXPECT_NE(GatewayExchange::committed_code(exporter)->opening(), GatewayExchange::committed_code(exporter)->opening());
}

TEST(AClient, RefusesARevealThatDoesNotMatchTheCommitment) {
  Bytes32 exporter = filled(9);
  auto gateway = GatewayExchange::committed_code(exporter, filled(4));
  ClientExchange client(exporter, std::nullopt);
  Step nonce = client.receive(strip(gateway->opening()));
  ASSERT_EQ(nonce.kind, Step::more);
  Step end = client.receive("TTYGATE-PAIR 1 reveal " + ttygate::to_hex(filled(5)));  // not Ng
  EXPECT_EQ(end.kind, Step::failed);
  EXPECT_EQ(end.reason, "protocol");
  EXPECT_TRUE(end.code.empty());
}

TEST(AClient, RefusesMessagesOutOfOrderMalformedOrFromAnotherVersion) {
  Bytes32 exporter = filled(9);
  const std::string hex32 = ttygate::to_hex(filled(4));
  for (std::string line : {"TTYGATE-PAIR 1 reveal " + hex32,            // reveal before commit
                           "TTYGATE-PAIR 2 commit " + hex32,            // another version
                           "TTYGATE-PAIR 1 commit " + hex32.substr(2),  // short
                           "TTYGATE-PAIR 1 commit " + std::string(64, 'A'),  // uppercase
                           "TTYGATE-PAIR 1 commit " + hex32 + " " + hex32,   // extra argument
                           "TTYGATE-PAIR 1 reply " + hex32 + " " + hex32, std::string("hello"), std::string()}) {
    ClientExchange client(exporter, std::nullopt);
    Step s = client.receive(line);
    EXPECT_EQ(s.kind, Step::failed) << line;
    EXPECT_EQ(s.reason, "protocol") << line;
    EXPECT_TRUE(s.send.empty()) << line;
  }
}

TEST(AGatewayExchange, RefusesAnythingButTheNextMessageAndEverythingAfterTheEnd) {
  Bytes32 exporter = filled(9);
  const std::string nonce = "TTYGATE-PAIR 1 nonce " + ttygate::to_hex(filled(5));
  for (std::string line : {std::string("A motor 255"), "TTYGATE-PAIR 1 confirm " + ttygate::to_hex(filled(5)),
                           "TTYGATE-PAIR 1 share " + std::string(130, '0'), nonce + " ", nonce.substr(0, 40)}) {
    auto gateway = GatewayExchange::committed_code(exporter, filled(4));
    Step s = gateway->receive(line);
    EXPECT_EQ(s.kind, Step::failed) << line;
    EXPECT_EQ(s.reason, "protocol") << line;
    EXPECT_TRUE(s.send.empty()) << line;  // a failed exchange reveals nothing
    EXPECT_TRUE(gateway->finished());
  }
  auto gateway = GatewayExchange::committed_code(exporter, filled(4));
  ASSERT_EQ(gateway->receive(nonce).kind, Step::code_shown);
  Step replayed = gateway->receive(nonce);
  EXPECT_EQ(replayed.kind, Step::failed);
  EXPECT_EQ(replayed.reason, "protocol");
}

TEST(APasscodeExchange, ProvesTheSetupCodeBothWays) {
  Bytes32 exporter = filled(9);
  auto gateway = GatewayExchange::passcode(exporter, verifier_for("20240613"));
  ClientExchange client(exporter, std::string("20240613"));
  Ends r = run(*gateway, client);
  EXPECT_EQ(r.client_end.kind, Step::proved);
  EXPECT_EQ(r.gateway_end.kind, Step::proved);
  EXPECT_TRUE(gateway->finished());
}

TEST(APasscodeExchange, WithAWrongCodeFailsOnTheClientBeforeItConfirms) {
  Bytes32 exporter = filled(9);
  auto gateway = GatewayExchange::passcode(exporter, verifier_for("20240613"));
  ClientExchange client(exporter, std::string("20240614"));
  Ends r = run(*gateway, client);
  EXPECT_EQ(r.client_end.kind, Step::failed);
  EXPECT_EQ(r.client_end.reason, "wrong-passcode");
  EXPECT_TRUE(r.client_end.send.empty());
  EXPECT_FALSE(gateway->finished());  // it waits for a confirmation that never comes
}

TEST(APasscodeExchange, RefusesAConfirmationMadeWithAWrongCode) {
  // A client that does not check the gateway's proof and confirms anyway.
  Bytes32 exporter = filled(9);
  auto gateway = GatewayExchange::passcode(exporter, verifier_for("20240613"));
  auto wrong = spake2plus::derive_secrets("20240614", std::vector<std::uint8_t>(32, 7), 1000);
  auto prover = spake2plus::Prover::start(*wrong, {passcode_context(exporter), {}, {}});
  Step reply = gateway->receive("TTYGATE-PAIR 1 share " + ttygate::to_hex(prover->share()));
  ASSERT_EQ(reply.kind, Step::more);
  Step end = gateway->receive("TTYGATE-PAIR 1 confirm " + std::string(64, '0'));
  EXPECT_EQ(end.kind, Step::failed);
  EXPECT_EQ(end.reason, "wrong-passcode");
}

TEST(APasscodeExchange, BoundToAnotherTlsSessionFailsAsAManInTheMiddleWould) {
  auto gateway = GatewayExchange::passcode(filled(9), verifier_for("20240613"));
  ClientExchange client(filled(8), std::string("20240613"));  // the client's own session
  Ends r = run(*gateway, client);
  EXPECT_EQ(r.client_end.kind, Step::failed);
  EXPECT_EQ(r.client_end.reason, "wrong-passcode");
}

TEST(APasscodeExchange, AnnouncesTheSaltAndIterationsFirst) {
  auto gateway = GatewayExchange::passcode(filled(9), verifier_for("20240613"));
  EXPECT_EQ(gateway->opening(), "TTYGATE-PAIR 1 passcode " + ttygate::to_hex(std::vector<std::uint8_t>(32, 7)) + " 1000\n");
}

TEST(AClient, WithoutASetupCodeStopsWhenTheGatewayAsksForOne) {
  auto gateway = GatewayExchange::passcode(filled(9), verifier_for("20240613"));
  ClientExchange client(filled(9), std::nullopt);
  Step s = client.receive(strip(gateway->opening()));
  EXPECT_EQ(s.kind, Step::failed);
  EXPECT_EQ(s.reason, "passcode-needed");
}

TEST(AClient, WithASetupCodeRefusesAGatewayThatOnlyComparesCodes) {
  auto gateway = GatewayExchange::committed_code(filled(9));
  ClientExchange client(filled(9), std::string("20240613"));
  EXPECT_EQ(client.receive(strip(gateway->opening())).kind, Step::failed);
}

TEST(AClient, RefusesPasscodeParametersOutOfBounds) {
  const std::string salt = ttygate::to_hex(std::vector<std::uint8_t>(32, 7));
  for (std::string args : {salt + " 999", salt + " 10000001", salt + " 1000x", salt.substr(0, 30) + " 1000",
                           salt, salt + " 1000 1"}) {
    ClientExchange client(filled(9), std::string("20240613"));
    Step s = client.receive("TTYGATE-PAIR 1 passcode " + args);
    EXPECT_EQ(s.kind, Step::failed) << args;
    EXPECT_EQ(s.reason, "protocol") << args;
  }
}

}  // namespace
