// SPDX-License-Identifier: Apache-2.0
// Line events (break, framing, parity, overrun) as NOTIFY-LINESTATE: the counters-to-bits
// mapping, and PortLine's polling of the error counters with counts the test feeds. The kernel's
// own counters are shown on a real 16550 in tests/vm/scenarios/55-ttygated-line-events.sh; here
// a pty stands for the tty, which has none.
#include "daemon/line_events.hpp"

#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>
#include <memory>
#include <vector>

#include "common/rfc2217.hpp"
#include "common/unique_fd.hpp"
#include "daemon/com_port.hpp"
#include "daemon/port_line.hpp"
#include "raw_pty.hpp"

using namespace ttygate;
using namespace ttygate::daemon;
namespace linestate = rfc2217::linestate;

namespace {

struct Grown {
  const char* what;
  LineCounts now;
  std::uint8_t bits;
};

class GrownEvents : public ::testing::TestWithParam<Grown> {};

// Counts a test sets; PortLine owns it, the test keeps a pointer.
struct FedCounters final : LineCounters {
  LineCounts counts;
  bool fails = false;
  Result<LineCounts> read() override {
    if (fails) return errno_error("reading the line's error counters", EIO);
    return counts;
  }
};

struct Recorder final : PortLine::Listener {
  explicit Recorder(std::uint8_t mask) : mask(mask) {}
  std::uint8_t mask;
  std::vector<rfc2217::Message> notices;
  void line_notice(const rfc2217::Message& message) override { notices.push_back(message); }
  std::uint8_t modem_mask() const override { return 0; }
  std::uint8_t linestate_mask() const override { return mask; }
  std::vector<std::uint32_t> linestates() const {
    std::vector<std::uint32_t> values;
    for (const auto& m : notices)
      if (m.command == rfc2217::Command::notify_linestate) values.push_back(m.value);
    return values;
  }
};

struct FakeOutput final : ComPortOutput {
  std::vector<std::uint8_t> sent;
  void send_to_peer(std::span<const std::uint8_t> bytes) override { sent.insert(sent.end(), bytes.begin(), bytes.end()); }
  void discard_to_device() override {}
  void suspend_output(bool) override {}
};

class APortWithErrorCounters : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(test_support::open_raw_pty(master_, slave_));
    port_.name = "uart";
  }
  // Adopts the pty with counters the test feeds (a pty has no modem lines: only they poll).
  FedCounters& adopt_with_counters() {
    auto counters = std::make_unique<FedCounters>();
    FedCounters& fed = *counters;
    line_.adopt(slave_.get(), std::move(counters));
    return fed;
  }

  Loop loop_;
  PortConfig port_;
  PortLine line_{loop_, port_};
  UniqueFd master_, slave_;
};

}  // namespace

TEST_P(GrownEvents, MapsEachCounterThatGrewToItsLineStateBit) {
  const LineCounts before{5, 5, 5, 5, 5};
  EXPECT_EQ(grown_events(before, GetParam().now), GetParam().bits) << GetParam().what;
}

INSTANTIATE_TEST_SUITE_P(
    Counters, GrownEvents,
    ::testing::Values(Grown{"nothing grew", {5, 5, 5, 5, 5}, 0},
                      Grown{"a break", {6, 5, 5, 5, 5}, linestate::break_detect},
                      Grown{"a framing error", {5, 7, 5, 5, 5}, linestate::framing},
                      Grown{"a parity error", {5, 5, 6, 5, 5}, linestate::parity},
                      Grown{"a FIFO overrun", {5, 5, 5, 6, 5}, linestate::overrun},
                      Grown{"a tty buffer overrun", {5, 5, 5, 5, 9}, linestate::overrun},
                      Grown{"a break with a framing error", {6, 6, 5, 5, 5}, linestate::break_detect | linestate::framing},
                      Grown{"everything", {6, 6, 6, 6, 6}, linestate::events}));

TEST(LineCounts, ACounterThatWrappedStillCountsAsAnEvent) {
  EXPECT_EQ(grown_events(LineCounts{0xFFFFFFFFu, 0, 0, 0, 0}, LineCounts{0, 0, 0, 0, 0}), linestate::break_detect);
}

