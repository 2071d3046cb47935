// SPDX-License-Identifier: Apache-2.0
// What every command needs: where the files are, the client's identity, the known gateways, and
// the signals that stop a session.
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <climits>
#include <csignal>
#include <cstdio>
#include <cstdlib>

#include "tools/ttygate-client/commands.hpp"
#include "tools/ttygate-client/exit_codes.hpp"

namespace ttygate::client {

std::filesystem::path default_dir() {
  if (const char* xdg = std::getenv("XDG_CONFIG_HOME"); xdg && *xdg == '/') return std::filesystem::path(xdg) / "ttygate";
  const char* home = std::getenv("HOME");
  return std::filesystem::path(home && *home ? home : "/") / ".config" / "ttygate";
}

void say(const std::string& line) { std::fprintf(stderr, "ttygate-client: %s\n", line.c_str()); }

// The certificate's CN is what the gateway shows for this client until someone renames it.
Result<ktls::Identity> client_identity(const Settings& settings) {
  char host[HOST_NAME_MAX + 1] = "";
  if (gethostname(host, sizeof host) != 0 || !*host) std::snprintf(host, sizeof host, "ttygate-client");
  host[HOST_NAME_MAX] = '\0';
  return ktls::load_or_create_identity(ktls::identity_files(settings.dir, "client"), host);
}

Result<GatewayStore> open_store(const Settings& settings) { return GatewayStore::open(settings.dir / "gateways"); }

Result<KnownGateway> resolve(const GatewayStore& store, const std::string& target) {
  if (const KnownGateway* known = store.find(target)) return *known;
  if (auto endpoint = parse_endpoint(target); endpoint)
    if (const KnownGateway* known = store.find(*endpoint)) return *known;
  return Error(std::make_error_code(std::errc::no_such_file_or_directory),
               "no paired gateway is named or at \"" + target + "\" (see: ttygate-client list; pair first)");
}

Result<UniqueFd> stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  for (int signo : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&set, signo);
  if (sigprocmask(SIG_BLOCK, &set, nullptr) != 0) return errno_error("sigprocmask");
  UniqueFd fd(signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!fd) return errno_error("signalfd");
  return fd;
}

int fail(const std::string& what, const Error& error) {
  say("Failed to " + what + ": " + error.message());
  return kExitFailure;
}

std::optional<Prepared> prepare_to_connect(const Settings& settings, const std::string& target) {
  auto store = open_store(settings);
  if (!store) return fail("read the known gateways", store.error()), std::nullopt;
  auto gateway = resolve(*store, target);
  if (!gateway) return say(gateway.error().context()), std::nullopt;
  auto identity = client_identity(settings);
  if (!identity) return fail("load the client identity", identity.error()), std::nullopt;
  auto signals = stop_signals();
  if (!signals) return fail("watch signals", signals.error()), std::nullopt;
  std::signal(SIGPIPE, SIG_IGN);
  auto connector = Connector::make(*identity, gateway->pin);
  if (!connector) return fail("set up TLS", connector.error()), std::nullopt;
  return Prepared{std::move(*gateway), std::move(*identity), std::move(*signals), std::move(*connector)};
}

}  // namespace ttygate::client
