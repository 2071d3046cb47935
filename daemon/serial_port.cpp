// SPDX-License-Identifier: Apache-2.0
#include "daemon/serial_port.hpp"

#include <fcntl.h>
#include <sys/ioctl.h>

namespace ttygate::daemon {

void apply_line_settings(termios& tio, const PortConfig& port) {
  cfmakeraw(&tio);
  tio.c_cflag |= CLOCAL | CREAD;
  tio.c_cflag &= ~(CSIZE | PARENB | PARODD | CSTOPB | CRTSCTS);
  static constexpr tcflag_t kSizes[] = {CS5, CS6, CS7, CS8};
  tio.c_cflag |= kSizes[(port.data_bits < 5 || port.data_bits > 8) ? 3 : port.data_bits - 5];
  if (port.parity != Parity::none) tio.c_cflag |= PARENB;
  if (port.parity == Parity::odd) tio.c_cflag |= PARODD;
  if (port.stop_bits == 2) tio.c_cflag |= CSTOPB;
  tio.c_iflag &= ~(IXON | IXOFF | IXANY);
  if (port.flow == Flow::rtscts) tio.c_cflag |= CRTSCTS;
  if (port.flow == Flow::xonxoff) tio.c_iflag |= IXON | IXOFF;
  tio.c_cc[VMIN] = 1;
  tio.c_cc[VTIME] = 0;
  speed_t speed = baud_constant(port.baud);
  cfsetispeed(&tio, speed);
  cfsetospeed(&tio, speed);
}

Result<UniqueFd> open_serial_port(const PortConfig& port) {
  const std::string where = port.device.string();
  UniqueFd fd(::open(port.device.c_str(), O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC));
  if (!fd) return errno_error("opening " + where);
  if (::ioctl(fd.get(), TIOCEXCL) < 0) return errno_error("taking " + where + " exclusively");
  termios tio{};
  if (::tcgetattr(fd.get(), &tio) < 0) return errno_error(where + " is not a terminal");
  apply_line_settings(tio, port);
  if (::tcsetattr(fd.get(), TCSANOW, &tio) < 0) return errno_error("configuring " + where);
  ::tcflush(fd.get(), TCIOFLUSH);
  return fd;
}

}  // namespace ttygate::daemon
