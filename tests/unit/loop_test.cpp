#include "daemon/loop.hpp"

#include <gtest/gtest.h>
#include <poll.h>
#include <unistd.h>

#include <chrono>
#include <vector>

#include "common/unique_fd.hpp"

using namespace std::chrono_literals;
using ttygate::UniqueFd;
using ttygate::daemon::Loop;
using ttygate::daemon::Op;

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

TEST(ALoop, StopsRunningWhenAHandlerAsksIt) {
  Loop loop;
  loop.timeout(1ms, [&](int) { loop.stop(); });
  loop.run();  // returns: the test would hang otherwise
  SUCCEED();
}
