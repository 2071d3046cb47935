// SPDX-License-Identifier: Apache-2.0
// Handshake: the TLS side of one accepted connection until its record layer is a Channel.
//
// It owns the three steps that decide how exactly OpenSSL touches the socket, so that they stay
// consistent: the SSL object for the accepted socket (read-ahead off, from the server context,
// so OpenSSL never reads past the client's Finished); the non-blocking handshake itself, one
// step per readiness; and the hand-over, where the record layer goes to the kernel when it can
// take the negotiated suite and OpenSSL holds nothing back, else stays in user space with
// read-ahead switched on (always correct, only slower). It knows nothing of the loop, sessions
// or policy: the pin policy runs inside step() through the context's PeerPolicy. Single-threaded.
#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <string>

#include "common/openssl.hpp"
#include "common/result.hpp"
#include "common/unique_fd.hpp"
#include "ktls/channel.hpp"
#include "ktls/offload.hpp"

namespace ttygate::daemon {

class Handshake {
 public:
  // The server side of a TLS handshake on an accepted socket.
  static Result<Handshake> accept(SSL_CTX* ctx, UniqueFd fd);

  struct Step {
    enum Kind { done, want, failed } kind = done;
    short events = 0;    // want: POLLIN or POLLOUT
    std::string reason;  // failed: why, for the log
  };
  // One step of SSL_do_handshake.
  Step step();

  SSL* ssl() const { return ssl_.get(); }
  int fd() const { return fd_.get(); }
  // What the context's callbacks find with SSL_get_app_data (the session).
  void set_app_data(void* data) { SSL_set_app_data(ssl_.get(), data); }
  bool resumed() const { return SSL_session_reused(ssl_.get()) == 1; }
  // The whole ClientHello arrived and was answered: what separates a client from a connection
  // that sent nothing or dribbles bytes (daemon/admission_limits.hpp).
  bool hello_received() const;
  // close_notify, best effort (a candidate turned away before it had a record layer).
  void shutdown() { SSL_shutdown(ssl_.get()); }

  // The record layer for the rest of the session; consumes the handshake. `stayed` says why a
  // kernel that could have taken it did not (empty otherwise).
  Result<std::unique_ptr<ktls::Channel>> into_channel(const ktls::KernelTlsSupport& kernel, std::string* stayed);

 private:
  Handshake(UniqueFd fd, SslPtr ssl) : fd_(std::move(fd)), ssl_(std::move(ssl)) {}
  UniqueFd fd_;
  SslPtr ssl_;
};

}  // namespace ttygate::daemon
