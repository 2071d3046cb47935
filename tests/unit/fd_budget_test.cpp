// SPDX-License-Identifier: Apache-2.0
// Descriptor budget: the soft limit goes up to the hard one, and the spare descriptor is there
// to give back for one accept and to take again.
#include "daemon/fd_budget.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/resource.h>

namespace ttygate::daemon {
namespace {

struct RestoreLimit {
  rlimit saved{};
  RestoreLimit() { ::getrlimit(RLIMIT_NOFILE, &saved); }
  ~RestoreLimit() { ::setrlimit(RLIMIT_NOFILE, &saved); }
};

TEST(AnFdLimit, IsRaisedToTheHardLimit) {
  RestoreLimit restore;
  rlimit low = restore.saved;
  low.rlim_cur = std::min<rlim_t>(low.rlim_max, 256);
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &low), 0);
  auto raised = raise_fd_limit();
  ASSERT_TRUE(raised) << raised.error().message();
  EXPECT_EQ(raised->before, low.rlim_cur);
  EXPECT_EQ(raised->now, restore.saved.rlim_max);
  rlimit now{};
  ::getrlimit(RLIMIT_NOFILE, &now);
  EXPECT_EQ(now.rlim_cur, now.rlim_max);
}

TEST(AnFdReserve, FreesOneDescriptorForOneAcceptAndTakesItBack) {
  RestoreLimit restore;
  FdReserve reserve;
  ASSERT_TRUE(reserve.held());
  // Use up every descriptor below a tight limit, as a flood of sessions would.
  int probe = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(probe, 0);
  ::close(probe);
  rlimit tight = restore.saved;
  tight.rlim_cur = static_cast<rlim_t>(probe) + 8;
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &tight), 0);
  std::vector<int> held;
  for (int fd; (fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0;) held.push_back(fd);
  EXPECT_EQ(errno, EMFILE);
  EXPECT_TRUE(reserve.release());
  int spare = ::open("/dev/null", O_RDONLY | O_CLOEXEC);  // what accept4 gets
  EXPECT_GE(spare, 0);
  ::close(spare);
  EXPECT_TRUE(reserve.restore());
  EXPECT_LT(::open("/dev/null", O_RDONLY | O_CLOEXEC), 0);  // it is held again
  EXPECT_FALSE(reserve.release() && reserve.release());  // one spare, not two
  for (int fd : held) ::close(fd);
}

}  // namespace
}  // namespace ttygate::daemon
