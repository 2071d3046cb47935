// SPDX-License-Identifier: Apache-2.0
// The relay without a serial port: the device is one end of a socketpair, the sessions are fake
// subscribers, and the real loop moves the bytes. Fan-out, ordered device writes, backpressure
// and its release, a device that hangs up, exclusive control; then a pty that is unplugged and
// plugged back under load.
#include "daemon/relay.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <pty.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "common/concat.hpp"
#include "socket_device.hpp"
#include "temp_dir.hpp"

using namespace std::chrono_literals;
using namespace ttygate;
using namespace ttygate::daemon;

namespace {

struct FakeSubscriber final : RelaySubscriber {
  Relay* relay = nullptr;
  Role my_role = Role::control;
  bool live = true;
  std::string received;
  int resumed = 0;
  std::string closed_for;
  std::function<void()> on_data;  // runs inside from_device

  bool relaying() const override { return live; }
  Role role() const override { return my_role; }
  void from_device(std::span<const std::byte> data) override {
    received.append(reinterpret_cast<const char*>(data.data()), data.size());
    if (on_data) on_data();
  }
  void resume_input() override { ++resumed; }
  void close(std::string_view reason) override {
    closed_for = reason;
    live = false;
    relay->detach(*this);
  }
};

std::span<const std::byte> bytes(const std::string& s) { return std::as_bytes(std::span(s.data(), s.size())); }

// What both fixtures share: the real loop and relay on one port, fake sessions, and the test's
// end of the device (device_).
class RelayFixture : public ::testing::Test {
 protected:
  FakeSubscriber& subscriber(Role role = Role::control) {
    auto& s = subscribers_.emplace_back(std::make_unique<FakeSubscriber>());
    s->relay = &relay_;
    s->my_role = role;
    relay_.attach(*s);
    return *s;
  }
  // Runs the loop until `done`, or fails after patience_.
  void until(const std::function<bool()>& done) {
    auto deadline = std::chrono::steady_clock::now() + patience_;
    while (!done()) {
      ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "timed out";
      loop_.run_once(10ms);
    }
  }
  // What the device end has received so far (non-blocking).
  std::string drain_device() {
    std::string out;
    char buf[65536];
    pollfd p{device_.get(), POLLIN, 0};
    while (::poll(&p, 1, 0) == 1 && (p.revents & POLLIN)) {
      ssize_t n = ::read(device_.get(), buf, sizeof buf);
      if (n <= 0) break;
      out.append(buf, static_cast<std::size_t>(n));
    }
    return out;
  }

