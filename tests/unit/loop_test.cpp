// SPDX-License-Identifier: Apache-2.0
#include "daemon/loop.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <span>
#include <string>
#include <vector>

#include "common/unique_fd.hpp"

using namespace std::chrono_literals;
using ttygate::UniqueFd;
using ttygate::daemon::Loop;
using ttygate::daemon::Op;
using ttygate::daemon::OpId;

namespace {

struct Pipe {
  UniqueFd read, write;
  Pipe() {
    int fds[2];
    EXPECT_EQ(::pipe2(fds, O_CLOEXEC | O_NONBLOCK), 0);
    read.reset(fds[0]);
    write.reset(fds[1]);
  }
};

}  // namespace

TEST(ALoop, FiresATimerWithETime) {
  Loop loop;
  int result = 0;
  loop.timeout(1ms, [&](int res) { result = res; });
  while (result == 0) loop.run_once(1000ms);
  EXPECT_EQ(result, -ETIME);
}

TEST(ALoop, NeverRunsTheHandlerOfACancelledOperation) {
  Loop loop;
  bool fired = false, other = false;
  auto id = loop.timeout(1ms, [&](int) { fired = true; });
  loop.cancel(id);
  loop.timeout(20ms, [&](int) { other = true; });
  while (!other) loop.run_once(1000ms);
  EXPECT_FALSE(fired);
  EXPECT_FALSE(loop.pending(id));
}

TEST(ALoop, IgnoresCancelOfAnOperationThatAlreadyCompleted) {
  Loop loop;
  int count = 0;
  auto id = loop.timeout(1ms, [&](int) { ++count; });
  while (count == 0) loop.run_once(1000ms);
  // The slot is reused by the next operation; the stale id must not cancel it.
  auto next = loop.timeout(1ms, [&](int) { ++count; });
  loop.cancel(id);
  EXPECT_TRUE(loop.pending(next));
  while (count == 1) loop.run_once(1000ms);
  EXPECT_EQ(count, 2);
}

TEST(ALoop, ReportsReadinessOfAPipe) {
  Loop loop;
  Pipe p;
  int revents = 0;
  loop.poll(p.read.get(), POLLIN, [&](int res) { revents = res; });
  EXPECT_EQ(loop.run_once(20ms), 0u);
  ASSERT_EQ(::write(p.write.get(), "x", 1), 1);
  while (revents == 0) loop.run_once(1000ms);
  EXPECT_TRUE(revents & POLLIN);
}

TEST(ALoop, ReadsIntoTheCallersBuffer) {
  Loop loop;
  Pipe p;
  char buf[8] = {};
  int got = 0;
  loop.read(p.read.get(), buf, sizeof buf, [&](int res) { got = res; });
  ASSERT_EQ(::write(p.write.get(), "hello", 5), 5);
  while (got == 0) loop.run_once(1000ms);
  EXPECT_EQ(got, 5);
  EXPECT_STREQ(buf, "hello");
}

TEST(ALoop, RunsDeferredWorkAfterTheBatch) {
  Loop loop;
  std::vector<int> order;
  loop.timeout(1ms, [&](int) {
    loop.defer([&] { order.push_back(2); });
    order.push_back(1);
  });
  while (order.size() < 2) loop.run_once(1000ms);
  EXPECT_EQ(order, (std::vector<int>{1, 2}));
}

TEST(AnOp, CancelsItsOperationWhenDestroyed) {
  Loop loop;
  bool fired = false, other = false;
  {
    Op op;
    op.set(loop, loop.timeout(1ms, [&](int) { fired = true; }));
    EXPECT_TRUE(op.armed());
  }
  loop.timeout(20ms, [&](int) { other = true; });
  while (!other) loop.run_once(1000ms);
  EXPECT_FALSE(fired);
}

TEST(ALoop, KeepsATimeoutsDurationWhenManyOperationsAreArmedBeforeItIsSubmitted) {
  Loop loop;
  bool fired = false;
  loop.timeout(10s, [&](int) { fired = true; });
  // Grow the slot table while the timeout waits for submission, and reuse the memory a moving
  // table would have freed (the kernel would then read a zero or stale timespec).
  std::vector<Op> others(300);
  std::vector<std::vector<char>> churn;
  for (Op& op : others) {
    op.set(loop, loop.defer([] {}));
    churn.emplace_back(64, '\0');
  }
  loop.run_once(50ms);
  loop.run_once(50ms);
  EXPECT_FALSE(fired);
}

TEST(ALoop, StopsRunningWhenAHandlerAsksIt) {
  Loop loop;
  bool stopped = false, later = false;
  loop.timeout(1ms, [&](int) {
    stopped = true;
    loop.stop();
  });
  loop.timeout(300ms, [&](int) { later = true; });
  loop.run();
  EXPECT_TRUE(stopped);
  EXPECT_FALSE(later);  // run() returned after the stopping batch, with work still armed
}

