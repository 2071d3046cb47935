// SPDX-License-Identifier: Apache-2.0
// The bridge's filter over a real pty in packet mode with EXTPROC: a tcsetattr by "the
// software" on the slave becomes RFC 2217 commands, data is escaped out and decoded in.
#include "tools/ttygate-client/line_follow.hpp"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>

#include "common/unique_fd.hpp"
#include "raw_pty.hpp"

using namespace ttygate;
using ttygate::client::LineFollow;

namespace {

using Bytes = std::vector<std::byte>;

Bytes bytes(std::initializer_list<int> values) {
  Bytes out;
  for (int v : values) out.push_back(static_cast<std::byte>(v));
  return out;
}

bool contains(const Bytes& hay, const Bytes& needle) {
  return std::search(hay.begin(), hay.end(), needle.begin(), needle.end()) != hay.end();
}

class ALineFollow : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(test_support::open_raw_pty(master_, slave_));
    int on = 1;
    ASSERT_EQ(::ioctl(master_.get(), TIOCPKT, &on), 0);
    termios t{};
    ::tcgetattr(slave_.get(), &t);
    t.c_lflag |= EXTPROC;
    ::tcsetattr(slave_.get(), TCSANOW, &t);
    baseline_ = t;
    packet();  // the EXTPROC change itself
  }
  // One read from the master, as the relay does it.
  Bytes packet() {
    pollfd p{master_.get(), POLLIN, 0};
    if (::poll(&p, 1, 1000) != 1) return {};
    Bytes buffer(4096);
    ssize_t n = ::read(master_.get(), buffer.data(), buffer.size());
    buffer.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
    return buffer;
  }

  // What serial software asks for 9600 7E1 (CLOCAL set, as it does).
  termios seven_e1_at_9600() const {
    termios want = baseline_;
    cfsetspeed(&want, B9600);
    want.c_cflag = (want.c_cflag & ~CSIZE) | CS7 | PARENB | CLOCAL;
    return want;
  }

  UniqueFd master_, slave_;
  termios baseline_{};
};

}  // namespace

TEST_F(ALineFollow, SendsWhatATcsetattrChangedAsRfc2217Commands) {
  LineFollow follow(master_.get(), slave_.get(), baseline_);
  follow.set_rfc2217(true);
  termios t = baseline_;
  cfsetspeed(&t, B57600);
  t.c_cflag |= CSTOPB | CRTSCTS;
  ASSERT_EQ(::tcsetattr(slave_.get(), TCSANOW, &t), 0);
  Bytes in = packet();
  ASSERT_FALSE(in.empty());
  EXPECT_TRUE(static_cast<int>(in[0]) & TIOCPKT_IOCTL);
  Bytes out;
  follow.outgoing(in, out);
  EXPECT_TRUE(contains(out, bytes({255, 250, 44, 1, 0, 0, 0xE1, 0x00, 255, 240}))) << "SET-BAUDRATE 57600";
  EXPECT_TRUE(contains(out, bytes({255, 250, 44, 4, 2, 255, 240}))) << "SET-STOPSIZE 2";
  EXPECT_TRUE(contains(out, bytes({255, 250, 44, 5, 3, 255, 240}))) << "SET-CONTROL hardware flow";
  EXPECT_EQ(follow.changes_sent(), 3u);
  out.clear();
  follow.opening(out);  // a reconnection sends the changes again
  EXPECT_TRUE(contains(out, bytes({255, 251, 44})));
  EXPECT_TRUE(contains(out, bytes({255, 250, 44, 1, 0, 0, 0xE1, 0x00, 255, 240})));
}

TEST_F(ALineFollow, EscapesDataOutAndDecodesTheGatewaysTelnetIn) {
  LineFollow follow(master_.get(), slave_.get(), baseline_);
  follow.set_rfc2217(true);
  Bytes out;
  follow.outgoing(bytes({TIOCPKT_DATA, 'a', 255, 'b'}), out);
  EXPECT_EQ(out, bytes({'a', 255, 255, 'b'}));
  Bytes local;
  ASSERT_FALSE(follow.incoming(bytes({255, 251, 0, 'x', 255, 255, 255, 250, 44, 101, 0, 0, 0x25, 0x80, 255, 240, 'y'}),
                               local));
  EXPECT_EQ(local, bytes({'x', 255, 'y'}));
}

