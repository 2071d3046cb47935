// SPDX-License-Identifier: Apache-2.0
// Rate-limited refusal lines. See refusal_log.hpp.
#include "daemon/refusal_log.hpp"

namespace ttygate::daemon {
namespace {
constexpr std::string_view kOtherCauses = "other refusals";
}

// Without a sink of the caller's (tests), lines go to the log with their fields.
RefusalLog::RefusalLog(std::chrono::milliseconds interval, Sink sink) : interval_(interval), sink_(std::move(sink)) {}

void RefusalLog::refuse_at(std::string_view cause, std::string_view line, log::Level level, Clock::time_point now,
                           std::span<const log::Field> fields) {
  if (causes_.size() >= kMaxCauses && causes_.find(cause) == causes_.end()) cause = kOtherCauses;
  auto it = causes_.find(cause);
  if (it != causes_.end() && now - it->second.since < interval_) {
    ++it->second.suppressed;
    return;
  }
  if (it != causes_.end()) report(it->first, it->second, now);  // the last interval's count first
  else
    it = causes_.emplace(std::string(cause), Cause{}).first;
  it->second = Cause{now, 0, level};
  if (sink_) sink_(level, line);
  else
    log::write_fields(level, line, fields);
}

void RefusalLog::flush(Clock::time_point now) {
  for (auto it = causes_.begin(); it != causes_.end();) {
    if (now - it->second.since < interval_) {
      ++it;
      continue;
    }
    report(it->first, it->second, now);
    it = causes_.erase(it);
  }
}

void RefusalLog::report(const std::string& cause, const Cause& state, Clock::time_point now) {
  if (state.suppressed == 0) return;
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(now - state.since).count();
  const std::string line = "Refused " + std::to_string(state.suppressed) + " more (" + cause + ") in the " +
                           std::to_string(seconds) + " s since the line above with this cause; not logging each";
  if (sink_) sink_(state.level, line);
  else
    log::write(state.level, line);
}

}  // namespace ttygate::daemon