TEST(ALoop, NeverRunsDeferredWorkThatWasCancelled) {
  Loop loop;
  bool ran = false, other = false;
  ttygate::daemon::OpId id = loop.defer([&] { ran = true; });
  EXPECT_TRUE(loop.pending(id));
  loop.cancel(id);
  EXPECT_FALSE(loop.pending(id));
  loop.defer([&] { other = true; });
  loop.run_once(0ms);
  EXPECT_TRUE(other);
  EXPECT_FALSE(ran);
}

TEST(AnOp, CancelsDeferredWorkWhenDestroyed) {
  Loop loop;
  bool ran = false;
  {
    Op op;
    op.set(loop, loop.defer([&] { ran = true; }));
    EXPECT_TRUE(op.armed());
  }
  loop.run_once(0ms);
  EXPECT_FALSE(ran);
}

TEST(ALoop, RunsWorkDeferredByDeferredWorkInTheSameRound) {
  Loop loop;
  std::vector<int> order;
  loop.defer([&] {
    order.push_back(1);
    loop.defer([&] { order.push_back(2); });
  });
  loop.run_once(0ms);
  EXPECT_EQ(order, (std::vector<int>{1, 2}));
}

TEST(ALoop, ReusesTheSlotOfDeferredWorkWithoutConfusingIds) {
  Loop loop;
  int runs = 0;
  ttygate::daemon::OpId first = loop.defer([&] { ++runs; });
  loop.run_once(0ms);
  ttygate::daemon::OpId second = loop.defer([&] { ++runs; });
  EXPECT_NE(first, second);
  loop.cancel(first);  // stale: must not cancel the new one
  loop.run_once(0ms);
  EXPECT_EQ(runs, 2);
}

