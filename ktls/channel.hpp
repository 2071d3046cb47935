// SPDX-License-Identifier: Apache-2.0
// Channel: a session's record layer once the handshake is done, whoever does the crypto.
//
// Two implementations sit behind this one interface: UserChannel (OpenSSL's SSL_read/SSL_write
// on the socket) and KernelChannel (the kernel's TLS ULP after hand-over: plain read/write of
// plaintext, with non-data records surfacing through recvmsg control messages). The session and
// the relay never know which one they drive, except to report it.
//
// All calls are non-blocking. A call that cannot progress returns IoStatus::wait with the poll
// events to wait for (a TLS read may need the socket writable, e.g. to answer a KeyUpdate).
// Single-threaded: used from the event loop only.
#pragma once

#include <poll.h>

#include <cstddef>
#include <span>
#include <string_view>

#include "common/result.hpp"

namespace ttygate::ktls {

enum class Offload { user, kernel };
std::string_view to_string(Offload offload);  // "user" | "kernel"

struct IoStatus {
  enum Kind { done, wait, closed, failed };
  Kind kind = done;
  std::size_t bytes = 0;  // done: bytes read or written; never 0, except for a write of nothing
  short events = 0;       // wait: POLLIN and/or POLLOUT
  // failed: why. closed (an orderly end): empty when the peer ended it (close_notify or EOF);
  // set when this side did, saying why (a KeyUpdate this kernel cannot follow).
  Error error;

  static IoStatus transferred(std::size_t n) { return {done, n, 0, {}}; }
  static IoStatus wait_for(short ev) { return {wait, 0, ev, {}}; }
  static IoStatus end() { return {closed, 0, 0, {}}; }
  static IoStatus failure(Error e) { return {failed, 0, 0, std::move(e)}; }
};

struct KeyUpdateStart {
  enum Kind { started, unsupported, failed };
  Kind kind = started;
  Error error;  // failed: why
};

class Channel {
 public:
  virtual ~Channel() = default;

  virtual Offload offload() const = 0;
  virtual int fd() const = 0;

  // Plaintext from the peer. closed = the peer ended the session in order (close_notify).
  virtual IoStatus read(std::span<std::byte> buffer) = 0;
  // Plaintext to the peer; may take fewer bytes than offered.
  virtual IoStatus write(std::span<const std::byte> data) = 0;
  // True when plaintext is already buffered in user space: read() again before polling.
  virtual bool has_buffered_input() const = 0;
  // Input the event loop received for this channel (io_uring provided buffers) instead of the
  // channel reading its socket after a poll. takes_loop_input(): whether it may; lend_input():
  // what one receive brought (res: bytes, 0 at the end of stream, -errno), valid until
  // settle_input(), which copies whatever read() has not taken before the loop reuses the memory.
  // receive_from_loop() opts in where the record layer can (OpenSSL in user space); false where
  // it can't, and the channel keeps reading its socket after a poll.
  virtual bool receive_from_loop() { return false; }
  virtual bool takes_loop_input() const { return false; }
  virtual void lend_input(int /*res*/, std::span<const std::byte> /*bytes*/) {}
  virtual void settle_input() {}
  // Sends close_notify, best effort and without blocking.
  virtual void close_notify() = 0;
  // Starts a KeyUpdate that replaces the keys of both directions (update_requested): our send
  // key at once (or before the next byte of payload, when the socket is full), our receive key
  // when the peer's answering KeyUpdate arrives. unsupported when this record layer can't (a
  // kernel without TLS 1.3 re-keying): the caller then ends the session with close_notify and
  // lets the client resume, which gives fresh keys too. failed: the session is lost (error says
  // why); read and write fail from then on.
  virtual KeyUpdateStart update_keys() = 0;
  // Whether update_keys() and a peer's KeyUpdate keep the session ("keyupdate"), or end it so
  // the client resumes ("resume"). Fixed for the session's life.
  virtual bool updates_keys_in_place() const = 0;
};

}  // namespace ttygate::ktls
