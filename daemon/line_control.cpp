// SPDX-License-Identifier: Apache-2.0
#include "daemon/line_control.hpp"

#include <sys/ioctl.h>

#include "daemon/serial_port.hpp"

namespace ttygate::daemon {

LineSettings settings_of(const PortConfig& port) {
  LineSettings s;
  s.baud = port.baud;
  s.data_bits = port.data_bits;
  s.parity = port.parity == Parity::odd ? LineParity::odd : port.parity == Parity::even ? LineParity::even : LineParity::none;
  s.stop_bits = port.stop_bits;
  s.flow = port.flow;
  return s;
}

bool to_termios(const LineSettings& settings, termios& tio) {
  speed_t speed = baud_constant(settings.baud);
  if (speed == B0) return false;
  static constexpr tcflag_t kSizes[] = {CS5, CS6, CS7, CS8};
  tio.c_cflag &= ~(CSIZE | PARENB | PARODD | CMSPAR | CSTOPB | CRTSCTS);
  tio.c_cflag |= kSizes[(settings.data_bits < 5 || settings.data_bits > 8) ? 3 : settings.data_bits - 5];
  switch (settings.parity) {
    case LineParity::none: break;
    case LineParity::odd: tio.c_cflag |= PARENB | PARODD; break;
    case LineParity::even: tio.c_cflag |= PARENB; break;
    case LineParity::mark: tio.c_cflag |= PARENB | CMSPAR | PARODD; break;
    case LineParity::space: tio.c_cflag |= PARENB | CMSPAR; break;
  }
  if (settings.stop_bits == 2) tio.c_cflag |= CSTOPB;
  tio.c_iflag &= ~(IXON | IXOFF | IXANY);
  if (settings.flow == Flow::rtscts) tio.c_cflag |= CRTSCTS;
  if (settings.flow == Flow::xonxoff) tio.c_iflag |= IXON | IXOFF;
  cfsetispeed(&tio, speed);
  cfsetospeed(&tio, speed);
  return true;
}

LineSettings from_termios(const termios& tio) {
  LineSettings s;
  s.baud = baud_rate_of(cfgetospeed(&tio));
  switch (tio.c_cflag & CSIZE) {
    case CS5: s.data_bits = 5; break;
    case CS6: s.data_bits = 6; break;
    case CS7: s.data_bits = 7; break;
    default: s.data_bits = 8; break;
  }
  if (!(tio.c_cflag & PARENB)) s.parity = LineParity::none;
  else if (tio.c_cflag & CMSPAR) s.parity = (tio.c_cflag & PARODD) ? LineParity::mark : LineParity::space;
  else s.parity = (tio.c_cflag & PARODD) ? LineParity::odd : LineParity::even;
  s.stop_bits = (tio.c_cflag & CSTOPB) ? 2 : 1;
  s.flow = (tio.c_cflag & CRTSCTS) ? Flow::rtscts : (tio.c_iflag & IXON) ? Flow::xonxoff : Flow::none;
  return s;
}

Result<LineSettings> LineControl::read() const {
  termios tio{};
  if (::tcgetattr(fd_, &tio) < 0) return errno_error("reading the line settings");
  return from_termios(tio);
}

Result<LineSettings> LineControl::apply(const LineSettings& wanted) {
  termios tio{};
  if (::tcgetattr(fd_, &tio) < 0) return errno_error("reading the line settings");
  if (!to_termios(wanted, tio)) return Error(std::make_error_code(std::errc::invalid_argument), "baud rate");
  if (::tcsetattr(fd_, TCSANOW, &tio) < 0) return errno_error("changing the line settings");
  return read();
}

Result<int> LineControl::modem_lines() const {
  int bits = 0;
  if (::ioctl(fd_, TIOCMGET, &bits) < 0) return errno_error("reading the modem lines");
  return bits;
}

Result<void> LineControl::set_modem_lines(int bits, bool on) {
  if (::ioctl(fd_, on ? TIOCMBIS : TIOCMBIC, &bits) < 0) return errno_error("setting the modem lines");
  return success();
}

Result<void> LineControl::set_break(bool on) {
  if (::ioctl(fd_, on ? TIOCSBRK : TIOCCBRK) < 0) return errno_error(on ? "starting a break" : "ending a break");
  return success();
}

Result<void> LineControl::flush(int queue) {
  if (::tcflush(fd_, queue) < 0) return errno_error("discarding queued data");
  return success();
}

}  // namespace ttygate::daemon