TEST(TtyCounters, FailOnAPtyWhichHasNoErrorCounters) {
  int master = -1, slave = -1;
  ASSERT_EQ(::openpty(&master, &slave, nullptr, nullptr, nullptr), 0);
  UniqueFd m(master), s(slave);
  auto counts = TtyCounters(s.get()).read();
  ASSERT_FALSE(counts);
  EXPECT_TRUE(counts.error().code().value() == EINVAL || counts.error().code().value() == ENOTTY)
      << counts.error().message();
}

TEST_F(APortWithErrorCounters, NeverPollsAPtyEvenWhenASessionAsksForEveryLineEvent) {
  line_.adopt(slave_.get());  // the kernel's TIOCGICOUNT, which a pty refuses
  Recorder session(0xFF);
  line_.subscribe(session);
  line_.masks_changed();
  EXPECT_FALSE(line_.polling_line_errors());
  EXPECT_FALSE(line_.polling_modem());
  EXPECT_EQ(loop_.run_once(std::chrono::milliseconds(300)), 0u);  // no timer armed at all
  EXPECT_TRUE(session.notices.empty());
  line_.unsubscribe(session);
}

TEST_F(APortWithErrorCounters, DoesNotPollWhileNoSessionAsksForALineEvent) {
  adopt_with_counters();
  Recorder raw_like(0), register_bits_only(linestate::data_ready | linestate::thr_empty);
  line_.subscribe(raw_like);
  line_.subscribe(register_bits_only);
  EXPECT_FALSE(line_.polling_line_errors());
  EXPECT_EQ(loop_.run_once(std::chrono::milliseconds(300)), 0u);
  line_.unsubscribe(register_bits_only);
  line_.unsubscribe(raw_like);
}

TEST_F(APortWithErrorCounters, SendsABreakToASessionWhoseMaskAsksForIt) {
  FedCounters& counters = adopt_with_counters();
  Recorder session(linestate::break_detect);
  line_.subscribe(session);
  ASSERT_TRUE(line_.polling_line_errors());
  ++counters.counts.brk;
  line_.poll();
  EXPECT_EQ(session.linestates(), std::vector<std::uint32_t>{linestate::break_detect});
  line_.unsubscribe(session);
}

TEST_F(APortWithErrorCounters, TellsEachSessionOnlyTheEventsItsOwnMaskAsksFor) {
  FedCounters& counters = adopt_with_counters();
  Recorder breaks(linestate::break_detect), errors(linestate::framing | linestate::parity | linestate::overrun),
      nothing(0);
  line_.subscribe(breaks);
  line_.subscribe(errors);
  line_.subscribe(nothing);
  ++counters.counts.brk;
  ++counters.counts.frame;
  line_.poll();
  EXPECT_EQ(breaks.linestates(), std::vector<std::uint32_t>{linestate::break_detect});
  EXPECT_EQ(errors.linestates(), std::vector<std::uint32_t>{linestate::framing});
  EXPECT_TRUE(nothing.notices.empty());
  for (Recorder* r : {&nothing, &errors, &breaks}) line_.unsubscribe(*r);
}

TEST_F(APortWithErrorCounters, SendsNothingWhenNoCounterGrewSinceTheLastPoll) {
  FedCounters& counters = adopt_with_counters();
  Recorder session(linestate::events);
  line_.subscribe(session);
  ++counters.counts.parity;
  line_.poll();
  line_.poll();
  line_.poll();
  EXPECT_EQ(session.linestates(), std::vector<std::uint32_t>{linestate::parity});
  line_.unsubscribe(session);
}

TEST_F(APortWithErrorCounters, DoesNotReportErrorsCountedBeforeAnySessionAsked) {
  FedCounters& counters = adopt_with_counters();
  counters.counts = LineCounts{3, 2, 1, 4, 0};  // the UART's history
  Recorder session(linestate::events);
  line_.subscribe(session);
  line_.poll();
  EXPECT_TRUE(session.notices.empty());
  ++counters.counts.overrun;
  line_.poll();
  EXPECT_EQ(session.linestates(), std::vector<std::uint32_t>{linestate::overrun});
  line_.unsubscribe(session);
}

