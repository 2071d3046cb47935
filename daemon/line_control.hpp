// SPDX-License-Identifier: Apache-2.0
// LineControl: the tty's line, read and changed while it relays: framing and flow (termios),
// modem lines (TIOCMGET/TIOCMBIS/TIOCMBIC), break (TIOCSBRK/TIOCCBRK) and queues (tcflush).
//
// Every change is read back: callers answer with what the driver has in effect, never with what
// was asked. The termios mapping is pure (to_termios/from_termios) and tested without a tty; the
// fd is borrowed from the Relay, which owns it. A driver without modem lines (a pty) answers
// ENOTTY: the lines then read as all inactive and cannot be set.
#pragma once

#include <termios.h>

#include <cstdint>

#include "common/result.hpp"
#include "daemon/config.hpp"

namespace ttygate::daemon {

enum class LineParity { none, odd, even, mark, space };

struct LineSettings {
  unsigned baud = 115200;
  unsigned data_bits = 8;  // 5..8
  LineParity parity = LineParity::none;
  unsigned stop_bits = 1;  // 1 or 2
  Flow flow = Flow::none;
  bool operator==(const LineSettings&) const = default;
};

LineSettings settings_of(const PortConfig& port);
// Changes only framing, speed and flow in `tio`; false when the baud has no termios constant.
bool to_termios(const LineSettings& settings, termios& tio);
LineSettings from_termios(const termios& tio);

class LineControl {
 public:
  explicit LineControl(int fd) : fd_(fd) {}

  Result<LineSettings> read() const;
  // One tcsetattr with all of `wanted`, then what the tty has afterwards.
  Result<LineSettings> apply(const LineSettings& wanted);
  // TIOCM_* bits; ENOTTY when the driver has no modem lines.
  Result<int> modem_lines() const;
  Result<void> set_modem_lines(int bits, bool on);
  Result<void> set_break(bool on);
  // TCIFLUSH, TCOFLUSH or TCIOFLUSH.
  Result<void> flush(int queue);

 private:
  int fd_;
};

}  // namespace ttygate::daemon
