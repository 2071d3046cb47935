// SPDX-License-Identifier: Apache-2.0
// connect NAME|HOST[:PORT]: stdin to the device, the device to stdout, raw and binary-safe.
//
// On a terminal, the terminal is put in raw mode (every byte goes to the device, Ctrl-C too) and
// Ctrl-] ends the session, as in telnet; the terminal is restored on every way out.
#include <fcntl.h>
#include <termios.h>
#include <unistd.h>


#include "tools/ttygate-client/commands.hpp"
#include "tools/ttygate-client/connection.hpp"
#include "tools/ttygate-client/exit_codes.hpp"
#include "tools/ttygate-client/relay.hpp"

namespace ttygate::client {
namespace {

constexpr std::byte kEscape{0x1d};  // Ctrl-]

// Puts fd in non-blocking (and, for a terminal, raw) mode; restores both when destroyed.
class LocalMode {
 public:
  explicit LocalMode(int fd, bool raw) : fd_(fd), flags_(fcntl(fd, F_GETFL)) {
    if (flags_ >= 0) fcntl(fd, F_SETFL, flags_ | O_NONBLOCK);
    if (raw && tcgetattr(fd, &saved_) == 0) {
      termios t = saved_;
      cfmakeraw(&t);
      raw_ = tcsetattr(fd, TCSAFLUSH, &t) == 0;
    }
  }
  LocalMode(const LocalMode&) = delete;
  LocalMode& operator=(const LocalMode&) = delete;
  ~LocalMode() {
    if (raw_) tcsetattr(fd_, TCSAFLUSH, &saved_);
    if (flags_ >= 0) fcntl(fd_, F_SETFL, flags_);
  }

 private:
  int fd_;
  int flags_;
  termios saved_{};
  bool raw_ = false;
};

int after_relay(const RelayOutcome& outcome, const std::string& name) {
  switch (outcome.end) {
    case RelayEnd::local_eof:
    case RelayEnd::peer_closed:
    case RelayEnd::stopped:
      return kExitOk;
    case RelayEnd::peer_failed:
      say("the connection to " + name + " broke: " + outcome.error.message());
      return kExitFailure;
    case RelayEnd::local_failed:
      say("Failed to relay: " + outcome.error.message());
      return kExitFailure;
  }
  return kExitFailure;
}

}  // namespace

int run_connect(const Settings& settings, const std::string& target) {
  auto prepared = prepare_to_connect(settings, target);
  if (!prepared) return kExitFailure;
  auto& [gateway, identity, signals, connector] = *prepared;

  auto connection = connector->connect(gateway.endpoint, settings.timeout, signals.get());
  if (!connection) {
    if (auto presented = connector->mismatched_key()) {
      std::fputs(key_mismatch_warning(gateway.name, gateway.endpoint, gateway.pin, *presented).c_str(), stderr);
      return kExitKeyMismatch;
    }
    return fail("connect to " + gateway.name, connection.error());
  }
  if (settings.stats) say("handshake: " + describe(connection->stats));

  bool terminal = isatty(STDIN_FILENO) == 1;
  LocalMode in_mode(STDIN_FILENO, terminal), out_mode(STDOUT_FILENO, false);
  RelayOptions options{STDIN_FILENO, STDOUT_FILENO, signals.get()};
  if (terminal) options.escape = kEscape;
  Relay relay(options);
  RelayOutcome outcome = relay.run(*connection->channel);
  if (outcome.end == RelayEnd::stopped) connection->channel->close_notify();
  return after_relay(outcome, gateway.name);
}

}  // namespace ttygate::client
