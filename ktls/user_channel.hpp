// SPDX-License-Identifier: Apache-2.0
// UserChannel: the record layer in user space, OpenSSL's SSL_read/SSL_write on the socket.
//
// Used when the kernel has no TLS ULP (or not for the negotiated suite), and by clients. Owns the
// SSL object and the socket. In the daemon, OpenSSL reads what the event loop received for it
// (ktls/loop_input.hpp) instead of polling and reading the socket per record.
#pragma once

#include <memory>

#include "common/openssl.hpp"
#include "common/unique_fd.hpp"
#include "ktls/channel.hpp"
#include "ktls/loop_input.hpp"

namespace ttygate::ktls {

class UserChannel final : public Channel {
 public:
  UserChannel(SslPtr ssl, UniqueFd fd) : ssl_(std::move(ssl)), fd_(std::move(fd)) {}

  Offload offload() const override { return Offload::user; }
  int fd() const override { return fd_.get(); }
  IoStatus read(std::span<std::byte> buffer) override;
  IoStatus write(std::span<const std::byte> data) override;
  bool has_buffered_input() const override;
  // From now on OpenSSL reads what the event loop receives (lend_input()), and the socket itself
  // only when that is used up. The handshake must be over (the socket BIO buffers nothing).
  // False when OpenSSL could not make the BIO: the channel then reads its socket as before.
  bool receive_from_loop() override;
  bool takes_loop_input() const override { return input_ != nullptr; }
  void lend_input(int res, std::span<const std::byte> bytes) override;
  void settle_input() override;
  void close_notify() override;
  KeyUpdateStart update_keys() override;
  bool updates_keys_in_place() const override { return true; }  // OpenSSL does KeyUpdate

  SSL* ssl() const { return ssl_.get(); }

 private:
  IoStatus status_after(int ret, const char* what);

  std::unique_ptr<LoopInput> input_;  // before ssl_: its BIO, inside ssl_, points here
  SslPtr ssl_;
  UniqueFd fd_;
};

}  // namespace ttygate::ktls
