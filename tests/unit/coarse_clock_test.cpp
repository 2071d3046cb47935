// SPDX-License-Identifier: Apache-2.0
#include "common/coarse_clock.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

namespace ttygate {
namespace {

std::chrono::nanoseconds resolution() {
  timespec res{};
  ::clock_getres(CLOCK_MONOTONIC_COARSE, &res);
  return std::chrono::seconds(res.tv_sec) + std::chrono::nanoseconds(res.tv_nsec);
}

// The monotonic clock as of the kernel's last tick: never ahead of it, and behind by the few
// milliseconds a tick can be late (a tickless idle CPU, a virtual machine: 6 ms seen here with a
// 4 ms tick), never by the distance to another clock's epoch.
TEST(ACoarseClock, TrailsTheMonotonicClockByMillisecondsOnly) {
  for (int i = 0; i < 100; ++i) {
    auto coarse = CoarseClock::now().time_since_epoch();
    auto fine = std::chrono::steady_clock::now().time_since_epoch();
    EXPECT_LE(coarse, fine);
    EXPECT_LT(fine - coarse, std::chrono::milliseconds(100));
  }
}

TEST(ACoarseClock, AdvancesAsTimePassesAndNeverGoesBack) {
  auto before = CoarseClock::now();
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  auto after = CoarseClock::now();
  EXPECT_GE(after - before, std::chrono::milliseconds(50) - resolution());
  EXPECT_GE(CoarseClock::now(), after);
}

}  // namespace
}  // namespace ttygate
