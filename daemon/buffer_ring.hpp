// SPDX-License-Identifier: Apache-2.0
// BufferRing: the loop's io_uring provided buffers, one shared ring for every session's receive.
//
// A receive armed with buffer selection owns no memory while it waits: the kernel takes a
// buffer from this ring only when bytes arrive, and the loop gives it back as soon as the
// completion's handler returns. An idle session therefore costs nothing here, and the ring's
// memory is fixed for the gateway's life (count × size, mapped and touched once at start, so it
// is never counted against the sessions that happen to receive first).
//
// Registered with io_uring_register_buf_ring (kernel 5.19+); make() fails on older kernels, and
// the loop then receives the way it always did (poll, then read in OpenSSL). Owned by the Loop,
// unregistered before its ring is torn down. Single-threaded.
#pragma once

#include <liburing.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "common/result.hpp"

namespace ttygate::daemon {

class BufferRing {
 public:
  // count: a power of two up to 32768. group: the buffer group id receives select from.
  static Result<std::unique_ptr<BufferRing>> make(io_uring& ring, unsigned count, unsigned size,
                                                  std::uint16_t group);
  ~BufferRing();
  BufferRing(const BufferRing&) = delete;
  BufferRing& operator=(const BufferRing&) = delete;

  std::uint16_t group() const { return group_; }
  unsigned size() const { return size_; }
  unsigned count() const { return count_; }
  // The buffer the kernel filled (its id from the CQE's flags), or empty for an unknown id.
  std::span<std::byte> buffer(unsigned id) const;
  // Back into the ring: the kernel may pick it for the next receive.
  void give_back(unsigned id);

 private:
  BufferRing(io_uring& ring, void* memory, std::size_t bytes, unsigned count, unsigned size, std::uint16_t group);

  io_uring& ring_;
  void* memory_;       // the ring's entries, then the buffers
  std::size_t bytes_;  // of the whole mapping
  io_uring_buf_ring* entries_;
  std::byte* buffers_;
  unsigned count_;
  unsigned size_;
  std::uint16_t group_;
};

}  // namespace ttygate::daemon