  std::chrono::seconds patience_ = 2s;
  Loop loop_;
  PortConfig port_;
  Relay relay_{loop_, port_};
  UniqueFd device_;
  std::vector<std::unique_ptr<FakeSubscriber>> subscribers_;
};

class ARelay : public RelayFixture {
 protected:
  void SetUp() override {
    port_.name = "toy";
    port_.device = "/dev/null";  // never opened: the test hands the relay its device
    ASSERT_TRUE(test_support::adopt_socket_device(relay_, device_));
  }
};

TEST_F(ARelay, FansDeviceOutputOutToEveryRelayingSession) {
  FakeSubscriber& a = subscriber();
  FakeSubscriber& b = subscriber(Role::monitor);
  FakeSubscriber& waiting = subscriber();
  waiting.live = false;  // still handshaking or pairing: not a receiver yet
  ASSERT_EQ(::write(device_.get(), "S 1 temp=21\n", 12), 12);
  until([&] { return a.received.size() == 12 && b.received.size() == 12; });
  EXPECT_EQ(a.received, "S 1 temp=21\n");
  EXPECT_EQ(b.received, a.received);
  EXPECT_EQ(waiting.received, "");
}

TEST_F(ARelay, KeepsDeliveringWhenASessionClosesDuringDelivery) {
  FakeSubscriber& first = subscriber();
  FakeSubscriber& second = subscriber();
  first.on_data = [&] { first.close("too slow"); };
  ASSERT_EQ(::write(device_.get(), "abc", 3), 3);
  until([&] { return second.received == "abc"; });
  EXPECT_EQ(relay_.sessions().size(), 1u);
  ASSERT_EQ(::write(device_.get(), "def", 3), 3);
  until([&] { return second.received == "abcdef"; });
  EXPECT_EQ(first.received, "abc");
}

TEST_F(ARelay, WritesInputToTheDeviceInTheOrderItCame) {
  FakeSubscriber& a = subscriber();
  FakeSubscriber& b = subscriber();
  std::string expected;
  for (int i = 0; i < 100; ++i) {
    std::string line = concat({i % 2 ? "b" : "a", std::to_string(i), "\n"});
    EXPECT_TRUE(relay_.to_device(bytes(line), i % 2 ? b : a));
    expected += line;
  }
  std::string got;
  until([&] { return (got += drain_device()).size() == expected.size(); });
  EXPECT_EQ(got, expected);
}

TEST_F(ARelay, WritesInputToTheDeviceAtOnceWhenNothingIsQueuedAhead) {
  FakeSubscriber& writer = subscriber();
  EXPECT_TRUE(relay_.to_device(bytes("AT+RESET\r"), writer));
  // No turn of the loop: the bytes reached the device inside to_device().
  EXPECT_EQ(drain_device(), "AT+RESET\r");
  EXPECT_EQ(loop_.run_once(0ms), 0u);  // and nothing was left for io_uring to complete
}

TEST_F(ARelay, QueuesInputBehindUnwrittenInputEvenWhenTheDeviceHasRoomAgain) {
  FakeSubscriber& writer = subscriber();
  // The fixture's device was handed over blocking: far more than its buffer takes must neither
  // block nor be lost; what it doesn't take at once is queued.
  std::string big(256 * 1024, 'x');
  for (std::size_t i = 0; i < big.size(); i += 1000) big[i] = static_cast<char>('A' + i / 1000 % 26);
  EXPECT_FALSE(relay_.to_device(bytes(big), writer));
  std::string got = drain_device();  // room again, before io_uring wrote the rest
  ASSERT_LT(got.size(), big.size()) << "the device took everything at once: nothing to overtake";
  relay_.to_device(bytes("END"), writer);
  until([&] { return (got += drain_device()).size() == big.size() + 3; });
  EXPECT_EQ(got, big + "END");
}

TEST_F(ARelay, PushesBackWhenTheDeviceLagsAndResumesOnceItDrains) {
  FakeSubscriber& writer = subscriber();
  FakeSubscriber& other = subscriber();
  std::string sent;
  std::string chunk(1024, 'x');
  bool accepted = true;
  for (int i = 0; accepted && i < 1000; ++i) {
    chunk[0] = static_cast<char>('A' + i % 26);
    accepted = relay_.to_device(bytes(chunk), writer);
    sent += chunk;
    loop_.run_once(0ms);
  }
  ASSERT_FALSE(accepted) << "the device queue never filled";
  EXPECT_GE(sent.size(), Relay::kDeviceQueueLimit);
  EXPECT_EQ(writer.resumed, 0);
  std::string got;
  until([&] { return (got += drain_device()).size() == sent.size(); });
  EXPECT_EQ(got, sent);  // nothing lost, nothing reordered
  EXPECT_EQ(writer.resumed, 1);
  EXPECT_EQ(other.resumed, 0);  // only the session that was told to wait is woken
}

TEST_F(ARelay, ForgetsABlockedSessionThatDetaches) {
  FakeSubscriber& writer = subscriber();
  std::string chunk(1024, 'x');
  std::size_t sent = 0;
  while (relay_.to_device(bytes(chunk), writer)) sent += chunk.size(), loop_.run_once(0ms);
  sent += chunk.size();
  relay_.detach(writer);
  std::string got;
  until([&] { return (got += drain_device()).size() == sent; });
  EXPECT_EQ(writer.resumed, 0);
}

TEST_F(ARelay, ClosesEverySessionWhenTheDeviceHangsUp) {
  FakeSubscriber& a = subscriber();
  FakeSubscriber& b = subscriber(Role::monitor);
  device_.reset();
  until([&] { return !a.closed_for.empty() && !b.closed_for.empty(); });
  EXPECT_EQ(a.closed_for, "device lost");
  EXPECT_EQ(b.closed_for, "device lost");
  EXPECT_FALSE(relay_.device_open());
  EXPECT_TRUE(relay_.sessions().empty());
}

TEST_F(ARelay, DiscardsInputOnceTheDeviceIsGone) {
  FakeSubscriber& a = subscriber();
  device_.reset();
  until([&] { return !relay_.device_open(); });
  EXPECT_TRUE(relay_.to_device(bytes("A led on\n"), a));  // never blocks a session being closed
}

TEST_F(ARelay, HasABusyControllerOnlyWhenExclusiveWithAControlSession) {
  struct Case {
    ControlMode mode;
    std::vector<Role> roles;
    bool busy;
  } cases[] = {
      {ControlMode::exclusive, {}, false},
      {ControlMode::exclusive, {Role::monitor, Role::monitor}, false},
      {ControlMode::exclusive, {Role::monitor, Role::control}, true},
      {ControlMode::shared, {Role::control, Role::control}, false},
  };
  for (const Case& c : cases) {
    port_.control = c.mode;
    for (auto& s : subscribers_) relay_.detach(*s);
    subscribers_.clear();
    for (Role r : c.roles) subscriber(r);
    EXPECT_EQ(relay_.controller_busy(), c.busy) << c.roles.size() << " sessions";
  }
}

// The device as the gateway meets it in the field: a tty linked at the port's path. Unplugging
// hangs the line up (the pty's master closes) and removes the link; plugging makes a new pty and
// links it. The relay must notice, reopen the path by itself, and relay both ways on the new
// device to a new session, however much input was in flight when the old one went.
class ARelayWhoseTtyIsReplugged : public RelayFixture {
 protected:
  void SetUp() override {
    patience_ = 5s;  // each step goes through a tty hang-up or a reopen of the path
    port_.name = "toy";
    port_.device = dir_.path() / "tty-toy";
    plug();
    relay_.start();
    ASSERT_TRUE(relay_.device_open());
  }
  void plug() {
    int master = -1, slave = -1;
    ASSERT_EQ(::openpty(&master, &slave, nullptr, nullptr, nullptr), 0);
    device_ = UniqueFd(master);
    slave_ = UniqueFd(slave);
    std::filesystem::path fresh = port_.device.string() + ".new";
    std::filesystem::create_symlink(::ttyname(slave), fresh);
    std::filesystem::rename(fresh, port_.device);
  }
  void unplug() {
    std::filesystem::remove(port_.device);
    device_.reset();
    slave_.reset();
  }
  // One exchange each way between a new session and the device that is plugged in now.
  void exchange(const std::string& up, const std::string& down) {
    FakeSubscriber& s = subscriber();
    EXPECT_TRUE(relay_.to_device(bytes(up), s));
    std::string got;
    until([&] { return (got += drain_device()).size() >= up.size(); });
    EXPECT_EQ(got, up);
    ASSERT_EQ(::write(device_.get(), down.data(), down.size()), static_cast<ssize_t>(down.size()));
    until([&] { return s.received.size() >= down.size(); });
    EXPECT_EQ(s.received, down);
  }

  test_support::TempDir dir_;
  UniqueFd slave_;
};

TEST_F(ARelayWhoseTtyIsReplugged, RelaysBothWaysOnTheReturningDeviceAfterItVanishedWithInputInFlight) {
  for (int cycle = 0; cycle < 20; ++cycle) {
    exchange(concat({"u", std::to_string(cycle)}), concat({"d", std::to_string(cycle)}));
    FakeSubscriber& writer = subscriber();
    // The device reads nothing: writes pile up in the tty and the relay until it pushes back.
    std::string chunk(512, 'x');
    while (relay_.to_device(bytes(chunk), writer)) loop_.run_once(0ms);
    unplug();
    until([&] { return !relay_.device_open(); });
    EXPECT_EQ(writer.closed_for, "device lost");
    EXPECT_TRUE(relay_.sessions().empty());
    plug();
    until([&] { return relay_.device_open(); });
  }
  exchange("end", "bye");
}

}  // namespace
