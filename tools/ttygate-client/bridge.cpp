// SPDX-License-Identifier: Apache-2.0
// bridge NAME --link PATH: the remote serial port as a local pty, kept alive across network
// loss.
//
// The pty and its symlink outlive every connection: the software that opened PATH sees a pause
// while the network is gone, never a hang-up. Each reconnection offers the gateway's newest
// session ticket (one round trip, no certificates) and logs whether it resumed. Retries back
// off exponentially (the first one is immediate) up to kMaxBackoff. Only a changed gateway key,
// a local failure, or SIGINT/SIGTERM/SIGHUP ends the bridge; on the way out the symlink goes.
//
// Each connection offers ALPN ttygate-rfc2217, then ttygate-raw: on a port with line control,
// the pty's termios changes (speed, stop bits, flow) reach the device as RFC 2217 commands
// (line_follow.hpp); on a port without, the session is raw and they stay local.
#include <poll.h>
#include <termios.h>

#include <algorithm>

#include "tools/ttygate-client/commands.hpp"
#include "tools/ttygate-client/connection.hpp"
#include "tools/ttygate-client/exit_codes.hpp"
#include "tools/ttygate-client/line_follow.hpp"
#include "tools/ttygate-client/pty_link.hpp"
#include "tools/ttygate-client/relay.hpp"

namespace ttygate::client {
namespace {

constexpr std::chrono::milliseconds kFirstBackoff{250};
constexpr std::chrono::milliseconds kMaxBackoff{30000};

// False when a stop signal arrived while waiting.
bool pause(std::chrono::milliseconds delay, int stop_fd) {
  pollfd fd{stop_fd, POLLIN, 0};
  return ::poll(&fd, 1, static_cast<int>(delay.count())) == 0;
}

class Bridge {
 public:
  Bridge(const KnownGateway& gateway, Connector& connector, const PtyLink& pty, const Settings& settings, int stop_fd,
         const termios& baseline)
      : gateway_(gateway), connector_(connector), settings_(settings), stop_fd_(stop_fd),
        relay_(RelayOptions{pty.master(), pty.master(), stop_fd}), follow_(pty.master(), pty.slave(), baseline) {}

  int run();

 private:
  std::optional<int> connect_and_relay();  // an exit code when the bridge should end

  const KnownGateway& gateway_;
  Connector& connector_;
  const Settings& settings_;
  int stop_fd_;
  Relay relay_;
  LineFollow follow_;
  int sessions_ = 0;
};

int Bridge::run() {
  std::chrono::milliseconds backoff{0};
  for (;;) {
    if (backoff.count() > 0 && !pause(backoff, stop_fd_)) return kExitOk;
    int before = sessions_;
    if (auto exit = connect_and_relay()) return *exit;
    // A session that got going resets the backoff; a failed attempt doubles it.
    backoff = sessions_ > before ? std::chrono::milliseconds{0}
                                 : std::min(kMaxBackoff, std::max(kFirstBackoff, backoff * 2));
    if (backoff.count() > 0) say("retrying in " + std::to_string(backoff.count()) + " ms");
  }
}

std::optional<int> Bridge::connect_and_relay() {
  auto connection = connector_.connect(gateway_.endpoint, settings_.timeout, stop_fd_);
  if (!connection) {
    if (auto presented = connector_.mismatched_key()) {
      std::fputs(key_mismatch_warning(gateway_.name, gateway_.endpoint, gateway_.pin, *presented).c_str(), stderr);
      return kExitKeyMismatch;
    }
    if (connection.error().code() == std::errc::operation_canceled) return kExitOk;
    say("cannot reach " + gateway_.name + ": " + connection.error().message());
    return std::nullopt;
  }
  say(std::string(sessions_++ == 0 ? "connected to " : "reconnected to ") + gateway_.name + " (" +
      describe(connection->stats) + ")" +
      (connection->protocol == ktls::kAlpnRfc2217 ? ", line settings follow the pty" : ""));
  follow_.set_rfc2217(connection->protocol == ktls::kAlpnRfc2217);
  RelayOutcome outcome = relay_.run(*connection->channel, &follow_);
  switch (outcome.end) {
    case RelayEnd::stopped:
      connection->channel->close_notify();
      return kExitOk;
    case RelayEnd::local_failed:
      say("Failed to relay: " + outcome.error.message());
      return kExitFailure;
    case RelayEnd::local_eof:
    case RelayEnd::peer_closed:
      say("the gateway closed the session; reconnecting");
      return std::nullopt;
    case RelayEnd::peer_failed:
      say("connection lost: " + outcome.error.message() + "; reconnecting");
      return std::nullopt;
  }
  return std::nullopt;
}

}  // namespace

int run_bridge(const Settings& settings, const std::string& target) {
  auto prepared = prepare_to_connect(settings, target);
  if (!prepared) return kExitFailure;
  auto& [gateway, identity, signals, connector] = *prepared;
  auto pty = PtyLink::open(settings.link);
  if (!pty) return fail("make the local port", pty.error());
  if (auto reported = pty->report_termios_changes(); !reported) return fail("watch the local port", reported.error());
  termios baseline{};
  if (::tcgetattr(pty->slave(), &baseline) != 0) return fail("read the local port", errno_error("tcgetattr"));
  connector->offer({ktls::kAlpnRfc2217, ktls::kAlpnRaw});
  say(settings.link.string() + " -> " + pty->slave_name() + " bridges " + gateway.name + " at " +
      gateway.endpoint.text());
  Bridge bridge(gateway, *connector, *pty, settings, signals.get(), baseline);
  return bridge.run();
}

}  // namespace ttygate::client
