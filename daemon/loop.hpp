// SPDX-License-Identifier: Apache-2.0
// Loop: the daemon's one io_uring event loop.
//
// Everything that waits goes through here: accept, poll readiness of TLS sockets, receives into
// the shared buffer ring, reads and writes on the tty, timers, the signalfd, the D-Bus socket
// and the pairing button. An operation is armed with a handler and completes exactly once; its
// handler then runs with the CQE's result. Work deferred to the end of the current batch is an operation too: it has an
// id and an Op can cancel it, like any other.
//
// user_data is encoded in one place (OpId: slot index + generation). A slot stays reserved
// until the kernel posts its CQE, even after cancel(), so buffers and timespecs it refers to
// stay valid and a late CQE can never reach a handler that was cancelled: cancelled slots have
// no handler, and stale generations are ignored.
//
// Handlers may arm and cancel freely. Objects that must die while a handler of theirs is on the
// stack hand themselves to defer(): deferred work runs after the current batch of completions,
// unless it was cancelled first (its owner went away).
// Single-threaded.
#pragma once

#include <liburing.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <span>
#include <vector>

#include "common/result.hpp"
#include "daemon/buffer_ring.hpp"

namespace ttygate::daemon {

using OpId = std::uint64_t;  // 0 = none
using Handler = std::function<void(int res)>;
// res: bytes, 0 at the peer's end of stream, or -errno (-ENOBUFS: the ring was empty, nothing
// was taken from the socket). data: what arrived, valid only until the handler returns.
using ReceiveHandler = std::function<void(int res, std::span<const std::byte> data)>;

// The shared receive ring: how many buffers of how many bytes (count 0: none). 256 × 2 KiB:
// a buffer is held only from the kernel's completion to the end of its handler, so the ring
// needs as many as there are sessions receiving in one wake-up, not one per session; 2 KiB
// holds an interactive burst (a line, a paste, one Ethernet segment) and a larger record is
// finished by OpenSSL's own read in the same SSL_read. 516 KiB per gateway, fixed.
struct ReceiveRing {
  unsigned count = 256;
  unsigned size = 2048;
};

class Loop {
 public:
  // Throws std::system_error when io_uring is unavailable. A buffer ring the kernel refuses
  // (before 5.19) is not an error: receive_ring_error() says why, and receives are not offered.
  explicit Loop(unsigned entries = 512, ReceiveRing receive_ring = {});
  ~Loop();
  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;

  OpId poll(int fd, unsigned events, Handler handler);        // res: revents or -errno
  OpId read(int fd, void* buffer, unsigned size, Handler handler);   // res: bytes or -errno
  OpId write(int fd, const void* data, unsigned size, Handler handler);
  // A recv that takes a buffer from the shared ring only when bytes arrive; the buffer goes
  // back to the ring when the handler returns (or at once, when the receive was cancelled).
  // Only when receives_into_ring().
  OpId receive(int fd, ReceiveHandler handler);
  bool receives_into_ring() const { return buffers_ != nullptr; }
  const Error& receive_ring_error() const { return ring_error_; }
  // Receives that brought bytes in a ring buffer, those that found the ring empty (-ENOBUFS),
  // and buffers now out of the ring (0 between batches).
  std::uint64_t ring_received() const { return ring_received_; }
  std::uint64_t ring_exhausted() const { return ring_exhausted_; }
  unsigned buffers_out() const { return buffers_out_; }
  // res: new fd (O_CLOEXEC|O_NONBLOCK). If the accept is cancelled but the kernel had already
  // taken a connection, the loop closes that fd: it would otherwise leak, and its client would
  // wait for a handshake that never comes.
  OpId accept(int fd, Handler handler);
  OpId timeout(std::chrono::nanoseconds after, Handler handler);  // res: -ETIME when it fired
  // The handler will not run; the kernel's CQE is swallowed when it arrives. Stale ids are ignored.
  void cancel(OpId id);
  bool pending(OpId id) const;

  // Runs `work` after the current batch of completions (res 0). Never touches io_uring: the
  // slot is kept in user space until then, and cancel() simply forgets it.
  OpId defer(std::function<void()> work);

  // Waits for completions and dispatches them until stop() is called.
  void run();
  void stop() { stopping_ = true; }
  // One round: submit, wait for at least one completion (or the timeout), dispatch the batch,
  // run deferred work. Returns the number of completions handled. For tests and run().
  unsigned run_once(std::chrono::milliseconds max_wait = std::chrono::milliseconds(-1));
  // IORING_SETUP_* flags the ring was made with (kernels before 6.1 refuse the deferred ones).
  unsigned setup_flags() const { return ring_.flags; }

 private:
  struct Slot {
    std::uint32_t generation = 1;
    bool busy = false;
    Handler handler;  // empty once cancelled
    bool result_is_fd = false;  // an accept: a cancelled one's fd is closed on completion
    bool deferred = false;      // defer(): no kernel operation behind it
    ReceiveHandler on_receive;  // receive(): called instead of handler, with the bytes
    __kernel_timespec ts{};
  };

  io_uring_sqe* next_sqe();
  OpId reserve(Handler handler);
  Slot* slot_of(OpId id);
  const Slot* slot_of(OpId id) const;
  void complete(OpId id, int res, unsigned flags);
  void make_receive_ring(ReceiveRing receive_ring);

  io_uring ring_{};
  std::unique_ptr<BufferRing> buffers_;  // after ring_: unregistered before the ring goes
  Error ring_error_;
  std::uint64_t ring_received_ = 0;
  std::uint64_t ring_exhausted_ = 0;
  unsigned buffers_out_ = 0;
  // A deque, not a vector: a timeout's timespec is read by the kernel at submission, which may
  // come after more operations were armed; growing must never move a slot.
  std::deque<Slot> slots_;
  std::vector<std::uint32_t> free_;
  std::vector<OpId> deferred_;
  struct Completion {
    OpId id;
    int res;
    unsigned flags;
  };
  std::vector<Completion> batch_;
  bool stopping_ = false;
};

// Op: owns one armed operation; cancels it when destroyed or reset. Owners hold one per kind
// of wait (e.g. a session's readable/writable/timer), so their destruction can't leave a
// handler pointing at freed memory.
class Op {
 public:
  Op() = default;
  Op(Op&& other) noexcept : loop_(other.loop_), id_(std::exchange(other.id_, 0)) {}
  Op& operator=(Op&& other) noexcept {
    if (this != &other) {
      reset();
      loop_ = other.loop_;
      id_ = std::exchange(other.id_, 0);
    }
    return *this;
  }
  Op(const Op&) = delete;
  Op& operator=(const Op&) = delete;
  ~Op() { reset(); }

  void set(Loop& loop, OpId id) {
    reset();
    loop_ = &loop;
    id_ = id;
  }
  bool armed() const { return loop_ && loop_->pending(id_); }
  void reset() {
    if (loop_ && id_) loop_->cancel(id_);
    id_ = 0;
  }

 private:
  Loop* loop_ = nullptr;
  OpId id_ = 0;
};

}  // namespace ttygate::daemon
