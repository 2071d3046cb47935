// SPDX-License-Identifier: Apache-2.0
// A session without a gateway or a network: a fake host (its policy and hooks), a socketpair
// with a real OpenSSL client at the other end, a socketpair as the device, and the real loop.
// Every state (handshaking → pairing → relaying → closed) and the ways out of each.
#include "daemon/session.hpp"

#include <gtest/gtest.h>
#include <openssl/err.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "ktls/identity.hpp"
#include "ktls/pairing_protocol.hpp"
#include "ktls/tls_context.hpp"
#include "socket_device.hpp"
#include "temp_dir.hpp"

using namespace std::chrono_literals;
using namespace ttygate;
using namespace ttygate::daemon;

namespace {

// The gateway as a session sees it: a policy with a table of known pins, and a log of hooks.
struct FakeHost final : SessionHost, ktls::PeerPolicy {
  Loop& loop_;
  Config config_;
  ktls::KernelTlsSupport kernel_;  // none: sessions stay in user space here
  std::array<std::byte, 16 * 1024> scratch_{};
  std::map<ktls::Pin, Role> known;
  bool window_open = false;
  bool still_admitted = true;
  std::vector<std::string> events;
  std::vector<ktls::pairing::Step> exchange_ends;
  std::function<void(Session&)> on_candidate;
  SessionTally tally_;  // before sessions: their tokens refer to it
  std::vector<std::unique_ptr<Session>> sessions;
  // Whose counts every hook checks against a walk over every session.
  const Relay* watched_relay = nullptr;
  ktls::Pin watched_pin{};

  explicit FakeHost(Loop& loop) : loop_(loop) {}
  Loop& loop() override { return loop_; }
  const Config& config() const override { return config_; }
  const ktls::KernelTlsSupport& kernel_tls() const override { return kernel_; }
  std::span<std::byte> scratch() override { return scratch_; }
  SessionTally& tally() override { return tally_; }

  // The session caps' counts the way the gateway once got them: walking every session.
  SessionCounts walk(const ktls::Pin& pin, const Relay& relay) const {
    SessionCounts counts;
    for (const auto& s : sessions) {
      if (!s->relaying()) continue;
      if (&s->relay() == &relay) ++counts.on_port;
      if (s->pin() == pin) ++counts.of_client;
    }
    return counts;
  }
  void expect_tally_matches_walk() const {
    if (!watched_relay) return;
    SessionCounts kept = tally_.counts(watched_pin, *watched_relay);
    SessionCounts walked = walk(watched_pin, *watched_relay);
    EXPECT_EQ(kept.on_port, walked.on_port);
    EXPECT_EQ(kept.of_client, walked.of_client);
    EXPECT_EQ(tally_.total(), static_cast<std::size_t>(std::count_if(
                                  sessions.begin(), sessions.end(), [](const auto& s) { return s->relaying(); })));
  }

  bool admit_established(const Session&) override {
    events.push_back("admit_established");
    expect_tally_matches_walk();
    return still_admitted;
  }
  std::string client_name(const ktls::Pin&) const override { return "phone"; }
  void handshake_finished(const Peer&) override { events.push_back("handshake_finished"); }
  void session_relaying(const Session&) override {
    events.push_back("relaying");
    expect_tally_matches_walk();
  }
  void session_closed(Session&) override {
    events.push_back("closed");
    expect_tally_matches_walk();
  }
  void pairing_candidate(Session& s) override {
    events.push_back("candidate");
    if (on_candidate) on_candidate(s);
  }
  void pairing_exchange_ended(Session&, const ktls::pairing::Step& step) override {
    events.push_back("exchange ended");
    exchange_ends.push_back(step);
  }
  bool admit(SSL* ssl, const ktls::Pin& pin) override {
    auto* session = static_cast<Session*>(SSL_get_app_data(ssl));
    if (auto it = known.find(pin); it != known.end()) {
      session->set_client(pin, it->second);
      return true;
    }
    if (window_open) session->set_candidate(pin);
    return window_open;
  }
};


class ASession : public ::testing::Test {
 protected:
  ASession() = default;
  // A loop with another receive ring (e.g. one buffer, so it runs out).
  explicit ASession(ReceiveRing ring) : loop_(512, ring) {}

