// SPDX-License-Identifier: Apache-2.0
#include "daemon/handshake.hpp"

#include <openssl/err.h>
#include <poll.h>

#include "ktls/tls_context.hpp"
#include "ktls/user_channel.hpp"

namespace ttygate::daemon {

Result<Handshake> Handshake::accept(SSL_CTX* ctx, UniqueFd fd) {
  SslPtr ssl(SSL_new(ctx));
  if (!ssl || SSL_set_fd(ssl.get(), fd.get()) != 1) return openssl_error("SSL_new");
  SSL_set_accept_state(ssl.get());
  return Handshake(std::move(fd), std::move(ssl));
}

Handshake::Step Handshake::step() {
  ERR_clear_error();
  int rc = SSL_do_handshake(ssl_.get());
  if (rc == 1) return {};
  int err = SSL_get_error(ssl_.get(), rc);
  if (err == SSL_ERROR_WANT_READ) return {Step::want, POLLIN, {}};
  if (err == SSL_ERROR_WANT_WRITE) return {Step::want, POLLOUT, {}};
  return {Step::failed, 0, "handshake failed: " + ktls::handshake_failure_reason(ssl_.get())};
}

// OpenSSL names the ClientHello state as soon as the message's header arrived; only a later state
// (the server's flight) proves the whole message came.
bool Handshake::hello_received() const {
  const OSSL_HANDSHAKE_STATE state = SSL_get_state(ssl_.get());
  return state != TLS_ST_BEFORE && state != TLS_ST_SR_CLNT_HELLO;
}

Result<std::unique_ptr<ktls::Channel>> Handshake::into_channel(const ktls::KernelTlsSupport& kernel,
                                                               std::string* stayed) {
  const SSL_CIPHER* cipher = SSL_get_current_cipher(ssl_.get());
  auto suite = cipher ? ktls::suite_from_id(SSL_CIPHER_get_protocol_id(cipher)) : std::nullopt;
  if (suite && kernel.supports(*suite)) {
    if (auto ready = ktls::check_ready(ssl_.get()); ready) return ktls::hand_over(std::move(ssl_), std::move(fd_), kernel.rekey);
    else if (stayed)
      *stayed = ready.error().message();
  }
  // Read-ahead was off so the kernel could take over at the record boundary; in user space for
  // good, one read() may now take several records (and a whole small record in one go).
  SSL_set_read_ahead(ssl_.get(), 1);
  return std::unique_ptr<ktls::Channel>(std::make_unique<ktls::UserChannel>(std::move(ssl_), std::move(fd_)));
}

}  // namespace ttygate::daemon
