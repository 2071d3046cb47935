// SPDX-License-Identifier: Apache-2.0
// A listener under pressure: out of descriptors it sheds waiting connections with its spare
// one (each closed at once, one line per interval), and a refusal flood is logged at a bounded
// rate. Real sockets on loopback, a real loop.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <chrono>
#include <string>
#include <vector>

#include "common/unique_fd.hpp"
#include "daemon/fd_budget.hpp"
#include "daemon/listener.hpp"
#include "listening_port.hpp"
#include "daemon/refusal_log.hpp"

using namespace std::chrono_literals;

namespace ttygate::daemon {
namespace {

using Port = ttygate::daemon::testing::ListeningPort;

bool closed_by_peer(int fd) {
  char c;
  return ::recv(fd, &c, 1, MSG_DONTWAIT) == 0 || errno == ECONNRESET;
}

template <typename Done>
void run_until(Loop& loop, Done done) {
  auto end = std::chrono::steady_clock::now() + 2s;
  while (!done() && std::chrono::steady_clock::now() < end) loop.run_once(50ms);
}

struct Lines {
  std::vector<std::string> lines;
  RefusalLog log{10s, [this](log::Level, std::string_view line) { lines.emplace_back(line); }};
};

TEST(AListener, ShedsWaitingConnectionsWithItsSpareDescriptorWhenOutOfThem) {
  Loop loop;
  Port port;
  std::vector<Cidr> allow{*Cidr::parse("127.0.0.0/8")};
  Lines refusals;
  FdReserve reserve;
  int handed = 0;
  Listener listener(loop, std::move(port.fd), "test", allow, [&](UniqueFd, Peer) { ++handed; });
  listener.set_refusal_log(&refusals.log);
  listener.set_fd_reserve(&reserve);
  std::vector<UniqueFd> clients;
  for (int i = 0; i < 5; ++i) clients.push_back(port.connect());
  // Every other descriptor in use, as a gateway full of sessions.
  rlimit saved{};
  ::getrlimit(RLIMIT_NOFILE, &saved);
  std::vector<UniqueFd> filler;
  rlimit tight = saved;
  tight.rlim_cur = 256;
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &tight), 0);
  for (int fd; (fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0;) filler.emplace_back(fd);
  listener.start();
  run_until(loop, [&] {
    for (auto& c : clients)
      if (!closed_by_peer(c.get())) return false;
    return true;
  });
  for (auto& c : clients) EXPECT_TRUE(closed_by_peer(c.get())) << "left waiting in the backlog";
  EXPECT_EQ(handed, 0);
  ASSERT_EQ(refusals.lines.size(), 1u);  // one line for the five
  EXPECT_NE(refusals.lines[0].find("out of file descriptors"), std::string::npos) << refusals.lines[0];
  // Nobody waiting: the listener waits for the next connection, it does not spin or log.
  for (int i = 0; i < 5; ++i) loop.run_once(20ms);
  EXPECT_EQ(refusals.lines.size(), 1u);
  // Descriptors back: the next connection is accepted as usual.
  filler.clear();
  ::setrlimit(RLIMIT_NOFILE, &saved);
  UniqueFd late = port.connect();
  run_until(loop, [&] { return handed == 1; });
  EXPECT_EQ(handed, 1);
}

TEST(AListener, LogsAFloodFromOutsideAllowFromOncePerInterval) {
  Loop loop;
  Port port;
  std::vector<Cidr> allow{*Cidr::parse("10.0.0.0/8")};
  Lines refusals;
  Listener listener(loop, std::move(port.fd), "test", allow, [&](UniqueFd, Peer) {});
  listener.set_refusal_log(&refusals.log);
  std::vector<UniqueFd> clients;
  for (int i = 0; i < 50; ++i) clients.push_back(port.connect());
  listener.start();
  run_until(loop, [&] {
    for (auto& c : clients)
      if (!closed_by_peer(c.get())) return false;
    return true;
  });
  ASSERT_EQ(refusals.lines.size(), 1u);
  EXPECT_NE(refusals.lines[0].find("source not in allow_from"), std::string::npos);
  refusals.log.flush(std::chrono::steady_clock::now() + 11s);
  ASSERT_EQ(refusals.lines.size(), 2u);
  EXPECT_NE(refusals.lines[1].find("Refused 49 more (source not in allow_from)"), std::string::npos)
      << refusals.lines[1];
}

}  // namespace
}  // namespace ttygate::daemon