  void SetUp() override {
    std::signal(SIGPIPE, SIG_IGN);  // as ttygated does: a peer that left is an error return, not a signal
    auto gateway = ktls::load_or_create_identity(ktls::identity_files(dir_.path(), "gateway"), "gateway");
    auto client = ktls::load_or_create_identity(ktls::identity_files(dir_.path(), "client"), "phone");
    ASSERT_TRUE(gateway && client);
    client_pin_ = client->pin;
    auto server_ctx = ktls::make_server_context(*gateway, host_);
    auto client_ctx = ktls::make_client_context(*client, client_policy_);
    ASSERT_TRUE(server_ctx && client_ctx);
    server_ctx_ = std::move(*server_ctx);
    client_ctx_ = std::move(*client_ctx);
    port_.name = "toy";
    ASSERT_TRUE(test_support::adopt_socket_device(relay_, device_));
    host_.config_.limits.handshake_timeout = 2000ms;
    host_.watched_relay = &relay_;
    host_.watched_pin = client_pin_;
  }

  // A session on one end of a socketpair, a TLS client on the other, both started.
  Session& connect() { return connect(relay_); }
  Session& connect(Relay& relay) {
    int fds[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), 0);
    peer_ = UniqueFd(fds[1]);
    int small = 16384;
    EXPECT_EQ(::setsockopt(fds[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof small), 0);
    client_.reset(SSL_new(client_ctx_.get()));
    SSL_set_fd(client_.get(), peer_.get());
    SSL_set_connect_state(client_.get());
    auto handshake = Handshake::accept(server_ctx_.get(), UniqueFd(fds[0]));
    EXPECT_TRUE(handshake);
    auto& s = *host_.sessions.emplace_back(std::make_unique<Session>(host_, relay, 1, std::move(*handshake), Peer{}));
    s.start(host_.config_.limits.handshake_timeout, host_.config_.limits.hello_timeout);
    return s;
  }
  // Drives the client and the loop until `done`, or fails after three seconds.
  void until(const std::function<bool()>& done) {
    auto deadline = std::chrono::steady_clock::now() + 3s;
    while (!done()) {
      ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "timed out";
      if (!SSL_is_init_finished(client_.get())) {
        ERR_clear_error();
        SSL_do_handshake(client_.get());
      }
      loop_.run_once(5ms);
    }
  }
  // Keeps the current client connected while connect() starts another.
  void keep_client() {
    kept_clients_.push_back(std::move(client_));
    kept_peers_.push_back(std::move(peer_));
  }
  SessionCounts counted() const { return host_.tally_.counts(client_pin_, relay_); }
  bool has(const std::string& event) const {
    return std::find(host_.events.begin(), host_.events.end(), event) != host_.events.end();
  }
  // What the client has read so far (non-blocking), appended to received_.
  const std::string& client_read() {
    char buf[16384];
    ERR_clear_error();
    for (int n; (n = SSL_read(client_.get(), buf, sizeof buf)) > 0;) received_.append(buf, n);
    return received_;
  }
  void client_write(const std::string& data) { ASSERT_EQ(SSL_write(client_.get(), data.data(), data.size()), static_cast<int>(data.size())); }
  std::string device_read() {
    std::string out;
    char buf[16384];
    for (ssize_t n; (n = ::recv(device_.get(), buf, sizeof buf, MSG_DONTWAIT)) > 0;) out.append(buf, n);
    return out;
  }
  // A session of a client in this role, driven until it relays.
  Session& relaying_as(Role role) {
    host_.known[client_pin_] = role;
    Session& s = connect();
    until([&] { return s.relaying(); });
    return s;
  }
  // Drives the client and the loop until the device has received exactly `want`.
  void until_device_got(const std::string& want) {
    std::string got;
    until([&] { return (got += device_read()) == want; });
  }