namespace {

// A listening socket on a free loopback port, and a client already connected to it (the
// connection waits in the backlog until accepted).
struct Backlog {
  UniqueFd listener, client;
  Backlog() {
    listener.reset(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    EXPECT_EQ(::bind(listener.get(), reinterpret_cast<sockaddr*>(&addr), len), 0);
    EXPECT_EQ(::listen(listener.get(), 8), 0);
    EXPECT_EQ(::getsockname(listener.get(), reinterpret_cast<sockaddr*>(&addr), &len), 0);
    client.reset(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    EXPECT_EQ(::connect(client.get(), reinterpret_cast<sockaddr*>(&addr), len), 0);
  }
  // True when the server side of the client's connection was closed (EOF or reset).
  bool client_sees_close() const {
    pollfd p{client.get(), POLLIN, 0};
    if (::poll(&p, 1, 2000) != 1) return false;
    char c;
    return ::recv(client.get(), &c, 1, MSG_DONTWAIT) <= 0;
  }
};

}  // namespace

// The accept and its cancel reach the kernel together; the accept takes the waiting connection
// at once, so the cancel finds nothing. Nobody owns that fd: the loop must close it, or the
// client waits forever for a server that never speaks.
TEST(ALoop, ClosesTheConnectionOfAnAcceptCancelledTooLate) {
  Loop loop;
  Backlog b;
  bool ran = false, other = false;
  auto id = loop.accept(b.listener.get(), [&](int res) {
    ran = true;
    if (res >= 0) ::close(res);
  });
  loop.cancel(id);
  loop.timeout(20ms, [&](int) { other = true; });
  while (!other) loop.run_once(1000ms);
  EXPECT_FALSE(ran);
  EXPECT_TRUE(b.client_sees_close());
}

// The ring is made for one thread with its task work deferred to the waits (loop.cpp); a kernel
// that refuses that (before 6.1) gets a plain ring, and the loop works the same.
TEST(ALoop, DefersTaskWorkToItsOwnWaitsWhereTheKernelAllows) {
  Loop loop;
  const unsigned deferred = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
  if ((loop.setup_flags() & deferred) != deferred) GTEST_SKIP() << "kernel has no IORING_SETUP_DEFER_TASKRUN";
  Pipe p;
  int revents = 0;
  loop.poll(p.read.get(), POLLIN, [&](int res) { revents = res; });
  ASSERT_EQ(::write(p.write.get(), "x", 1), 1);
  EXPECT_EQ(loop.run_once(1000ms), 1u);  // the completion is posted when the loop waits
  EXPECT_TRUE(revents & POLLIN);
}

namespace {

using ttygate::daemon::ReceiveRing;

struct SocketPair {
  UniqueFd near, far;
  SocketPair() {
    int fds[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), 0);
    near.reset(fds[0]);
    far.reset(fds[1]);
  }
  void send(const std::string& s) const { EXPECT_EQ(::write(far.get(), s.data(), s.size()), static_cast<ssize_t>(s.size())); }
};

struct Received {
  int res = 1 << 30;  // not yet
  std::string data;
  bool done() const { return res != 1 << 30; }
};

OpId receive_into(Loop& loop, const SocketPair& p, Received& into) {
  return loop.receive(p.near.get(), [&into](int res, std::span<const std::byte> data) {
    into.res = res;
    into.data.assign(reinterpret_cast<const char*>(data.data()), data.size());
  });
}

#define SKIP_WITHOUT_RING(loop) \
  if (!(loop).receives_into_ring()) GTEST_SKIP() << "kernel has no io_uring buffer rings: " << (loop).receive_ring_error().message()

}  // namespace

TEST(ALoop, ReceivesIntoARingBufferLentOnlyForTheHandler) {
  Loop loop;
  SKIP_WITHOUT_RING(loop);
  SocketPair p;
  unsigned out_during = 0;
  std::string got;
  loop.receive(p.near.get(), [&](int res, std::span<const std::byte> data) {
    out_during = loop.buffers_out();
    EXPECT_EQ(res, 5);
    got.assign(reinterpret_cast<const char*>(data.data()), data.size());
  });
  EXPECT_EQ(loop.run_once(20ms), 0u);  // armed: no buffer is taken while nothing arrives
  EXPECT_EQ(loop.buffers_out(), 0u);
  p.send("hello");
  while (got.empty()) loop.run_once(1000ms);
  EXPECT_EQ(got, "hello");
  EXPECT_EQ(out_during, 1u);
  EXPECT_EQ(loop.buffers_out(), 0u);
  EXPECT_EQ(loop.ring_received(), 1u);
}

TEST(ALoop, RefillsItsRingSoMoreReceivesThanBuffersAllGetTheirBytes) {
  Loop loop(64, ReceiveRing{2, 64});
  SKIP_WITHOUT_RING(loop);
  SocketPair p;
  for (int i = 0; i < 10; ++i) {
    Received r;
    receive_into(loop, p, r);
    p.send("frame " + std::to_string(i));
    while (!r.done()) loop.run_once(1000ms);
    EXPECT_EQ(r.data, "frame " + std::to_string(i));
  }
  EXPECT_EQ(loop.ring_received(), 10u);
  EXPECT_EQ(loop.ring_exhausted(), 0u);
}

// Two receives complete in one batch with one buffer: the second finds the ring empty and must
// have left its bytes in the socket, whole and in order.
TEST(ALoop, ReportsAnEmptyRingWithoutTakingAnyBytes) {
  Loop loop(64, ReceiveRing{1, 64});
  SKIP_WITHOUT_RING(loop);
  SocketPair a, b;
  Received ra, rb;
  receive_into(loop, a, ra);
  receive_into(loop, b, rb);
  a.send("to a");
  b.send("to b");
  while (!ra.done() || !rb.done()) loop.run_once(1000ms);
  EXPECT_EQ(loop.ring_exhausted(), 1u);
  Received& starved = ra.res == -ENOBUFS ? ra : rb;
  const SocketPair& starved_pair = ra.res == -ENOBUFS ? a : b;
  EXPECT_EQ(starved.res, -ENOBUFS);
  EXPECT_EQ((ra.res == -ENOBUFS ? rb : ra).res, 4);
  char buf[16];
  EXPECT_EQ(::read(starved_pair.near.get(), buf, sizeof buf), 4);
  EXPECT_EQ(std::string(buf, 4), &starved == &ra ? "to a" : "to b");
  EXPECT_EQ(loop.buffers_out(), 0u);
}

// The receive's owner went away after the kernel had already filled a buffer: the loop gives
// it back, and a one-buffer ring keeps working.
TEST(ALoop, GivesTheBufferOfACancelledReceiveBackToTheRing) {
  Loop loop(64, ReceiveRing{1, 64});
  SKIP_WITHOUT_RING(loop);
  SocketPair a, b;
  a.send("already here");  // the receive completes as it is submitted, before its cancel
  bool ran = false;
  OpId id = loop.receive(a.near.get(), [&](int, std::span<const std::byte>) { ran = true; });
  loop.cancel(id);
  loop.run_once(20ms);
  loop.run_once(20ms);
  EXPECT_FALSE(ran);
  EXPECT_EQ(loop.ring_received(), 1u);  // it did take the buffer
  EXPECT_EQ(loop.buffers_out(), 0u);
  Received r;
  receive_into(loop, b, r);
  b.send("next");
  while (!r.done()) loop.run_once(1000ms);
  EXPECT_EQ(r.res, 4);
  EXPECT_EQ(r.data, "next");
}

TEST(ALoop, OffersNoReceivesWithoutARing) {
  Loop loop(64, ReceiveRing{0, 0});
  EXPECT_FALSE(loop.receives_into_ring());
  EXPECT_TRUE(loop.receive_ring_error().code());
}
