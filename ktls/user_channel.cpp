// SPDX-License-Identifier: Apache-2.0
#include "ktls/user_channel.hpp"

#include <openssl/err.h>

#include <climits>

namespace ttygate::ktls {

std::string_view to_string(Offload offload) { return offload == Offload::kernel ? "kernel" : "user"; }

IoStatus UserChannel::status_after(int ret, const char* what) {
  switch (SSL_get_error(ssl_.get(), ret)) {
    case SSL_ERROR_WANT_READ:
      return IoStatus::wait_for(POLLIN);
    case SSL_ERROR_WANT_WRITE:
      return IoStatus::wait_for(POLLOUT);
    case SSL_ERROR_ZERO_RETURN:
      return IoStatus::end();
    case SSL_ERROR_SYSCALL:
      if (ERR_peek_error() == 0)
        return IoStatus::failure(errno ? errno_error(what) : errno_error(what, ECONNRESET));
      [[fallthrough]];
    default:
      return IoStatus::failure(openssl_error(what));
  }
}

IoStatus UserChannel::read(std::span<std::byte> buffer) {
  ERR_clear_error();
  errno = 0;
  int n = SSL_read(ssl_.get(), buffer.data(), static_cast<int>(std::min<std::size_t>(buffer.size(), INT_MAX)));
  if (n > 0) return IoStatus::transferred(static_cast<std::size_t>(n));
  return status_after(n, "TLS read");
}

IoStatus UserChannel::write(std::span<const std::byte> data) {
  if (data.empty()) return IoStatus::transferred(0);  // as the kernel channel: nothing is done
  ERR_clear_error();
  errno = 0;
  int n = SSL_write(ssl_.get(), data.data(), static_cast<int>(std::min<std::size_t>(data.size(), INT_MAX)));
  if (n > 0) return IoStatus::transferred(static_cast<std::size_t>(n));
  return status_after(n, "TLS write");
}

// SSL_has_pending also counts records read ahead but not yet decrypted; bytes the loop received
// that OpenSSL has not taken yet are input too.
bool UserChannel::has_buffered_input() const {
  return SSL_has_pending(ssl_.get()) == 1 || (input_ && input_->unread() > 0);
}

bool UserChannel::receive_from_loop() {
  if (input_) return true;
  auto input = std::make_unique<LoopInput>(fd_.get());
  BIO* bio = input->make_bio();
  if (!bio) {
    ERR_clear_error();
    return false;
  }
  input_ = std::move(input);
  SSL_set0_rbio(ssl_.get(), bio);  // the socket BIO stays as the write side
  return true;
}

void UserChannel::lend_input(int res, std::span<const std::byte> bytes) {
  if (input_) input_->lend(res, bytes);
}

void UserChannel::settle_input() {
  if (input_) input_->settle();
}

void UserChannel::close_notify() {
  // One non-blocking attempt: a peer that can't take two dozen bytes is gone anyway.
  if (!(SSL_get_shutdown(ssl_.get()) & SSL_SENT_SHUTDOWN)) SSL_shutdown(ssl_.get());
  ERR_clear_error();
}

}  // namespace ttygate::ktls

namespace ttygate::ktls {

KeyUpdateStart UserChannel::update_keys() {
  ERR_clear_error();
  if (SSL_key_update(ssl_.get(), SSL_KEY_UPDATE_REQUESTED) != 1) {
    ERR_clear_error();
    return {KeyUpdateStart::unsupported, {}};
  }
  // Push the KeyUpdate out now rather than with the next payload; if the socket is full it goes
  // with the next write, still before any byte under the new key.
  SSL_do_handshake(ssl_.get());
  ERR_clear_error();
  return {};
}

}  // namespace ttygate::ktls