TEST_F(APortWithErrorCounters, StopsPollingWhenTheLastAskingSessionSetsItsMaskToZeroAndTellsItNothingMore) {
  FedCounters& counters = adopt_with_counters();
  Recorder session(linestate::break_detect);
  line_.subscribe(session);
  ASSERT_TRUE(line_.polling_line_errors());
  session.mask = 0;
  line_.masks_changed();
  EXPECT_FALSE(line_.polling_line_errors());
  ++counters.counts.brk;
  line_.poll();
  EXPECT_TRUE(session.notices.empty());
  // Asking again starts from the counts of that moment: the break in between is not news.
  session.mask = linestate::break_detect;
  line_.masks_changed();
  line_.poll();
  EXPECT_TRUE(session.notices.empty());
  line_.unsubscribe(session);
}

TEST_F(APortWithErrorCounters, StopsPollingWhenTheAskingSessionLeaves) {
  adopt_with_counters();
  {
    Recorder session(linestate::break_detect);
    line_.subscribe(session);
    ASSERT_TRUE(line_.polling_line_errors());
    line_.unsubscribe(session);
  }
  EXPECT_FALSE(line_.polling_line_errors());
}

TEST_F(APortWithErrorCounters, SendsNothingWhenTheCountersCannotBeReadAndReportsTheNextGrowth) {
  FedCounters& counters = adopt_with_counters();
  Recorder session(linestate::break_detect);
  line_.subscribe(session);
  counters.fails = true;
  line_.poll();
  EXPECT_TRUE(session.notices.empty());
  counters.fails = false;
  ++counters.counts.brk;
  line_.poll();
  EXPECT_EQ(session.linestates(), std::vector<std::uint32_t>{linestate::break_detect});
  line_.unsubscribe(session);
}

TEST_F(APortWithErrorCounters, NeverPollsWhenTheCountersFailAtAdoption) {
  auto counters = std::make_unique<FedCounters>();
  counters->fails = true;
  line_.adopt(slave_.get(), std::move(counters));
  Recorder session(linestate::events);
  line_.subscribe(session);
  EXPECT_FALSE(line_.polling_line_errors());
  line_.unsubscribe(session);
}

TEST_F(APortWithErrorCounters, StopsPollingWhenTheDeviceIsLost) {
  adopt_with_counters();
  Recorder session(linestate::break_detect);
  line_.subscribe(session);
  ASSERT_TRUE(line_.polling_line_errors());
  line_.lose();
  EXPECT_FALSE(line_.polling_line_errors());
  line_.masks_changed();
  EXPECT_FALSE(line_.polling_line_errors());
  line_.unsubscribe(session);
}

TEST_F(APortWithErrorCounters, PollsOnTheLoopsTimerRoundAfterRound) {
  FedCounters& counters = adopt_with_counters();
  Recorder session(linestate::events);
  line_.subscribe(session);
  for (std::uint8_t bit : {linestate::break_detect, linestate::framing}) {
    const std::size_t before = session.notices.size();
    if (bit == linestate::break_detect) ++counters.counts.brk; else ++counters.counts.frame;
    for (int round = 0; round < 20 && session.notices.size() == before; ++round) loop_.run_once(std::chrono::seconds(2));
    ASSERT_EQ(session.notices.size(), before + 1) << "the timer never found the new count";
    EXPECT_EQ(session.notices.back().value, bit);
  }
  line_.unsubscribe(session);
}

TEST_F(APortWithErrorCounters, AComPortsLineStateMaskStartsThePollingAndItsPeerGetsNotifyLinestate) {
  FedCounters& counters = adopt_with_counters();
  FakeOutput out;
  ComPort com(line_, out, Role::monitor);  // a monitor may ask for notifications too
  std::vector<std::uint8_t> to_device, mask_request;
  telnet::subnegotiation(telnet::kComPort, std::vector<std::uint8_t>{10, linestate::break_detect}, mask_request);
  ASSERT_FALSE(com.from_peer(mask_request, to_device));
  EXPECT_TRUE(line_.polling_line_errors());
  out.sent.clear();
  ++counters.counts.brk;
  ++counters.counts.parity;  // not in its mask
  line_.poll();
  // IAC SB COM-PORT-OPTION NOTIFY-LINESTATE(106) break-detect IAC SE
  EXPECT_EQ(out.sent, (std::vector<std::uint8_t>{255, 250, 44, 106, 0x10, 255, 240}));
  EXPECT_TRUE(to_device.empty());
}
