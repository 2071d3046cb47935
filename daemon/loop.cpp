// SPDX-License-Identifier: Apache-2.0
#include "daemon/loop.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>

namespace ttygate::daemon {
namespace {

constexpr std::uint64_t kCancelTag = ~std::uint64_t{0};  // CQEs of cancel requests
constexpr std::uint16_t kReceiveGroup = 0;               // the one buffer group

OpId make_id(std::uint32_t index, std::uint32_t generation) {
  return (std::uint64_t{generation} << 32) | index;
}

}  // namespace

// One thread submits and reaps (SINGLE_ISSUER), and completions' task work runs only when that
// thread asks for events (DEFER_TASKRUN): a socket becoming readable while the loop is busy
// dispatching no longer interrupts it, and the work is done in one go at its next wait. Kernels
// before 6.1 refuse the flags: plain rings there.
Loop::Loop(unsigned entries, ReceiveRing receive_ring) {
  io_uring_params params{};
  params.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
  int rc = io_uring_queue_init_params(entries, &ring_, &params);
  if (rc == -EINVAL) rc = io_uring_queue_init(entries, &ring_, 0);
  if (rc < 0) throw std::system_error(-rc, std::system_category(), "io_uring_queue_init");
  make_receive_ring(receive_ring);
}

Loop::~Loop() {
  buffers_.reset();
  io_uring_queue_exit(&ring_);
}

void Loop::make_receive_ring(ReceiveRing receive_ring) {
  if (receive_ring.count == 0) {
    ring_error_ = errno_error("receive buffer ring", ENOTSUP);
    return;
  }
  auto ring = BufferRing::make(ring_, receive_ring.count, receive_ring.size, kReceiveGroup);
  if (ring) buffers_ = std::move(*ring);
  else ring_error_ = ring.error();
}

io_uring_sqe* Loop::next_sqe() {
  io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
  if (!sqe) {
    // Submission queue full: hand what we have to the kernel and take a fresh entry.
    io_uring_submit(&ring_);
    sqe = io_uring_get_sqe(&ring_);
  }
  return sqe;
}

OpId Loop::reserve(Handler handler) {
  std::uint32_t index;
  if (!free_.empty()) {
    index = free_.back();
    free_.pop_back();
  } else {
    index = static_cast<std::uint32_t>(slots_.size());
    slots_.emplace_back();
  }
  Slot& slot = slots_[index];
  slot.busy = true;
  slot.result_is_fd = false;
  slot.deferred = false;
  slot.on_receive = nullptr;
  slot.handler = std::move(handler);
  return make_id(index, slot.generation);
}

Loop::Slot* Loop::slot_of(OpId id) {
  std::uint32_t index = static_cast<std::uint32_t>(id);
  if (id == 0 || id == kCancelTag || index >= slots_.size()) return nullptr;
  Slot& slot = slots_[index];
  return slot.busy && slot.generation == (id >> 32) ? &slot : nullptr;
}

const Loop::Slot* Loop::slot_of(OpId id) const { return const_cast<Loop*>(this)->slot_of(id); }

bool Loop::pending(OpId id) const {
  const Slot* slot = slot_of(id);
  return slot && slot->handler;
}

OpId Loop::poll(int fd, unsigned events, Handler handler) {
  OpId id = reserve(std::move(handler));
  io_uring_sqe* sqe = next_sqe();
  io_uring_prep_poll_add(sqe, fd, events);
  io_uring_sqe_set_data64(sqe, id);
  return id;
}

OpId Loop::read(int fd, void* buffer, unsigned size, Handler handler) {
  OpId id = reserve(std::move(handler));
  io_uring_sqe* sqe = next_sqe();
  io_uring_prep_read(sqe, fd, buffer, size, -1);
  io_uring_sqe_set_data64(sqe, id);
  return id;
}

OpId Loop::write(int fd, const void* data, unsigned size, Handler handler) {
  OpId id = reserve(std::move(handler));
  io_uring_sqe* sqe = next_sqe();
  io_uring_prep_write(sqe, fd, data, size, -1);
  io_uring_sqe_set_data64(sqe, id);
  return id;
}

OpId Loop::receive(int fd, ReceiveHandler handler) {
  // The slot's handler only marks it live (pending(), cancel()); complete() calls on_receive.
  OpId id = reserve([](int) {});
  slots_[static_cast<std::uint32_t>(id)].on_receive = std::move(handler);
  io_uring_sqe* sqe = next_sqe();
  io_uring_prep_recv(sqe, fd, nullptr, buffers_->size(), 0);
  sqe->flags |= IOSQE_BUFFER_SELECT;
  sqe->buf_group = buffers_->group();
  io_uring_sqe_set_data64(sqe, id);
  return id;
}

OpId Loop::accept(int fd, Handler handler) {
  OpId id = reserve(std::move(handler));
  slots_[static_cast<std::uint32_t>(id)].result_is_fd = true;
  io_uring_sqe* sqe = next_sqe();
  io_uring_prep_accept(sqe, fd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
  io_uring_sqe_set_data64(sqe, id);
  return id;
}

OpId Loop::timeout(std::chrono::nanoseconds after, Handler handler) {
  OpId id = reserve(std::move(handler));
  Slot& slot = slots_[static_cast<std::uint32_t>(id)];
  slot.ts.tv_sec = after.count() / 1'000'000'000;
  slot.ts.tv_nsec = after.count() % 1'000'000'000;
  io_uring_sqe* sqe = next_sqe();
  io_uring_prep_timeout(sqe, &slot.ts, 0, 0);
  io_uring_sqe_set_data64(sqe, id);
  return id;
}

void Loop::cancel(OpId id) {
  Slot* slot = slot_of(id);
  if (!slot || !slot->handler) return;
  slot->handler = nullptr;  // the slot itself is freed when the kernel's CQE arrives
  slot->on_receive = nullptr;
  if (slot->deferred) return;  // ... or, for deferred work, when its turn comes
  io_uring_sqe* sqe = next_sqe();
  io_uring_prep_cancel64(sqe, id, 0);
  io_uring_sqe_set_data64(sqe, kCancelTag);
}

OpId Loop::defer(std::function<void()> work) {
  OpId id = reserve([work = std::move(work)](int) { work(); });
  slots_[static_cast<std::uint32_t>(id)].deferred = true;
  deferred_.push_back(id);
  return id;
}

void Loop::complete(OpId id, int res, unsigned flags) {
  // A buffer the kernel took goes back to the ring whatever became of the receive: after its
  // handler, or at once when the receive was cancelled (its owner may be gone).
  std::span<const std::byte> data;
  const bool took_buffer = buffers_ && (flags & IORING_CQE_F_BUFFER);
  const unsigned buffer_id = flags >> IORING_CQE_BUFFER_SHIFT;
  if (took_buffer) {
    ++buffers_out_;
    ++ring_received_;
    if (res > 0) data = buffers_->buffer(buffer_id).first(std::min<std::size_t>(static_cast<std::size_t>(res), buffers_->size()));
  }
  if (res == -ENOBUFS) ++ring_exhausted_;
  Slot* slot = slot_of(id);
  if (slot) {
    Handler handler = std::move(slot->handler);
    ReceiveHandler on_receive = std::move(slot->on_receive);
    const bool orphan_fd = !handler && slot->result_is_fd && res >= 0;
    slot->handler = nullptr;
    slot->on_receive = nullptr;
    slot->busy = false;
    ++slot->generation;
    free_.push_back(static_cast<std::uint32_t>(id));
    if (on_receive) on_receive(res, data);
    else if (handler) handler(res);
    else if (orphan_fd) ::close(res);  // the cancel came too late: nobody else owns it
  }
  if (took_buffer) {
    buffers_->give_back(buffer_id);
    --buffers_out_;
  }
}

unsigned Loop::run_once(std::chrono::milliseconds max_wait) {
  io_uring_cqe* cqe = nullptr;
  int rc;
  if (max_wait.count() < 0) {
    rc = io_uring_submit_and_wait(&ring_, 1);
  } else {
    // One io_uring_enter for both (the kernel's extended wait argument), not two.
    __kernel_timespec ts{max_wait.count() / 1000, (max_wait.count() % 1000) * 1'000'000};
    rc = io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, &ts, nullptr);
  }
  if (rc < 0 && rc != -EINTR && rc != -ETIME)
    throw std::system_error(-rc, std::system_category(), "io_uring wait");

  unsigned handled = 0;
  unsigned head;
  // Collect first, then dispatch: handlers may submit, which must not race the CQ walk.
  batch_.clear();
  io_uring_for_each_cqe(&ring_, head, cqe) {
    batch_.push_back({io_uring_cqe_get_data64(cqe), cqe->res, cqe->flags});
    ++handled;
  }
  io_uring_cq_advance(&ring_, handled);
  for (const Completion& c : batch_) complete(c.id, c.res, c.flags);

  while (!deferred_.empty()) {
    auto due = std::move(deferred_);
    deferred_.clear();
    for (OpId id : due) complete(id, 0, 0);  // a cancelled one only frees its slot
  }
  return handled;
}

void Loop::run() {
  stopping_ = false;
  while (!stopping_) run_once();
}

}  // namespace ttygate::daemon
