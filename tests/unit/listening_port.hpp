// SPDX-License-Identifier: Apache-2.0
// A listening socket on 127.0.0.1 with an ephemeral port, bound through Listener::bind, and
// connect() to it: the listener tests' fixture.
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "common/unique_fd.hpp"
#include "daemon/listener.hpp"

namespace ttygate::daemon::testing {

struct ListeningPort {
  UniqueFd fd;
  sockaddr_in addr{};
  ListeningPort() {
    ListenAddress any;
    auto* in = reinterpret_cast<sockaddr_in*>(&any.addr);
    in->sin_family = AF_INET;
    in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    any.length = sizeof(sockaddr_in);
    any.text = "127.0.0.1:0";
    auto bound = Listener::bind(any);
    EXPECT_TRUE(bound);
    fd = std::move(*bound);
    socklen_t len = sizeof addr;
    EXPECT_EQ(::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&addr), &len), 0);
  }
  UniqueFd connect() const {
    UniqueFd c(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    EXPECT_EQ(::connect(c.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr), 0);
    return c;
  }
};

}  // namespace ttygate::daemon::testing
