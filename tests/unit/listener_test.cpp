// SPDX-License-Identifier: Apache-2.0
#include "daemon/listener.hpp"
#include "listening_port.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <chrono>
#include <vector>

#include "common/unique_fd.hpp"

using namespace std::chrono_literals;
using ttygate::UniqueFd;
using ttygate::daemon::Cidr;
using ttygate::daemon::ListenAddress;
using ttygate::daemon::Listener;
using ttygate::daemon::Loop;
using ttygate::daemon::Peer;

namespace {

using Port = ttygate::daemon::testing::ListeningPort;

// Runs the loop until `done` or two seconds passed (a bound on a hang, not a timing check).
template <typename Done>
void run_until(Loop& loop, Done done) {
  auto end = std::chrono::steady_clock::now() + 2s;
  while (!done() && std::chrono::steady_clock::now() < end) loop.run_once(50ms);
}

}  // namespace

// A reconnect storm: the gateway pauses accepting from inside the hand-over of the connection
// that reached max_handshakes. The connections still waiting must all be accepted after
// resume(); none may be lost to the pause.
TEST(AListener, LosesNoConnectionWhenPausedFromItsOwnHandOver) {
  Loop loop;
  Port port;
  std::vector<Cidr> allow{*Cidr::parse("127.0.0.0/8")};
  std::vector<UniqueFd> accepted;
  Listener* self = nullptr;
  Listener listener(loop, std::move(port.fd), "test", allow, [&](UniqueFd fd, Peer) {
    accepted.push_back(std::move(fd));
    if (accepted.size() == 1) self->pause();
  });
  self = &listener;
  std::vector<UniqueFd> clients;
  for (int i = 0; i < 3; ++i) clients.push_back(port.connect());
  listener.start();
  run_until(loop, [&] { return !accepted.empty(); });
  for (int i = 0; i < 5; ++i) loop.run_once(10ms);  // let a wrongly armed accept complete
  EXPECT_EQ(accepted.size(), 1u) << "accepted while paused";
  listener.resume();
  run_until(loop, [&] { return accepted.size() == 3; });
  EXPECT_EQ(accepted.size(), 3u);
}

TEST(AListener, RefusesASourceOutsideAllowFrom) {
  Loop loop;
  Port port;
  std::vector<Cidr> allow{*Cidr::parse("10.0.0.0/8")};
  int handed = 0;
  Listener listener(loop, std::move(port.fd), "test", allow, [&](UniqueFd, Peer) { ++handed; });
  UniqueFd client = port.connect();
  listener.start();
  char c;
  timeval tv{2, 0};
  setsockopt(client.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  bool closed = false;
  run_until(loop, [&] {
    closed = ::recv(client.get(), &c, 1, MSG_DONTWAIT) == 0;
    return closed;
  });
  EXPECT_TRUE(closed);
  EXPECT_EQ(handed, 0);
}
