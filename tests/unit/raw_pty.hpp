// SPDX-License-Identifier: Apache-2.0
// A pty pair that starts raw at 115200 baud, as a serial device looks before anyone configures
// it: the device the com_port and line_follow tests drive. Both ends close with their UniqueFd.
#pragma once

#include <gtest/gtest.h>
#include <pty.h>
#include <termios.h>

#include <cerrno>
#include <cstring>

#include "common/unique_fd.hpp"

namespace ttygate::test_support {

// Use as ASSERT_TRUE(open_raw_pty(master_, slave_)) in a fixture's SetUp.
inline ::testing::AssertionResult open_raw_pty(UniqueFd& master, UniqueFd& slave) {
  int master_fd = -1, slave_fd = -1;
  termios raw{};
  cfmakeraw(&raw);
  cfsetspeed(&raw, B115200);
  if (::openpty(&master_fd, &slave_fd, nullptr, &raw, nullptr) != 0)
    return ::testing::AssertionFailure() << "openpty: " << std::strerror(errno);
  master = UniqueFd(master_fd);
  slave = UniqueFd(slave_fd);
  return ::testing::AssertionSuccess();
}

}  // namespace ttygate::test_support
