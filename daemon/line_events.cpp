// SPDX-License-Identifier: Apache-2.0
#include "daemon/line_events.hpp"

#include <linux/serial.h>
#include <sys/ioctl.h>

#include "common/rfc2217.hpp"

namespace ttygate::daemon {

Result<LineCounts> TtyCounters::read() {
  serial_icounter_struct icount{};
  if (::ioctl(fd_, TIOCGICOUNT, &icount) < 0) return errno_error("reading the line's error counters");
  auto count = [](int n) { return static_cast<std::uint32_t>(n); };
  return LineCounts{count(icount.brk), count(icount.frame), count(icount.parity), count(icount.overrun),
                    count(icount.buf_overrun)};
}

std::uint8_t grown_events(const LineCounts& before, const LineCounts& now) {
  namespace linestate = rfc2217::linestate;
  return static_cast<std::uint8_t>(
      (now.brk != before.brk ? linestate::break_detect : 0) | (now.frame != before.frame ? linestate::framing : 0) |
      (now.parity != before.parity ? linestate::parity : 0) |
      (now.overrun != before.overrun || now.buf_overrun != before.buf_overrun ? linestate::overrun : 0));
}

}  // namespace ttygate::daemon