TEST_F(ALineFollow, OnARawSessionOnlyStripsTheStatusByte) {
  LineFollow follow(master_.get(), slave_.get(), baseline_);
  follow.set_rfc2217(false);
  Bytes out;
  follow.outgoing(bytes({TIOCPKT_DATA, 'a', 255}), out);
  follow.outgoing(bytes({TIOCPKT_IOCTL}), out);
  EXPECT_EQ(out, bytes({'a', 255}));
  Bytes local;
  ASSERT_FALSE(follow.incoming(bytes({255, 255}), local));
  EXPECT_EQ(local, bytes({255, 255}));
}

// Debian's glibc fails a tcsetattr that changed nothing while asking for CS7/PARENB (which a pty
// drops): the park after each change makes the same request a change again.
TEST_F(ALineFollow, ParksThePtySoTheSameSevenE1TcsetattrSucceedsAgain) {
  LineFollow follow(master_.get(), slave_.get(), baseline_);
  follow.set_rfc2217(true);
  const termios want = seven_e1_at_9600();
  ASSERT_EQ(::tcsetattr(slave_.get(), TCSANOW, &want), 0);  // the first open: the speed changed
  Bytes out;
  follow.outgoing(packet(), out);
  EXPECT_EQ(follow.parks(), 1u);
  termios parked{};
  ::tcgetattr(slave_.get(), &parked);
  EXPECT_FALSE(parked.c_cflag & CLOCAL);
  EXPECT_EQ(cfgetospeed(&parked), static_cast<speed_t>(B9600)) << "the park touches CLOCAL and HUPCL only";
  const unsigned sent = follow.changes_sent();
  follow.outgoing(packet(), out);  // the park's own report: neither forwarded nor parked again
  EXPECT_EQ(follow.changes_sent(), sent);
  EXPECT_EQ(follow.parks(), 1u);
  EXPECT_EQ(::tcsetattr(slave_.get(), TCSANOW, &want), 0) << "the second open, same 7E1";
}

TEST_F(ALineFollow, SkipsTheParkWhileANewerChangeIsReported) {
  LineFollow follow(master_.get(), slave_.get(), baseline_);
  follow.set_rfc2217(true);
  termios first = baseline_, second = baseline_;
  cfsetspeed(&first, B9600);
  cfsetspeed(&second, B19200);
  ASSERT_EQ(::tcsetattr(slave_.get(), TCSANOW, &first), 0);
  Bytes report = packet();
  ASSERT_EQ(::tcsetattr(slave_.get(), TCSANOW, &second), 0);  // before the bridge got to the first
  Bytes out;
  follow.outgoing(report, out);
  EXPECT_EQ(follow.parks(), 0u) << "parking now could undo the newer change";
  follow.outgoing(packet(), out);
  EXPECT_EQ(follow.parks(), 1u);
  termios now{};
  ::tcgetattr(slave_.get(), &now);
  EXPECT_EQ(cfgetospeed(&now), static_cast<speed_t>(B19200));
}

// pyserial flushes right after its tcsetattr on every open: the flush's report is pending when
// the bridge reads the change, so the park waits, and it must still happen with the flush.
TEST_F(ALineFollow, ParksAfterTheFlushThatSerialSoftwareMakesRightAfterItsChange) {
  LineFollow follow(master_.get(), slave_.get(), baseline_);
  follow.set_rfc2217(true);
  const termios want = seven_e1_at_9600();
  ASSERT_EQ(::tcsetattr(slave_.get(), TCSANOW, &want), 0);
  Bytes change = packet();
  ASSERT_EQ(::tcflush(slave_.get(), TCIFLUSH), 0);  // before the bridge got to the change
  Bytes out;
  follow.outgoing(change, out);
  EXPECT_EQ(follow.parks(), 0u);
  follow.outgoing(packet(), out);  // the flush's report
  EXPECT_EQ(follow.parks(), 1u);
  EXPECT_EQ(::tcsetattr(slave_.get(), TCSANOW, &want), 0) << "the second open, same 7E1";
}
