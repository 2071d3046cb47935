// SPDX-License-Identifier: Apache-2.0
// Loop: the daemon's one io_uring event loop.
//
// Everything that waits goes through here: accept, poll readiness of TLS sockets, reads and
// writes on the tty, timers, the signalfd, the D-Bus socket and the pairing button. An
// operation is armed with a handler and completes exactly once; its handler then runs with the
// CQE's result. Work deferred to the end of the current batch is an operation too: it has an
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
#include <functional>
#include <deque>
#include <vector>

#include "common/result.hpp"

namespace ttygate::daemon {

using OpId = std::uint64_t;  // 0 = none
using Handler = std::function<void(int res)>;

class Loop {
 public:
  explicit Loop(unsigned entries = 512);  // throws std::system_error when io_uring is unavailable
  ~Loop();
  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;

  OpId poll(int fd, unsigned events, Handler handler);        // res: revents or -errno
  OpId read(int fd, void* buffer, unsigned size, Handler handler);   // res: bytes or -errno
  OpId write(int fd, const void* data, unsigned size, Handler handler);
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
    __kernel_timespec ts{};
  };

  io_uring_sqe* next_sqe();
  OpId reserve(Handler handler);
  Slot* slot_of(OpId id);
  const Slot* slot_of(OpId id) const;
  void complete(OpId id, int res);

  io_uring ring_{};
  // A deque, not a vector: a timeout's timespec is read by the kernel at submission, which may
  // come after more operations were armed; growing must never move a slot.
  std::deque<Slot> slots_;
  std::vector<std::uint32_t> free_;
  std::vector<OpId> deferred_;
  std::vector<std::pair<OpId, int>> batch_;
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
