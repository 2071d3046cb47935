// SPDX-License-Identifier: Apache-2.0
// Pairing protocol: the exchange a pairing candidate and the gateway run inside their fresh TLS
// session before any verdict (docs/pairing.md has the wire format for third-party clients).
//
// Two modes, both bound to this very TLS session by its exporter:
//  - committed codes (confirm = "code"): the gateway commits to a nonce Ng, the client answers
//    with its nonce Nc, the gateway reveals Ng, and both show
//        code = HMAC-SHA256(exporter, "ttygate pairing code v1" || Ng || Nc)[0..8) as a
//               big-endian integer, mod 10^6,
//    so neither side can choose its nonce after seeing the other's: a man in the middle gets
//    one chance in 10^6 that the two codes a person compares agree.
//  - setup code (confirm = "passcode"): SPAKE2+ (ktls/spake2plus) with the exporter in its
//    context; the client proves it knows the code printed on the gateway, the gateway proves
//    it holds the verifier, and a man in the middle gets one online guess per attempt.
//
// Messages are single lines "TTYGATE-PAIR 1 <verb> <lowercase hex or decimal>...\n", at most
// kMaxLine bytes. Both halves are pure state machines over lines (no sockets, no clock):
// whoever owns the connection reads a line, hands it over, and sends what comes back. Anything
// unexpected, out of order or after the end is a protocol failure; no line of it is ever
// device data. Single-threaded; the secrets they hold are wiped when they go.
#pragma once

#include <openssl/ssl.h>

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "ktls/spake2plus.hpp"

namespace ttygate::ktls::pairing {

// RFC 8446 7.5 exporter of the session both ends are in: no context, 32 bytes.
inline constexpr const char* kExporterLabel = "EXPORTER-ttygate-pairing-v1";
inline constexpr std::size_t kSecretBytes = 32;  // exporter, nonces, commitment
inline constexpr std::size_t kMaxLine = 320;     // the longest message is under 300 bytes
inline constexpr std::string_view kPrefix = "TTYGATE-PAIR 1 ";

using Bytes32 = std::array<std::uint8_t, kSecretBytes>;

Result<Bytes32> exporter(SSL* ssl);

// The peer certificate's subject CN as written (may be empty or anything at all: sanitise it).
// Only ever a suggestion for the name a new pin is kept under.
std::string peer_common_name(const SSL* ssl);

// C = SHA-256("ttygate pairing commit v1" || exporter || Ng)
Bytes32 commitment(const Bytes32& exporter, const Bytes32& gateway_nonce);
// The 6-digit code (zero-padded) both ends show after the reveal; see the header comment.
std::string code(const Bytes32& exporter, const Bytes32& gateway_nonce, const Bytes32& client_nonce);
// SPAKE2+ Context: "ttygate pairing passcode v1" || exporter.
std::vector<std::uint8_t> passcode_context(const Bytes32& exporter);

// The 8 digits of a setup code as people type it ("1234-5678", "1234 5678", "12345678"), or
// nothing when it is not 8 digits.
std::optional<std::string> setup_code_digits(std::string_view typed);

// What the setup code's SPAKE2+ needs on the gateway's side (daemon/passcode stores it).
struct PasscodeVerifier {
  std::vector<std::uint8_t> salt;
  std::uint32_t iterations = 0;
  spake2plus::Verifier verifier;
};

// The result of one received line: a line to send (may be empty) and where the exchange is.
struct Step {
  enum Kind {
    more,            // wait for the next line
    code_shown,      // committed codes: both ends hold `code`; a person compares them
    proved,          // setup code: the peer proved the passcode (gateway), or the gateway did (client)
    failed,          // abort this candidate: `reason` ("protocol", "wrong-passcode"), `detail` for logs
  } kind = more;
  std::string send;  // with its '\n'
  std::string code;
  std::string reason;
  std::string detail;
};

// The gateway's half. Each instance is one candidate's exchange.
class GatewayExchange {
 public:
  // Draws Ng from the system RNG. Test seam: `nonce` fixes it.
  static std::unique_ptr<GatewayExchange> committed_code(const Bytes32& exporter, std::optional<Bytes32> nonce = {});
  static std::unique_ptr<GatewayExchange> passcode(const Bytes32& exporter, PasscodeVerifier verifier);
  ~GatewayExchange();

  // The line the gateway sends first.
  const std::string& opening() const { return opening_; }
  // One line from the candidate, without its '\n'.
  Step receive(std::string_view line);
  // True once the exchange has ended either way: any further line is a protocol failure.
  bool finished() const { return state_ == State::done; }
  // The gateway sent its setup-code proof and waits for the client's. A client whose code was
  // wrong learns it here and leaves: that is a failed attempt like a wrong confirmation.
  bool awaits_proof() const { return state_ == State::await_confirm; }

 private:
  enum class State { await_nonce, await_share, await_confirm, done };
  GatewayExchange() = default;
  Step fail(std::string reason, std::string detail);
  Step on_nonce(const std::vector<std::string_view>& args);
  Step on_share(const std::vector<std::string_view>& args);
  Step on_confirm(const std::vector<std::string_view>& args);

  State state_ = State::done;
  std::string opening_;
  Bytes32 exporter_{};
  Bytes32 nonce_{};
  std::optional<PasscodeVerifier> verifier_;
  std::optional<spake2plus::VerifierSession> pake_;
};

// The client's half. It learns the gateway's mode from the gateway's first line.
class ClientExchange {
 public:
  // passcode: the setup code the user typed, if any. Test seam: `nonce` fixes Nc.
  ClientExchange(const Bytes32& exporter, std::optional<std::string> passcode, std::optional<Bytes32> nonce = {});
  ~ClientExchange();

  // One line from the gateway, without its '\n'. "failed" reasons: "protocol", "wrong-passcode"
  // (the gateway's proof did not verify: a wrong setup code, or a machine in the middle),
  // "passcode-needed" (the gateway asks for a setup code and none was given).
  Step receive(std::string_view line);

 private:
  enum class State { await_opening, await_reveal, await_reply, done };
  Step fail(std::string reason, std::string detail);
  Step on_commit(const std::vector<std::string_view>& args);
  Step on_reveal(const std::vector<std::string_view>& args);
  Step on_passcode(const std::vector<std::string_view>& args);
  Step on_reply(const std::vector<std::string_view>& args);

  State state_ = State::await_opening;
  Bytes32 exporter_{};
  std::optional<std::string> passcode_;
  std::optional<Bytes32> fixed_nonce_;
  Bytes32 nonce_{};
  Bytes32 commitment_{};
  std::optional<spake2plus::Prover> pake_;
};

}  // namespace ttygate::ktls::pairing
