// SPDX-License-Identifier: Apache-2.0
// Connection: TCP and pinned TLS 1.3 to one gateway, with the gateway's session ticket kept for
// the next connection.
//
// A Connector is made once per gateway and reused for every (re)connection: it owns the client
// SSL_CTX, the pin policy and the newest ticket the gateway sent (SSL_CTX_sess_set_new_cb; kept
// in memory only, never on disk: a ticket is a session secret). The gateway's key is checked in
// the handshake (a mismatch fails it with bad_certificate, nothing is sent), and once more after
// it, so a resumed session too is only accepted from the pinned key. Blocking with a deadline;
// an optional interrupt fd (a signalfd) that becomes readable aborts the attempt.
// Single-threaded. The Connector's address is given to OpenSSL callbacks: it neither copies nor
// moves.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/openssl.hpp"
#include "common/result.hpp"
#include "ktls/identity.hpp"
#include "ktls/tls_context.hpp"
#include "ktls/user_channel.hpp"
#include "tools/ttygate-client/store.hpp"

namespace ttygate::client {

using SslSessionPtr = std::unique_ptr<SSL_SESSION, OpenSslDeleter<SSL_SESSION_free>>;

// What one handshake cost, measured at the client: wall time from the first ClientHello byte to
// the handshake's end, and TLS bytes on the wire in each direction up to then (TCP/IP headers
// not included; the gateway's tickets arrive after it and are not counted).
struct HandshakeStats {
  bool resumed = false;
  std::chrono::microseconds tcp_connect{0};
  std::chrono::microseconds handshake{0};
  std::uint64_t bytes_sent = 0;
  std::uint64_t bytes_received = 0;
};
std::string describe(const HandshakeStats& stats);  // "resumed, 1.2 ms, 512 bytes sent, 287 received"

struct Connection {
  std::unique_ptr<ktls::UserChannel> channel;
  ktls::Pin pin{};  // the gateway's, as presented
  std::string protocol;  // ALPN, as the gateway chose it (empty: none offered)
  HandshakeStats stats;
};

class Connector {
 public:
  // expected: the pinned key; nullopt while pairing (any key is admitted and recorded).
  static Result<std::unique_ptr<Connector>> make(const ktls::Identity& identity, std::optional<ktls::Pin> expected);
  Connector(const Connector&) = delete;
  Connector& operator=(const Connector&) = delete;
  ~Connector();

  // Resolves, connects and completes the handshake, offering the saved ticket if there is one.
  Result<Connection> connect(const Endpoint& endpoint, std::chrono::milliseconds timeout, int interrupt_fd = -1);

  // After a failed connect(): the key the gateway presented when it was not the pinned one.
  const std::optional<ktls::Pin>& mismatched_key() const { return mismatch_; }
  bool has_ticket() const { return ticket_ != nullptr; }
  // ALPN protocols to offer (ktls/tls_context.hpp), most wanted first; none by default.
  void offer(std::vector<std::string_view> protocols) { alpn_ = std::move(protocols); }

 private:
  explicit Connector(std::optional<ktls::Pin> expected) : expected_(expected), policy_(expected) {}
  static int on_new_session(SSL* ssl, SSL_SESSION* session);
  Result<Connection> handshake(UniqueFd fd, std::chrono::steady_clock::time_point deadline, int interrupt_fd,
                               HandshakeStats stats);

  std::optional<ktls::Pin> expected_;
  ktls::FixedPinPolicy policy_;
  SslCtxPtr ctx_;
  SslSessionPtr ticket_;
  std::optional<ktls::Pin> mismatch_;
  std::vector<std::string_view> alpn_;
};

// The ssh-like warning for a gateway whose key differs from its pin, several lines.
std::string key_mismatch_warning(const std::string& gateway, const Endpoint& endpoint, const ktls::Pin& expected,
                                 const ktls::Pin& presented);

}  // namespace ttygate::client
