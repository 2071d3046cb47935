// SPDX-License-Identifier: Apache-2.0
// RecordSocket: the kernel TLS socket calls a KernelChannel makes, behind one seam.
//
// A KernelChannel decides what records mean and when keys move (KeyUpdate); the socket under it
// only moves records and takes keys. KernelRecordSocket is the real one (recvmsg/sendmsg with
// SOL_TLS control messages, setsockopt(SOL_TLS)); unit tests put a fake behind the same calls to
// drive the KeyUpdate state machine without a kernel.
//
// Every call is non-blocking and returns a negative errno on failure, as the kernel gave it
// (EAGAIN, EBADMSG, EKEYEXPIRED, ...). Single-threaded, like the channel that owns it.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "common/result.hpp"
#include "common/unique_fd.hpp"
#include "ktls/key_schedule.hpp"

namespace ttygate::ktls {

class RecordSocket {
 public:
  virtual ~RecordSocket() = default;

  virtual int fd() const = 0;
  // One record's plaintext into buffer (recvmsg with a TLS_GET_RECORD_TYPE control message);
  // type is its content type (application data when the kernel sent none). 0 at EOF.
  virtual ssize_t receive(std::span<std::byte> buffer, std::uint8_t& type) = 0;
  // Application data (send); may take fewer bytes than offered.
  virtual ssize_t send(std::span<const std::byte> data) = 0;
  // One record of another content type (sendmsg with TLS_SET_RECORD_TYPE), under the current key.
  virtual ssize_t send_record(std::uint8_t type, std::span<const std::byte> payload) = 0;
  // Derives key and IV from secret and installs them for TLS_TX or TLS_RX, records numbered
  // from 0. On a kernel that can re-key this replaces the direction's key in place.
  virtual Result<void> install(int direction, Suite suite, std::span<const std::uint8_t> secret) = 0;
};

// The real socket: fd carries the kernel's TLS ULP with both directions' keys installed.
std::unique_ptr<RecordSocket> kernel_record_socket(UniqueFd fd);

// One record of content type `type` on a kernel TLS socket (sendmsg with TLS_SET_RECORD_TYPE,
// non-blocking): the bytes taken, or a negative errno. KernelRecordSocket::send_record, for
// tools that hold a bare socket.
ssize_t send_tls_record(int fd, std::uint8_t type, std::span<const std::byte> payload);

}  // namespace ttygate::ktls
