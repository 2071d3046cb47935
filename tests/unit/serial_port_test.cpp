// SPDX-License-Identifier: Apache-2.0
#include "daemon/serial_port.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <pty.h>
#include <unistd.h>

#include <filesystem>

using namespace ttygate::daemon;

namespace {

PortConfig port(unsigned baud, unsigned bits, Parity parity, unsigned stop, Flow flow) {
  PortConfig p;
  p.name = "t";
  p.baud = baud;
  p.data_bits = bits;
  p.parity = parity;
  p.stop_bits = stop;
  p.flow = flow;
  return p;
}

}  // namespace

TEST(BaudConstant, KnowsTheTermiosRatesAndRejectsOthers) {
  EXPECT_EQ(baud_constant(9600), B9600);
  EXPECT_EQ(baud_constant(115200), B115200);
  EXPECT_EQ(baud_constant(4000000), B4000000);
  EXPECT_EQ(baud_constant(12345), B0);
}

struct LineCase {
  PortConfig port;
  tcflag_t cflag_set, cflag_clear, iflag_set;
};

class LineSettings : public testing::TestWithParam<LineCase> {};

TEST_P(LineSettings, TranslateToRawTermios) {
  const LineCase& c = GetParam();
  termios tio{};
  tio.c_lflag = ECHO | ICANON | ISIG;  // what a fresh tty has; raw mode must clear them
  tio.c_oflag = OPOST | ONLCR;
  tio.c_iflag = ICRNL;
  apply_line_settings(tio, c.port);
  EXPECT_EQ(tio.c_cflag & c.cflag_set, c.cflag_set);
  EXPECT_EQ(tio.c_cflag & c.cflag_clear, 0u);
  EXPECT_EQ(tio.c_iflag & c.iflag_set, c.iflag_set);
  EXPECT_EQ(tio.c_lflag & (ECHO | ICANON | ISIG), 0u);
  EXPECT_EQ(tio.c_oflag & OPOST, 0u);
  EXPECT_EQ(tio.c_iflag & ICRNL, 0u);
  EXPECT_EQ(cfgetospeed(&tio), baud_constant(c.port.baud));
  EXPECT_EQ(tio.c_cc[VMIN], 1);
}

INSTANTIATE_TEST_SUITE_P(
    Table, LineSettings,
    testing::Values(LineCase{port(115200, 8, Parity::none, 1, Flow::none), CS8 | CREAD | CLOCAL,
                             PARENB | CSTOPB | CRTSCTS, 0},
                    LineCase{port(9600, 7, Parity::even, 1, Flow::none), CS7 | PARENB, PARODD | CSTOPB, 0},
                    LineCase{port(19200, 8, Parity::odd, 2, Flow::rtscts), PARENB | PARODD | CSTOPB | CRTSCTS, 0, 0},
                    LineCase{port(57600, 5, Parity::none, 1, Flow::xonxoff), CS5, PARENB | CRTSCTS, IXON | IXOFF}));

TEST(OpenSerialPort, OpensAPtyInRawModeNonBlocking) {
  int master, slave;
  ASSERT_EQ(openpty(&master, &slave, nullptr, nullptr, nullptr), 0);
  PortConfig p = port(115200, 8, Parity::none, 1, Flow::none);
  p.device = ttyname(slave);
  auto fd = open_serial_port(p);
  ASSERT_TRUE(fd.ok()) << fd.error().message();
  EXPECT_TRUE(fcntl(fd->get(), F_GETFL) & O_NONBLOCK);
  EXPECT_TRUE(fcntl(fd->get(), F_GETFD) & FD_CLOEXEC);
  termios tio{};
  ASSERT_EQ(tcgetattr(fd->get(), &tio), 0);
  EXPECT_EQ(tio.c_lflag & ECHO, 0u);
  close(master);
  close(slave);
}

TEST(OpenSerialPort, RefusesAFileThatIsNotATerminalNamingIt) {
  auto path = std::filesystem::temp_directory_path() / "ttygate-not-a-tty";
  { int f = ::open(path.c_str(), O_CREAT | O_WRONLY, 0600); ::close(f); }
  PortConfig p = port(115200, 8, Parity::none, 1, Flow::none);
  p.device = path;
  auto fd = open_serial_port(p);
  ASSERT_FALSE(fd.ok());
  EXPECT_NE(fd.error().message().find(path.string()), std::string::npos) << fd.error().message();
  std::filesystem::remove(path);
}

TEST(OpenSerialPort, NamesAMissingDevice) {
  PortConfig p = port(115200, 8, Parity::none, 1, Flow::none);
  p.device = "/nonexistent/ttyUSB9";
  auto fd = open_serial_port(p);
  ASSERT_FALSE(fd.ok());
  EXPECT_EQ(fd.error().message(), "opening /nonexistent/ttyUSB9: No such file or directory");
}
