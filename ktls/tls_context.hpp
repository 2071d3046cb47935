// SPDX-License-Identifier: Apache-2.0
// TLS policy: the SSL_CTX settings every ttygate endpoint uses, and pin-based peer verification.
//
// TLS 1.3 only; suites AES-128-GCM (preferred), AES-256-GCM, ChaCha20-Poly1305 (the ones kernel
// TLS accepts); groups X25519 and P-256; no 0-RTT, no renegotiation, no compression; read-ahead
// off so OpenSSL never reads past the handshake (the kernel hand-over depends on it).
//
// Chain verification is replaced entirely by a pin check: OpenSSL still verifies the peer's
// CertificateVerify signature (proof that it holds the private key), and the PeerPolicy decides
// on the SHA-256 of the public key. A rejected pin fails the handshake with a bad_certificate
// alert; nothing past the handshake ever happens on that connection.
#pragma once

#include <openssl/ssl.h>

#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "common/openssl.hpp"
#include "common/result.hpp"
#include "ktls/identity.hpp"
#include "ktls/pin.hpp"

namespace ttygate::ktls {

// Decides whether the peer of `ssl`, proven to hold the key with this pin, may proceed. Called
// from inside OpenSSL's handshake; must not throw. A policy that refuses says why itself (it
// knows the context: a log line on the gateway, a message on the client).
class PeerPolicy {
 public:
  virtual ~PeerPolicy() = default;
  virtual bool admit(SSL* ssl, const Pin& pin) = 0;
  // The same question for a resumption: the pin is that of the certificate sealed in the
  // ticket. Refusing turns the resumption into a full handshake.
  virtual bool admit_resumption(SSL* ssl, const Pin& pin) { return admit(ssl, pin); }
};

// A policy that admits exactly one pin (a client pinning its gateway), or any pin when unset
// (pairing: the pin is then recorded for the caller to show and keep).
class FixedPinPolicy final : public PeerPolicy {
 public:
  explicit FixedPinPolicy(std::optional<Pin> expected) : expected_(expected) {}
  bool admit(SSL* ssl, const Pin& pin) override;
  // The last pin presented, admitted or not.
  const std::optional<Pin>& seen() const { return seen_; }

 private:
  std::optional<Pin> expected_;
  std::optional<Pin> seen_;
};

// `policy` must outlive the context. The server requires a client certificate.
Result<SslCtxPtr> make_server_context(const Identity& identity, PeerPolicy& policy);
Result<SslCtxPtr> make_client_context(const Identity& identity, PeerPolicy& policy);

// ALPN (RFC 7301) chooses what a session carries: "ttygate-raw" (also what a client that offers
// no ALPN gets) is the byte-exact relay, "ttygate-rfc2217" a Telnet session with RFC 2217 line
// control (docs/line-control.md). The server takes the first protocol in the client's list that
// its policy allows for this connection; a client that offered ALPN but nothing allowed fails
// the handshake with no_application_protocol: it never gets a stream it didn't ask for.
inline constexpr std::string_view kAlpnRaw = "ttygate-raw";
inline constexpr std::string_view kAlpnRfc2217 = "ttygate-rfc2217";

class AlpnPolicy {
 public:
  virtual ~AlpnPolicy() = default;
  // Called inside the handshake; must not throw. A refusal says why itself.
  virtual bool allows(SSL* ssl, std::string_view protocol) = 0;
};
// `policy` must outlive the context.
void select_alpn(SSL_CTX* ctx, AlpnPolicy& policy);
// The client's offer, in order of preference.
Result<void> offer_alpn(SSL* ssl, std::span<const std::string_view> protocols);
// The negotiated protocol after the handshake; empty when none was.
std::string selected_alpn(const SSL* ssl);

// The peer's pin after a completed handshake (full or resumed).
std::optional<Pin> peer_pin(const SSL* ssl);

// Why a handshake failed, from OpenSSL's error queue (cleared) and the verify result.
std::string handshake_failure_reason(const SSL* ssl);

}  // namespace ttygate::ktls
