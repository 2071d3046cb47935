// SPDX-License-Identifier: Apache-2.0
// ttygate-client's commands: one function per command, each returning the exit code
// (exit_codes.hpp) after printing at most one "ttygate-client: ..." line per failure on stderr.
// main.cpp only parses the command line into Settings and calls one of these.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "common/result.hpp"
#include "common/unique_fd.hpp"
#include "ktls/identity.hpp"
#include "tools/ttygate-client/connection.hpp"
#include "tools/ttygate-client/store.hpp"

namespace ttygate::client {

struct Settings {
  std::filesystem::path dir;  // identity and known gateways: --identity-dir or $XDG_CONFIG_HOME/ttygate
  std::chrono::milliseconds timeout{10000};  // TCP connect + handshake
  bool stats = false;                        // print handshake time and bytes to stderr
  std::string name;                          // pair --name
  std::string expect_fingerprint;            // pair --expect-fingerprint
  std::string passcode;                      // pair --passcode: the gateway's setup code ("-": read stdin)
  std::filesystem::path link;                // bridge --link
  std::string serial;                        // discover/pair --serial: the advertised serial number
  bool json = false;                         // discover --json
  std::string expect_prefix;                 // pair --serial: the advertised fingerprint prefix (fp=)
  std::string rfc2217;                       // serve --rfc2217: loopback HOST:PORT or a Unix socket path
};

int run_pair(const Settings& settings, const std::string& target);
int run_connect(const Settings& settings, const std::string& target);
int run_bridge(const Settings& settings, const std::string& target);
int run_serve(const Settings& settings, const std::string& target);
int run_list(const Settings& settings);
int run_forget(const Settings& settings, const std::string& name);
int run_fingerprint(const Settings& settings);
int run_discover(const Settings& settings);        // discover.cpp
int run_pair_by_serial(const Settings& settings);  // discover.cpp

// Shared by the commands (context.cpp).
std::filesystem::path default_dir();  // $XDG_CONFIG_HOME/ttygate, else ~/.config/ttygate
void say(const std::string& line);    // "ttygate-client: line" on stderr
Result<ktls::Identity> client_identity(const Settings& settings);
Result<GatewayStore> open_store(const Settings& settings);
// A paired gateway by name, or by the address it was paired at.
Result<KnownGateway> resolve(const GatewayStore& store, const std::string& target);
// A signalfd for SIGINT, SIGTERM and SIGHUP, which are blocked from then on.
Result<UniqueFd> stop_signals();
// Says "Failed to <what>: <error>" and gives kExitFailure.
int fail(const std::string& what, const Error& error);

// What connect and bridge need before their first connection: the paired gateway, this
// client's identity, the stop signals, and a connector pinned to the gateway's key.
struct Prepared {
  KnownGateway gateway;
  ktls::Identity identity;
  UniqueFd signals;
  std::unique_ptr<Connector> connector;
};
// nullopt after saying why (the command then exits with kExitFailure).
std::optional<Prepared> prepare_to_connect(const Settings& settings, const std::string& target);

}  // namespace ttygate::client
