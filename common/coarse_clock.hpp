// SPDX-License-Identifier: Apache-2.0
// CoarseClock: CLOCK_MONOTONIC_COARSE as a std::chrono clock, for stamps taken on every transfer
// whose only reader compares them with timeouts of a second or more.
//
// The coarse clock is the kernel's last tick (1-10 ms resolution) read from the vDSO page: never
// a system call, whatever the clocksource. steady_clock (CLOCK_MONOTONIC) reads the clocksource,
// and where that is not vDSO-capable (some virtual machines and boards) every read is a
// clock_gettime(2): one per record relayed. Stamps are only ever compared with each other.
#pragma once

#include <time.h>

#include <chrono>

namespace ttygate {

struct CoarseClock {
  using duration = std::chrono::nanoseconds;
  using rep = duration::rep;
  using period = duration::period;
  using time_point = std::chrono::time_point<CoarseClock>;
  static constexpr bool is_steady = true;

  static time_point now() noexcept {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return time_point(std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec));
  }
};

}  // namespace ttygate