  test_support::TempDir dir_;
  Loop loop_;
  FakeHost host_{loop_};
  ktls::FixedPinPolicy client_policy_{std::nullopt};
  SslCtxPtr server_ctx_, client_ctx_;
  ktls::Pin client_pin_{};
  PortConfig port_;
  Relay relay_{loop_, port_};
  UniqueFd device_, peer_;
  SslPtr client_;
  std::string received_;
  std::vector<SslPtr> kept_clients_;
  std::vector<UniqueFd> kept_peers_;
};

TEST_F(ASession, OfAKnownClientRelaysAfterItsHandshake) {
  host_.known[client_pin_] = Role::control;
  Session& s = connect();
  EXPECT_EQ(s.state(), Session::State::handshaking);
  EXPECT_EQ(s.rekey(), "");  // no record layer yet
  until([&] { return s.relaying(); });
  EXPECT_EQ(host_.events, (std::vector<std::string>{"handshake_finished", "admit_established", "relaying"}));
  EXPECT_EQ(s.offload(), ktls::Offload::user);
  EXPECT_EQ(s.rekey(), "keyupdate");  // OpenSSL updates keys in place
  EXPECT_EQ(s.role(), Role::control);
  EXPECT_EQ(relay_.sessions().size(), 1u);
  EXPECT_EQ(s.ssl(), nullptr);  // the record layer now belongs to the channel
}

TEST_F(ASession, OfAnUnknownClientClosesInTheHandshakeAndNeverReachesTheRelay) {
  Session& s = connect();
  until([&] { return s.state() == Session::State::closed; });
  EXPECT_EQ(host_.events, (std::vector<std::string>{"handshake_finished", "closed"}));
  EXPECT_TRUE(relay_.sessions().empty());
}

TEST_F(ASession, ClosesWhenTheHandshakeTimesOut) {
  host_.config_.limits.handshake_timeout = 100ms;
  Session& s = connect();
  auto deadline = std::chrono::steady_clock::now() + 3s;
  while (s.state() != Session::State::closed && std::chrono::steady_clock::now() < deadline) loop_.run_once(10ms);
  EXPECT_EQ(s.state(), Session::State::closed);  // the client never spoke
  EXPECT_EQ(host_.events, (std::vector<std::string>{"handshake_finished", "closed"}));
}

TEST_F(ASession, ClosesAtTheHelloDeadlineWhenNoClientHelloArrives) {
  host_.config_.limits.handshake_timeout = 60s;
  host_.config_.limits.hello_timeout = 100ms;
  Session& s = connect();
  auto started = std::chrono::steady_clock::now();
  while (s.state() != Session::State::closed && std::chrono::steady_clock::now() < started + 3s) loop_.run_once(10ms);
  EXPECT_EQ(s.state(), Session::State::closed);  // long before the handshake timeout
  EXPECT_EQ(host_.events, (std::vector<std::string>{"handshake_finished", "closed"}));
}

TEST_F(ASession, KeepsTheHandshakeTimeoutOnceItsClientHelloArrived) {
  host_.config_.limits.handshake_timeout = 600ms;
  host_.config_.limits.hello_timeout = 100ms;
  Session& s = connect();
  ERR_clear_error();
  SSL_do_handshake(client_.get());  // the ClientHello, then the client stalls
  auto started = std::chrono::steady_clock::now();
  while (!s.hello_received() && std::chrono::steady_clock::now() < started + 3s) loop_.run_once(10ms);
  ASSERT_TRUE(s.hello_received());
  while (std::chrono::steady_clock::now() < started + 300ms) loop_.run_once(10ms);
  EXPECT_EQ(s.state(), Session::State::handshaking);  // past the hello deadline, still running
  while (s.state() != Session::State::closed && std::chrono::steady_clock::now() < started + 3s) loop_.run_once(10ms);
  EXPECT_EQ(s.state(), Session::State::closed);  // at the handshake timeout
}

TEST_F(ASession, ClosesWhenTheClientIsNoLongerAdmittedAfterTheHandshake) {
  host_.known[client_pin_] = Role::control;
  host_.still_admitted = false;  // removed, re-roled or the port filled meanwhile
  Session& s = connect();
  until([&] { return s.state() == Session::State::closed; });
  EXPECT_EQ(host_.events, (std::vector<std::string>{"handshake_finished", "admit_established", "closed"}));
  EXPECT_TRUE(relay_.sessions().empty());
}

TEST_F(ASession, ClosesWhenThePeerSendsCloseNotify) {
  Session& s = relaying_as(Role::control);
  SSL_shutdown(client_.get());
  until([&] { return s.state() == Session::State::closed; });
  EXPECT_TRUE(relay_.sessions().empty());
  EXPECT_EQ(host_.events.back(), "closed");
}

TEST_F(ASession, RelaysDeviceOutputToThePeerAndControlInputToTheDevice) {
  Session& s = relaying_as(Role::control);
  ASSERT_EQ(::write(device_.get(), "S 1 temp=21\n", 12), 12);
  until([&] { return client_read() == "S 1 temp=21\n"; });
  client_write("A led on\n");
  until_device_got("A led on\n");
  EXPECT_EQ(s.bytes_in(), 9u);
  EXPECT_EQ(s.bytes_out(), 12u);
  EXPECT_EQ(s.bytes_dropped(), 0u);
}

TEST_F(ASession, DropsAndCountsMonitorInput) {
  Session& s = relaying_as(Role::monitor);
  client_write("A motor 255\n");
  until([&] { return s.bytes_dropped() == 12; });
  EXPECT_EQ(s.bytes_in(), 12u);
  loop_.run_once(20ms);
  EXPECT_EQ(device_read(), "");
  ASSERT_EQ(::write(device_.get(), "S 2\n", 4), 4);  // a monitor still reads
  until([&] { return client_read() == "S 2\n"; });
}

TEST_F(ASession, IsCutWhenItsPeerFallsTooFarBehind) {
  host_.config_.limits.session_buffer = 16 * 1024;
  Session& s = relaying_as(Role::monitor);
  std::string chunk(4096, 'x');
  // The client reads nothing: the socket fills, then the session's own queue.
  until([&] {
    if (s.state() != Session::State::closed) (void)!::write(device_.get(), chunk.data(), chunk.size());
    return s.state() == Session::State::closed;
  });
  EXPECT_TRUE(relay_.sessions().empty());
  EXPECT_LE(s.queued(), host_.config_.limits.session_buffer);
}

TEST_F(ASession, StopsReadingWhileTheDeviceQueueIsFullAndResumesAfter) {
  Session& s = relaying_as(Role::control);
  std::string sent;
  std::string chunk(8192, 'y');
  for (int i = 0; i < 24; ++i) {  // 192 KiB: three times the device queue
    chunk[0] = static_cast<char>('a' + i);
    client_write(chunk);
    sent += chunk;
  }
  // The device reads nothing for a while: the session stops short of everything sent.
  for (int i = 0; i < 50; ++i) loop_.run_once(2ms);
  EXPECT_LT(s.bytes_in(), sent.size());
  std::string at_device;
  until([&] { return (at_device += device_read()).size() == sent.size(); });
  EXPECT_EQ(at_device, sent);
  EXPECT_EQ(s.bytes_in(), sent.size());
}

TEST_F(ASession, OfAnUnknownClientInAPairingWindowWaitsForTheVerdictWithoutReachingTheDevice) {
  host_.window_open = true;
  Session& s = connect();
  until([&] { return s.state() == Session::State::pairing; });
  EXPECT_TRUE(s.candidate());
  EXPECT_NE(s.ssl(), nullptr);  // the SSL stays for the exchange and the verdict
  EXPECT_EQ(host_.events, (std::vector<std::string>{"handshake_finished", "candidate"}));
  EXPECT_TRUE(relay_.sessions().empty());
  ASSERT_EQ(::write(device_.get(), "S 1\n", 4), 4);  // device output is not the candidate's
  client_write("A led on\n");  // no exchange ("button", "auto"): it waits in the socket
  for (int i = 0; i < 10; ++i) loop_.run_once(5ms);
  EXPECT_EQ(device_read(), "");
  EXPECT_EQ(client_read(), "");
  s.paired(Role::control);
  EXPECT_TRUE(s.relaying());
  until([&] { return client_read() == "TTYGATE PAIRED control\n"; });
  std::string at_device;
  until([&] { return (at_device += device_read()) == "A led on\n"; });  // relayed once accepted
}

// The greeting is the session's first output: a session that closes while sending it (here its
// output limit is smaller than the greeting) must not stay attached to the relay, where the
// next device output would reach it after it was freed.
TEST_F(ASession, ThatClosesWhileSendingItsPairingGreetingIsNeverLeftAttachedToTheRelay) {
  host_.window_open = true;
  Session& s = connect();
  until([&] { return s.state() == Session::State::pairing; });
  host_.config_.limits.session_buffer = 8;  // less than "TTYGATE PAIRED control\n"
  s.paired(Role::control);
  EXPECT_EQ(s.state(), Session::State::closed);
  EXPECT_TRUE(relay_.sessions().empty());
  EXPECT_EQ(host_.events.back(), "closed");  // never announced as relaying after it closed
  EXPECT_EQ(std::count(host_.events.begin(), host_.events.end(), "relaying"), 0);
}

TEST_F(ASession, OfAPairingCandidateClosesWhenItLeaves) {
  host_.window_open = true;
  Session& s = connect();
  until([&] { return s.state() == Session::State::pairing; });
  peer_.reset();
  until([&] { return s.state() == Session::State::closed; });
  EXPECT_EQ(host_.events.back(), "closed");
}

// The session caps (max_sessions, max_sessions_per_client) read a tally kept as sessions start
// and stop relaying. Every hook of the fake host also checks it against a walk over every
// session, so each test above checks it on its own path too.
TEST_F(ASession, IsCountedForItsPortAndItsClientExactlyWhileItRelays) {
  host_.known[client_pin_] = Role::monitor;
  Session& s = connect();
  EXPECT_EQ(counted().of_client, 0u);  // a handshake is not a session yet
  until([&] { return s.relaying(); });
  EXPECT_EQ(counted().on_port, 1u);
  EXPECT_EQ(counted().of_client, 1u);
  // The gateway's own closes (an administrator, eviction, a removed or re-roled client, a
  // retired port, shutdown) all end here.
  s.close("disconnected by an administrator");
  EXPECT_EQ(counted().on_port, 0u);
  EXPECT_EQ(counted().of_client, 0u);
  EXPECT_EQ(host_.tally_.total(), 0u);
}

TEST_F(ASession, CountsEverySessionOfAClientAndEachOnlyOnItsOwnPort) {
  PortConfig bus;
  bus.name = "bus";
  Relay other(loop_, bus);
  Session& a = relaying_as(Role::monitor);
  keep_client();
  Session& b = connect();
  until([&] { return b.relaying(); });
  keep_client();
  Session& c = connect(other);
  until([&] { return c.relaying(); });
  EXPECT_EQ(counted().on_port, 2u);
  EXPECT_EQ(counted().of_client, 3u);
  EXPECT_EQ(host_.tally_.counts(client_pin_, other).on_port, 1u);
  host_.expect_tally_matches_walk();
  a.close("evicted");
  EXPECT_EQ(counted().on_port, 1u);
  EXPECT_EQ(counted().of_client, 2u);
  host_.sessions.clear();  // destroyed while relaying, as at the gateway's end
  EXPECT_EQ(counted().on_port, 0u);
  EXPECT_EQ(counted().of_client, 0u);
  EXPECT_EQ(host_.tally_.counts(client_pin_, other).on_port, 0u);
  EXPECT_EQ(host_.tally_.total(), 0u);
}

TEST_F(ASession, IsNoLongerCountedOnceItsPeerClosesTheSession) {
  Session& s = relaying_as(Role::control);
  ASSERT_EQ(counted().of_client, 1u);
  SSL_shutdown(client_.get());
  until([&] { return s.state() == Session::State::closed; });
  EXPECT_EQ(counted().on_port, 0u);
  EXPECT_EQ(counted().of_client, 0u);
}

TEST_F(ASession, IsNoLongerCountedOnceItsDeviceIsLost) {
  Session& s = relaying_as(Role::control);
  ASSERT_EQ(counted().on_port, 1u);
  device_.reset();  // the tty went away: the relay closes its sessions
  until([&] { return s.state() == Session::State::closed; });
  EXPECT_EQ(counted().on_port, 0u);
  EXPECT_EQ(counted().of_client, 0u);
}

TEST_F(ASession, IsNeverCountedWhenRefusedInOrAfterItsHandshake) {
  Session& unknown = connect();  // refused inside the handshake
  until([&] { return unknown.state() == Session::State::closed; });
  EXPECT_EQ(host_.tally_.total(), 0u);
  host_.known[client_pin_] = Role::control;
  host_.still_admitted = false;  // refused after it
  Session& late = connect();
  until([&] { return late.state() == Session::State::closed; });
  EXPECT_EQ(counted().on_port, 0u);
  EXPECT_EQ(counted().of_client, 0u);
  EXPECT_EQ(host_.tally_.total(), 0u);
}

TEST_F(ASession, OfAPairingCandidateIsCountedOnlyFromItsVerdictOn) {
  host_.window_open = true;
  Session& s = connect();
  until([&] { return s.state() == Session::State::pairing; });
  EXPECT_EQ(counted().of_client, 0u);
  s.paired(Role::control);
  EXPECT_EQ(counted().on_port, 1u);
  EXPECT_EQ(counted().of_client, 1u);
  s.close("pairing client removed");
  EXPECT_EQ(counted().of_client, 0u);
}

// The committed-code exchange, run through the session with the client's half of the protocol.
class APairingSession : public ASession {
 protected:
  Session& candidate_in_exchange() {
    host_.window_open = true;
    host_.on_candidate = [](Session& s) {
      auto exporter = ktls::pairing::exporter(s.ssl());
      ASSERT_TRUE(exporter);
      s.start_exchange(ktls::pairing::GatewayExchange::committed_code(*exporter));
    };
    Session& s = connect();
    until([&] { return client_read().find('\n') != std::string::npos; });
    return s;
  }
};

TEST_F(APairingSession, RunsTheExchangeLineByLineToTheCode) {
  Session& s = candidate_in_exchange();
  auto exporter = ktls::pairing::exporter(client_.get());
  ASSERT_TRUE(exporter);
  ktls::pairing::ClientExchange client(*exporter, std::nullopt);
  auto nonce = client.receive(received_.substr(0, received_.size() - 1));
  ASSERT_EQ(nonce.kind, ktls::pairing::Step::more);
  received_.clear();
  client_write(nonce.send);
  until([&] { return !host_.exchange_ends.empty() && client_read().find('\n') != std::string::npos; });
  auto shown = client.receive(received_.substr(0, received_.size() - 1));
  ASSERT_EQ(shown.kind, ktls::pairing::Step::code_shown);
  EXPECT_EQ(host_.exchange_ends[0].kind, ktls::pairing::Step::code_shown);
  EXPECT_EQ(host_.exchange_ends[0].code, shown.code);
  EXPECT_EQ(s.state(), Session::State::pairing);
}

TEST_F(APairingSession, EndsTheExchangeOnDeviceBytesAndNeverPassesThemOn) {
  Session& s = candidate_in_exchange();
  client_write("A motor 255\n");
  until([&] { return !host_.exchange_ends.empty(); });
  EXPECT_EQ(host_.exchange_ends[0].kind, ktls::pairing::Step::failed);
  EXPECT_EQ(host_.exchange_ends[0].reason, "protocol");
  EXPECT_EQ(s.state(), Session::State::pairing);  // the host decides; the session only reports
  EXPECT_EQ(device_read(), "");
}

TEST_F(APairingSession, EndsTheExchangeOnALineLongerThanTheProtocolAllows) {
  candidate_in_exchange();
  client_write(std::string(ktls::pairing::kMaxLine + 10, 'z'));  // never a newline
  until([&] { return !host_.exchange_ends.empty(); });
  EXPECT_EQ(host_.exchange_ends[0].reason, "protocol");
}

TEST_F(APairingSession, EndsTheExchangeWhenItTimesOut) {
  host_.config_.limits.handshake_timeout = 200ms;
  candidate_in_exchange();
  until([&] { return !host_.exchange_ends.empty(); });
  EXPECT_EQ(host_.exchange_ends[0].reason, "protocol");
  EXPECT_NE(host_.exchange_ends[0].detail.find("timed out"), std::string::npos);
}

}  // namespace

