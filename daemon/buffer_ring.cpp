// SPDX-License-Identifier: Apache-2.0
#include "daemon/buffer_ring.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>

namespace ttygate::daemon {

Result<std::unique_ptr<BufferRing>> BufferRing::make(io_uring& ring, unsigned count, unsigned size,
                                                     std::uint16_t group) {
  if (count == 0 || count > 32768 || (count & (count - 1)) != 0 || size == 0)
    return errno_error("buffer ring of " + std::to_string(count) + " × " + std::to_string(size) + " bytes", EINVAL);
  // The entries must start on a page; the buffers follow them in the same mapping. Populated at
  // once: the ring's pages are the gateway's fixed cost, not the first sessions'.
  const std::size_t entries = count * sizeof(io_uring_buf);
  const std::size_t bytes = entries + std::size_t{count} * size;
  void* memory = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
  if (memory == MAP_FAILED) return errno_error("map the receive buffer ring");
  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<std::uintptr_t>(memory);
  reg.ring_entries = count;
  reg.bgid = group;
  if (int rc = io_uring_register_buf_ring(&ring, &reg, 0); rc < 0) {
    ::munmap(memory, bytes);
    return errno_error("register the receive buffer ring", -rc);
  }
  return std::unique_ptr<BufferRing>(new BufferRing(ring, memory, bytes, count, size, group));
}

BufferRing::BufferRing(io_uring& ring, void* memory, std::size_t bytes, unsigned count, unsigned size,
                       std::uint16_t group)
    : ring_(ring),
      memory_(memory),
      bytes_(bytes),
      entries_(static_cast<io_uring_buf_ring*>(memory)),
      buffers_(static_cast<std::byte*>(memory) + count * sizeof(io_uring_buf)),
      count_(count),
      size_(size),
      group_(group) {
  io_uring_buf_ring_init(entries_);
  const int mask = io_uring_buf_ring_mask(count_);
  for (unsigned id = 0; id < count_; ++id)
    io_uring_buf_ring_add(entries_, buffers_ + std::size_t{id} * size_, size_, static_cast<unsigned short>(id), mask,
                          static_cast<int>(id));
  io_uring_buf_ring_advance(entries_, static_cast<int>(count_));
}

BufferRing::~BufferRing() {
  io_uring_unregister_buf_ring(&ring_, group_);
  ::munmap(memory_, bytes_);
}

std::span<std::byte> BufferRing::buffer(unsigned id) const {
  if (id >= count_) return {};
  return {buffers_ + std::size_t{id} * size_, size_};
}

void BufferRing::give_back(unsigned id) {
  if (id >= count_) return;
  io_uring_buf_ring_add(entries_, buffers_ + std::size_t{id} * size_, size_, static_cast<unsigned short>(id),
                        io_uring_buf_ring_mask(count_), 0);
  io_uring_buf_ring_advance(entries_, 1);
}

}  // namespace ttygate::daemon
