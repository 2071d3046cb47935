// SPDX-License-Identifier: Apache-2.0
// A relay's device without a serial port: one end of a socketpair handed to the relay, the other
// kept by the test to play the device. The relay tests' and the session tests' device.
#pragma once

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "common/unique_fd.hpp"
#include "daemon/relay.hpp"

namespace ttygate::test_support {

// Use as ASSERT_TRUE(adopt_socket_device(relay_, device_)); device is the test's end. The relay's
// end has a small send buffer (a stream socket's writer is what it limits), so the device lags
// and backpressure shows after kilobytes, not after the kernel's default hundreds.
inline ::testing::AssertionResult adopt_socket_device(daemon::Relay& relay, UniqueFd& device) {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0)
    return ::testing::AssertionFailure() << "socketpair: " << std::strerror(errno);
  device = UniqueFd(fds[0]);
  UniqueFd relay_end(fds[1]);
  int small = 4096;
  if (::setsockopt(relay_end.get(), SOL_SOCKET, SO_SNDBUF, &small, sizeof small) != 0)
    return ::testing::AssertionFailure() << "SO_SNDBUF: " << std::strerror(errno);
  relay.adopt_device(std::move(relay_end));
  return ::testing::AssertionSuccess();
}

}  // namespace ttygate::test_support