namespace {

// User-space sessions receive through the loop's shared buffer ring (daemon/buffer_ring.hpp);
// with a ring of one buffer, sessions that receive in the same wake-up find it empty.
class ASessionOnAOneBufferRing : public ASession {
 protected:
  ASessionOnAOneBufferRing() : ASession(ReceiveRing{1, 2048}) {}
  void SetUp() override {
    if (!loop_.receives_into_ring()) GTEST_SKIP() << "kernel has no io_uring buffer rings: " << loop_.receive_ring_error().message();
    ASession::SetUp();
  }
};

TEST_F(ASession, ReceivesItsInputThroughTheLoopsBufferRing) {
  if (!loop_.receives_into_ring()) GTEST_SKIP() << "kernel has no io_uring buffer rings";
  Session& s = relaying_as(Role::control);
  const auto before = loop_.ring_received();
  std::string sent, at_device;
  for (int i = 0; i < 20; ++i) {
    std::string frame = "frame " + std::to_string(i) + "\n";
    client_write(frame);
    sent += frame;
    until([&] { return (at_device += device_read()) == sent; });
  }
  EXPECT_GE(loop_.ring_received() - before, 20u);  // one receive per frame, at least
  EXPECT_EQ(loop_.buffers_out(), 0u);
  EXPECT_EQ(s.bytes_in(), sent.size());
}

// Two sessions' input arrives in one wake-up: one gets the buffer, the other polls and reads
// its socket as before. Records larger than the buffer are split across the receive and
// OpenSSL's own read. Every byte arrives, in order, and the next input uses the ring again.
TEST_F(ASessionOnAOneBufferRing, RelaysEveryByteInOrderWhenTheRingRunsOut) {
  Session& monitor = relaying_as(Role::monitor);
  SslPtr monitor_client = std::move(client_);
  UniqueFd monitor_peer = std::move(peer_);
  Session& control = relaying_as(Role::control);
  std::string sent, at_device;
  for (int round = 0; round < 3; ++round) {
    std::string big(5000, static_cast<char>('a' + round));
    big.back() = '\n';
    ASSERT_EQ(SSL_write(monitor_client.get(), big.data(), static_cast<int>(big.size())), static_cast<int>(big.size()));
    client_write(big);
    sent += big;
    until([&] { return (at_device += device_read()).size() == sent.size() && monitor.bytes_in() == sent.size(); });
  }
  EXPECT_EQ(at_device, sent);
  EXPECT_EQ(control.bytes_in(), sent.size());
  EXPECT_EQ(monitor.bytes_dropped(), sent.size());
  EXPECT_GE(loop_.ring_exhausted(), 1u);
  EXPECT_GE(loop_.ring_received(), 3u);
  EXPECT_EQ(loop_.buffers_out(), 0u);
}

// The client's last frame and its close_notify arrive in one buffer: the session relays the
// frame and closes while the buffer is still lent. It goes back to the ring all the same: the
// next session's input arrives through the ring's only buffer.
TEST_F(ASessionOnAOneBufferRing, ThatClosesWhileHoldingABufferGivesItBack) {
  Session& first = relaying_as(Role::control);
  client_write("last words\n");
  SSL_shutdown(client_.get());
  until([&] { return first.state() == Session::State::closed; });
  EXPECT_EQ(device_read(), "last words\n");
  EXPECT_EQ(loop_.buffers_out(), 0u);
  const auto received = loop_.ring_received();
  const auto exhausted = loop_.ring_exhausted();
  Session& second = connect();
  until([&] { return second.relaying(); });
  client_write("hello again\n");
  until_device_got("hello again\n");
  EXPECT_GT(loop_.ring_received(), received);
  EXPECT_EQ(loop_.ring_exhausted(), exhausted);
}

// A kernel without buffer rings (before 5.19): sessions poll and OpenSSL reads the socket.
class ASessionWithoutABufferRing : public ASession {
 protected:
  ASessionWithoutABufferRing() : ASession(ReceiveRing{0, 0}) {}
};

TEST_F(ASessionWithoutABufferRing, RelaysInputByPollingItsSocketAndStopsWhileTheDeviceQueueIsFull) {
  ASSERT_FALSE(loop_.receives_into_ring());
  Session& s = relaying_as(Role::control);
  std::string sent;
  std::string chunk(8192, 'z');
  for (int i = 0; i < 24; ++i) {
    chunk[0] = static_cast<char>('a' + i);
    client_write(chunk);
    sent += chunk;
  }
  for (int i = 0; i < 50; ++i) loop_.run_once(2ms);
  EXPECT_LT(s.bytes_in(), sent.size());
  std::string at_device;
  until([&] { return (at_device += device_read()).size() == sent.size(); });
  EXPECT_EQ(at_device, sent);
  EXPECT_EQ(loop_.ring_received(), 0u);
}

}  // namespace
