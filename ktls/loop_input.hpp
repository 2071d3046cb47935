// SPDX-License-Identifier: Apache-2.0
// LoopInput: OpenSSL's read side for a user-space TLS channel whose socket the event loop
// receives from (io_uring provided buffers, daemon/buffer_ring.hpp).
//
// With OpenSSL's socket BIO every record costs the loop a poll completion and then OpenSSL a
// read(2). Here the loop's receive brings the bytes, lends them (lend()), and SSL_read takes
// them through this BIO without a system call; the BIO copies them into OpenSSL's own record
// buffer, as a socket read would. When the session stops reading with lent bytes left (the
// device queue is full, its turn is over, it closed), settle() copies them here, so the loop's
// buffer always goes back to the ring when the receive's handler returns. An idle channel holds
// no input at all.
//
// When nothing lent or kept is left, the BIO reads the socket itself, like a socket BIO: a record
// split across receives is finished in the same SSL_read, and a session the loop had to poll
// for (ring empty, -ENOBUFS) reads exactly as before. Safe because the loop never has a receive
// armed while OpenSSL reads: no byte can be taken twice or out of order.
//
// Must outlive the BIO it makes (the SSL that owns the BIO). Single-threaded.
#pragma once

#include <openssl/bio.h>

#include <cstddef>
#include <span>
#include <vector>

namespace ttygate::ktls {

class LoopInput {
 public:
  explicit LoopInput(int fd) : fd_(fd) {}
  LoopInput(const LoopInput&) = delete;
  LoopInput& operator=(const LoopInput&) = delete;

  // What one receive brought: res > 0 with bytes (valid until settle()), 0 = the peer's end of
  // stream, -errno = the socket failed (-EAGAIN, -EINTR: nothing came, nothing changes).
  void lend(int res, std::span<const std::byte> bytes);
  // The lent bytes are about to go back to the loop: what OpenSSL has not taken is copied.
  void settle();
  // Received and not yet taken by OpenSSL (lent or kept).
  std::size_t unread() const { return kept_.size() - kept_done_ + lent_.size(); }

  // A BIO reading from here (for SSL_set0_rbio). Like a socket BIO: "retry" when the socket has
  // nothing, 0 with BIO_eof() at the end of stream, -1 with errno set on a failure.
  BIO* make_bio();

 private:
  static int bio_read(BIO* bio, char* out, int size);
  static long bio_ctrl(BIO* bio, int cmd, long num, void* ptr);
  int read(char* out, int size, BIO* bio);

  int fd_;
  std::vector<std::byte> kept_;  // settled bytes, freed once taken
  std::size_t kept_done_ = 0;
  std::span<const std::byte> lent_;  // the loop's buffer, during a receive's handler only
  bool eof_ = false;
  int error_ = 0;
};

}  // namespace ttygate::ktls
