// SPDX-License-Identifier: Apache-2.0
// Line events: break, framing, parity and overrun errors the UART saw, as RFC 2217's
// NOTIFY-LINESTATE bits. The tty is read in raw mode without PARMRK, so these events never show
// in the data; the driver counts them instead (TIOCGICOUNT: brk, frame, parity, overrun,
// buf_overrun), and a counter that grew between two polls is an event to report.
//
// The counters sit behind LineCounters so PortLine's polling is tested with counts a test
// feeds; TtyCounters is the kernel's. A driver without counters (a pty: EINVAL or ENOTTY) is
// found out once, when the port adopts the tty, and is never polled. Single-threaded, on the loop.
#pragma once

#include <cstdint>

#include "common/result.hpp"

namespace ttygate::daemon {

// The driver's error counters (struct serial_icounter_struct's), since the port was set up.
struct LineCounts {
  std::uint32_t brk = 0, frame = 0, parity = 0, overrun = 0, buf_overrun = 0;
  bool operator==(const LineCounts&) const = default;
};

class LineCounters {
 public:
  virtual ~LineCounters() = default;
  virtual Result<LineCounts> read() = 0;
};

// TIOCGICOUNT on a borrowed tty fd.
class TtyCounters final : public LineCounters {
 public:
  explicit TtyCounters(int fd) : fd_(fd) {}
  Result<LineCounts> read() override;

 private:
  int fd_;
};

// The RFC 2217 line-state event bits (break detect, framing, parity, overrun) of the counters
// that changed from `before` to `now`; an overrun of the UART's FIFO and of the tty's buffer
// are both "overrun". Compared with != so a counter that wrapped still counts.
std::uint8_t grown_events(const LineCounts& before, const LineCounts& now);

}  // namespace ttygate::daemon
