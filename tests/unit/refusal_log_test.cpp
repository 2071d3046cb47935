// SPDX-License-Identifier: Apache-2.0
// RefusalLog: one line per cause per interval, and then one line with the count, on a fake clock.
#include "daemon/refusal_log.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ttygate::daemon {
namespace {

using namespace std::chrono_literals;

struct Lines {
  std::vector<std::string> lines;
  RefusalLog::Sink sink() {
    return [this](log::Level, std::string_view line) { lines.emplace_back(line); };
  }
};

const RefusalLog::Clock::time_point t0 = RefusalLog::Clock::time_point{} + 1h;

TEST(ARefusalLog, LogsTheFirstRefusalOfACauseInFull) {
  Lines out;
  RefusalLog log(10s, out.sink());
  log.refuse("source not in allow_from", "Refused 10.0.0.1:5 on 0.0.0.0:7000: source not in allow_from",
             log::Level::notice, t0);
  EXPECT_EQ(out.lines, std::vector<std::string>{"Refused 10.0.0.1:5 on 0.0.0.0:7000: source not in allow_from"});
}

TEST(ARefusalLog, CountsTheRestOfTheIntervalAndReportsThemInOneLine) {
  Lines out;
  RefusalLog log(10s, out.sink());
  for (int i = 0; i < 25'000; ++i) log.refuse("allow_from", "line " + std::to_string(i), log::Level::notice, t0 + i * 100us);
  log.flush(t0 + 9s);  // the interval is not over: nothing yet
  ASSERT_EQ(out.lines.size(), 1u);
  log.flush(t0 + 10s);
  ASSERT_EQ(out.lines.size(), 2u);
  EXPECT_EQ(out.lines[1], "Refused 24999 more (allow_from) in the 10 s since the line above with this cause; not logging each");
  log.flush(t0 + 30s);  // reported once
  EXPECT_EQ(out.lines.size(), 2u);
}

TEST(ARefusalLog, KeepsCausesApart) {
  Lines out;
  RefusalLog log(10s, out.sink());
  log.refuse("a", "first a", log::Level::notice, t0);
  log.refuse("b", "first b", log::Level::notice, t0 + 1s);
  log.refuse("a", "second a", log::Level::notice, t0 + 2s);
  EXPECT_EQ(out.lines, (std::vector<std::string>{"first a", "first b"}));
}

TEST(ARefusalLog, StartsANewIntervalWithAFullLineAfterReportingTheLastCount) {
  Lines out;
  RefusalLog log(10s, out.sink());
  log.refuse("a", "a 1", log::Level::notice, t0);
  log.refuse("a", "a 2", log::Level::notice, t0 + 1s);
  log.refuse("a", "a 3", log::Level::notice, t0 + 12s);  // no flush in between
  EXPECT_EQ(out.lines, (std::vector<std::string>{
                           "a 1", "Refused 1 more (a) in the 12 s since the line above with this cause; not logging each",
                           "a 3"}));
}

TEST(ARefusalLog, SaysNothingMoreWhenACauseHappenedOnce) {
  Lines out;
  RefusalLog log(10s, out.sink());
  log.refuse("a", "a 1", log::Level::notice, t0);
  log.flush(t0 + 11s);
  EXPECT_EQ(out.lines.size(), 1u);
  EXPECT_EQ(log.causes(), 0u);  // forgotten once its interval is over
}

TEST(ARefusalLog, BoundsTheCausesItTellsApart) {
  Lines out;
  RefusalLog log(10s, out.sink());
  for (std::size_t i = 0; i < 10 * RefusalLog::kMaxCauses; ++i)
    log.refuse("cause " + std::to_string(i), "line " + std::to_string(i), log::Level::notice, t0);
  EXPECT_LE(log.causes(), RefusalLog::kMaxCauses + 1);
  EXPECT_EQ(out.lines.size(), RefusalLog::kMaxCauses + 1);  // each cause once, then one for the rest
}

TEST(ARefusalLog, ReportsAtTheLevelOfTheCause) {
  std::vector<log::Level> levels;
  RefusalLog log(10s, [&](log::Level level, std::string_view) { levels.push_back(level); });
  log.refuse("fds", "out of fds", log::Level::error, t0);
  log.refuse("fds", "out of fds", log::Level::error, t0 + 1s);
  log.flush(t0 + 10s);
  EXPECT_EQ(levels, (std::vector<log::Level>{log::Level::error, log::Level::error}));
}

}  // namespace
}  // namespace ttygate::daemon
