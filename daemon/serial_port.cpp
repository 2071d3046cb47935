#include "daemon/serial_port.hpp"

#include <fcntl.h>
#include <sys/ioctl.h>

#include <array>
#include <utility>

namespace ttygate::daemon {

namespace {

constexpr std::pair<unsigned, speed_t> kRates[] = {
    {50, B50},         {75, B75},         {110, B110},       {134, B134},       {150, B150},
    {200, B200},       {300, B300},       {600, B600},       {1200, B1200},     {1800, B1800},
    {2400, B2400},     {4800, B4800},     {9600, B9600},     {19200, B19200},   {38400, B38400},
    {57600, B57600},   {115200, B115200}, {230400, B230400}, {460800, B460800}, {500000, B500000},
    {576000, B576000}, {921600, B921600}, {1000000, B1000000}, {1152000, B1152000},
    {1500000, B1500000}, {2000000, B2000000}, {2500000, B2500000}, {3000000, B3000000},
    {3500000, B3500000}, {4000000, B4000000},
};

constexpr auto kBauds = [] {
  std::array<unsigned, std::size(kRates)> bauds{};
  for (std::size_t i = 0; i < bauds.size(); ++i) bauds[i] = kRates[i].first;
  return bauds;
}();

}  // namespace

speed_t baud_constant(unsigned baud) {
  for (auto [rate, constant] : kRates)
    if (rate == baud) return constant;
  return B0;
}

std::span<const unsigned> supported_baud_rates() { return kBauds; }

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
