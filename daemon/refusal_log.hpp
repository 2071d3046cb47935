// SPDX-License-Identifier: Apache-2.0
// RefusalLog: per-connection refusals (a source outside allow_from, a per-source limit, an
// unknown key, a handshake that failed, timed out or was evicted, no descriptor left) logged at
// a bounded rate. A flood must not become a flood of log lines: 25,000 "not in allow_from"
// lines in ten seconds fill the journal and cost more than the refusals themselves.
//
// Each cause (a short fixed text, e.g. "source not in allow_from") logs its first refusal of an
// interval in full; the others of that interval are only counted, and flush() reports them in
// one line with the count once the interval is over. At most kMaxCauses causes are told apart;
// beyond that they share one. The clock is an argument so tests can drive it. Single-threaded.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <string_view>

#include "common/log.hpp"

namespace ttygate::daemon {

class RefusalLog {
 public:
  using Clock = std::chrono::steady_clock;
  using Sink = std::function<void(log::Level, std::string_view)>;
  static constexpr std::size_t kMaxCauses = 64;
  static constexpr std::chrono::seconds kInterval{10};

  explicit RefusalLog(std::chrono::milliseconds interval = kInterval, Sink sink = {});

  // Logs `line` if it is the first of `cause` this interval, else counts it.
  void refuse(std::string_view cause, std::string_view line, log::Level level = log::Level::notice,
              Clock::time_point now = Clock::now()) {
    refuse_at(cause, line, level, now, {});
  }
  // The same with journal fields (port, client, peer, MESSAGE_ID) on the line logged in full.
  void refuse(std::string_view cause, std::string_view line, log::Fields fields, log::Level level = log::Level::notice) {
    refuse_at(cause, line, level, Clock::now(), std::span<const log::Field>(fields.begin(), fields.size()));
  }
  // Reports the refusals counted in every interval that is over. The owner calls it at least
  // once an interval.
  void flush(Clock::time_point now = Clock::now());

  std::chrono::milliseconds interval() const { return interval_; }
  std::size_t causes() const { return causes_.size(); }

 private:
  struct Cause {
    Clock::time_point since{};  // this interval's first refusal, the one logged in full
    std::size_t suppressed = 0;
    log::Level level = log::Level::notice;
  };
  void refuse_at(std::string_view cause, std::string_view line, log::Level level, Clock::time_point now,
                 std::span<const log::Field> fields);
  void report(const std::string& cause, const Cause& state, Clock::time_point now);

  std::chrono::milliseconds interval_;
  Sink sink_;
  std::map<std::string, Cause, std::less<>> causes_;
};

}  // namespace ttygate::daemon
