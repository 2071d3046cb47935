// SPDX-License-Identifier: Apache-2.0
// One session's RFC 2217 side over a real pty (the "device"): what reaches the tty, what the
// peer is told, and what the other sessions on the port are told. No sockets: a fake output.
#include "daemon/com_port.hpp"

#include <gtest/gtest.h>
#include <termios.h>

#include <algorithm>

#include "common/unique_fd.hpp"
#include "raw_pty.hpp"

using namespace ttygate;
using namespace ttygate::daemon;

namespace {

using Bytes = std::vector<std::uint8_t>;

struct FakeOutput final : ComPortOutput {
  Bytes sent;
  int discarded = 0;
  bool suspended = false;
  void send_to_peer(std::span<const std::uint8_t> bytes) override { sent.insert(sent.end(), bytes.begin(), bytes.end()); }
  void discard_to_device() override { ++discarded; }
  void suspend_output(bool s) override { suspended = s; }
  bool got(const Bytes& needle) const {
    return std::search(sent.begin(), sent.end(), needle.begin(), needle.end()) != sent.end();
  }
};

Bytes request(std::uint8_t command, Bytes value) {
  Bytes payload{command};
  payload.insert(payload.end(), value.begin(), value.end());
  Bytes out;
  telnet::subnegotiation(telnet::kComPort, payload, out);
  return out;
}

class AComPort : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(test_support::open_raw_pty(master_, slave_));
    port_.name = "toy";
    line_.adopt(slave_.get());
  }
  speed_t device_speed() {
    termios t{};
    ::tcgetattr(master_.get(), &t);
    return cfgetospeed(&t);
  }

  Loop loop_;
  PortConfig port_;
  PortLine line_{loop_, port_};
  UniqueFd master_, slave_;
};

}  // namespace

TEST_F(AComPort, OpensWithBinaryAndComPortOptionOffers) {
  FakeOutput out;
  ComPort com(line_, out, Role::control);
  com.start();
  EXPECT_TRUE(out.got({255, 253, 44}));  // DO COM-PORT-OPTION
  EXPECT_TRUE(out.got({255, 251, 0}));   // WILL BINARY
}

TEST_F(AComPort, AppliesAControlSessionsBaudAndRepliesWithTheValueInEffect) {
  FakeOutput out;
  ComPort com(line_, out, Role::control);
  Bytes data;
  ASSERT_FALSE(com.from_peer(request(1, {0, 0, 0x25, 0x80}), data));
  EXPECT_EQ(device_speed(), B9600);
  EXPECT_TRUE(out.got({255, 250, 44, 101, 0, 0, 0x25, 0x80, 255, 240}));
  EXPECT_TRUE(data.empty());
}

TEST_F(AComPort, AnswersAMonitorsChangeWithTheValueInEffectAndChangesNothing) {
  FakeOutput out;
  ComPort com(line_, out, Role::monitor);
  Bytes data;
  ASSERT_FALSE(com.from_peer(request(1, {0, 0, 0x25, 0x80}), data));
  EXPECT_EQ(device_speed(), B115200);
  EXPECT_TRUE(out.got({255, 250, 44, 101, 0, 1, 0xC2, 0x00, 255, 240}));  // 115200
}

TEST_F(AComPort, TellsTheOtherSessionsOfAChangeButNotTheOneThatMadeIt) {
  FakeOutput a_out, b_out;
  ComPort a(line_, a_out, Role::control), b(line_, b_out, Role::monitor);
  Bytes data;
  ASSERT_FALSE(a.from_peer(request(4, {2}), data));  // two stop bits: a pty keeps CSTOPB
  const Bytes told = {255, 250, 44, 104, 2, 255, 240};
  EXPECT_TRUE(b_out.got(told));
  EXPECT_EQ(std::count(a_out.sent.begin(), a_out.sent.end(), 104), 1);  // its reply, once
}

// A pty slave forces CS8 (pty_set_termios), so CS7 is a value the device itself refuses.
TEST_F(AComPort, AnswersAChangeTheDeviceRefusedWithTheValueInEffect) {
  FakeOutput out;
  ComPort com(line_, out, Role::control);
  Bytes data;
  ASSERT_FALSE(com.from_peer(request(2, {7}), data));
  EXPECT_TRUE(out.got({255, 250, 44, 102, 8, 255, 240}));
}

TEST_F(AComPort, RefusesOutOfRangeValuesWithTheValueInEffect) {
  FakeOutput out;
  ComPort com(line_, out, Role::control);
  Bytes data;
  ASSERT_FALSE(com.from_peer(request(2, {9}), data));
  ASSERT_FALSE(com.from_peer(request(4, {3}), data));
  EXPECT_TRUE(out.got({255, 250, 44, 102, 8, 255, 240}));
  EXPECT_TRUE(out.got({255, 250, 44, 104, 1, 255, 240}));
}

TEST_F(AComPort, UnescapesDataForTheDevice) {
  FakeOutput out;
  ComPort com(line_, out, Role::control);
  Bytes data;
  ASSERT_FALSE(com.from_peer(Bytes{'a', 255, 255, 'b'}, data));
  EXPECT_EQ(data, (Bytes{'a', 255, 'b'}));
}

TEST_F(AComPort, HandsNoDataToTheDeviceFromMalformedInput) {
  FakeOutput out;
  ComPort com(line_, out, Role::control);
  Bytes data;
  auto why = com.from_peer(Bytes{'a', 'b', 'c', 255, 250, 44, 1, 0, 37, 255, 240}, data);
  ASSERT_TRUE(why);
  EXPECT_NE(why->find("SET-BAUDRATE"), std::string::npos) << *why;
  EXPECT_TRUE(data.empty());
  EXPECT_EQ(device_speed(), B115200);
}

TEST_F(AComPort, AcknowledgesAWantedOptionWithoutLooping) {
  FakeOutput out;
  ComPort com(line_, out, Role::control);
  com.start();
  out.sent.clear();
  Bytes data;
  ASSERT_FALSE(com.from_peer(Bytes{255, 251, 44, 255, 251, 44, 255, 251, 1}, data));  // WILL COM-PORT twice, WILL ECHO
  EXPECT_FALSE(out.got({255, 253, 44}));  // already asked: no second DO
  EXPECT_TRUE(out.got({255, 254, 1}));    // DONT ECHO
  EXPECT_TRUE(out.got({255, 250, 44, 107}));  // the modem state once COM-PORT is on
}
