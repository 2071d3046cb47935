#include "daemon/fd_limit.hpp"

#include <gtest/gtest.h>

using ttygate::daemon::raise_fd_limit;

namespace {

// Lowers the soft limit for one test and restores it after (the hard limit is never touched).
class AnFdLimit : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &saved_), 0);
    if (saved_.rlim_max != RLIM_INFINITY && saved_.rlim_max < 512) GTEST_SKIP() << "hard limit below 512";
    set_soft(256);
  }
  void TearDown() override { ::setrlimit(RLIMIT_NOFILE, &saved_); }
  static void set_soft(rlim_t soft) {
    rlimit l{};
    ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &l), 0);
    l.rlim_cur = soft;
    ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &l), 0);
  }
  static rlim_t soft() {
    rlimit l{};
    ::getrlimit(RLIMIT_NOFILE, &l);
    return l.rlim_cur;
  }
  rlimit saved_{};
};

TEST_F(AnFdLimit, IsRaisedToWhatTheGatewayWants) {
  auto limit = raise_fd_limit(512);
  ASSERT_TRUE(limit.ok());
  EXPECT_EQ(limit->before, 256u);
  EXPECT_EQ(limit->after, 512u);
  EXPECT_EQ(soft(), 512u);
}

TEST_F(AnFdLimit, StopsAtTheHardLimit) {
  if (saved_.rlim_max == RLIM_INFINITY) GTEST_SKIP() << "no hard limit";
  auto limit = raise_fd_limit(saved_.rlim_max + 1000);
  ASSERT_TRUE(limit.ok());
  EXPECT_EQ(limit->after, saved_.rlim_max);
  EXPECT_EQ(soft(), saved_.rlim_max);
}

TEST_F(AnFdLimit, IsNeverLowered) {
  auto limit = raise_fd_limit(100);
  ASSERT_TRUE(limit.ok());
  EXPECT_EQ(limit->after, 256u);
  EXPECT_EQ(soft(), 256u);
}

}  // namespace
