// SPDX-License-Identifier: Apache-2.0
// ttygate-client: parses the command line and runs one command (commands.hpp).
#include <getopt.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "tools/ttygate-client/commands.hpp"
#include "tools/ttygate-client/exit_codes.hpp"

namespace {

using namespace ttygate::client;

constexpr const char* kUsage =
    "Usage: ttygate-client [OPTIONS] COMMAND [ARGS]\n"
    "\n"
    "The PC side of ttygate: pair with a gateway, then reach its serial device over pinned TLS 1.3.\n"
    "  pair HOST[:PORT]           pair while the gateway's pairing window is open\n"
    "      [--name NAME] [--expect-fingerprint FP] [--passcode CODE|-]\n"
    "                             CODE: the 8-digit setup code printed on the gateway\n"
    "  pair --serial S            pair with the gateway announcing serial S on the LAN (DNS-SD, Avahi)\n"
    "  discover [--serial S] [--json]\n"
    "                             gateways announced on the LAN: NAME ADDRESS SERIAL PORT FINGERPRINT\n"
    "                             (an unsigned hint: the pinned key is the check)\n"
    "  connect NAME|HOST[:PORT]   relay stdin/stdout to the device (Ctrl-] ends it on a terminal)\n"
    "  bridge NAME --link PATH    a local pty at PATH for existing serial software; reconnects\n"
    "  serve NAME --rfc2217 ADDR  a local RFC 2217 endpoint (127.0.0.1:PORT, [::1]:PORT or a Unix\n"
    "                             socket path) for pyserial, labgrid...: baud, framing, flow, break\n"
    "                             and modem lines reach the remote port (docs/line-control.md)\n"
    "  list                       paired gateways: NAME HOST:PORT FINGERPRINT\n"
    "  forget NAME                remove a paired gateway\n"
    "  fingerprint                this client's fingerprint (makes its key on first use)\n"
    "\n"
    "  -d, --identity-dir DIR     key, certificate and known gateways (default $XDG_CONFIG_HOME/ttygate)\n"
    "  -t, --timeout SECONDS      for the TCP connection and handshake, and for discovery (default 10)\n"
    "      --stats                print handshake time and bytes to stderr\n"
    "  -V, --version\n"
    "Exit codes: 0 ok, 1 failure, 2 usage, 3 the gateway's key differs from its pin, 4 pairing refused\n"
    "(5: the setup code was not accepted).\n";

[[noreturn]] void usage_error(const std::string& what) {
  std::fprintf(stderr, "ttygate-client: %s\n%s", what.c_str(), kUsage);
  std::exit(kExitUsage);
}

std::chrono::milliseconds parse_timeout(const char* text) {
  char* end = nullptr;
  double seconds = std::strtod(text, &end);
  if (!*text || *end || !(seconds > 0 && seconds <= 3600)) usage_error(std::string("--timeout: expected seconds in (0, 3600], got ") + text);
  return std::chrono::milliseconds(static_cast<long>(seconds * 1000));
}

std::vector<std::string> parse_options(int argc, char** argv, Settings& s) {
  enum { kStats = 256, kName, kExpect, kLink, kPasscode, kSerial, kJson, kRfc2217 };
  static const option longs[] = {
      {"identity-dir", required_argument, nullptr, 'd'}, {"timeout", required_argument, nullptr, 't'},
      {"stats", no_argument, nullptr, kStats}, {"name", required_argument, nullptr, kName},
      {"expect-fingerprint", required_argument, nullptr, kExpect}, {"link", required_argument, nullptr, kLink},
      {"passcode", required_argument, nullptr, kPasscode}, {"serial", required_argument, nullptr, kSerial},
      {"json", no_argument, nullptr, kJson},
      {"rfc2217", required_argument, nullptr, kRfc2217},
      {"help", no_argument, nullptr, 'h'}, {"version", no_argument, nullptr, 'V'}, {nullptr, 0, nullptr, 0}};
  s.dir = default_dir();
  for (int c; (c = getopt_long(argc, argv, "d:t:hV", longs, nullptr)) != -1;) {
    switch (c) {
      case 'd': s.dir = optarg; break;
      case 't': s.timeout = parse_timeout(optarg); break;
      case kStats: s.stats = true; break;
      case kName: s.name = optarg; break;
      case kExpect: s.expect_fingerprint = optarg; break;
      case kPasscode: s.passcode = optarg; break;
      case kLink: s.link = optarg; break;
      case kSerial: s.serial = optarg; break;
      case kJson: s.json = true; break;
      case kRfc2217: s.rfc2217 = optarg; break;
      case 'h': std::fputs(kUsage, stdout); std::exit(kExitOk);
      case 'V': std::puts("ttygate-client " TTYGATE_VERSION); std::exit(kExitOk);
      default: usage_error("unknown option");
    }
  }
  return std::vector<std::string>(argv + optind, argv + argc);
}

// Each command with the number of arguments it takes.
int dispatch(const std::vector<std::string>& args, Settings& s) {
  if (args.empty()) usage_error("a command is required");
  const std::string& command = args[0];
  auto arguments = [&](std::size_t n) {
    if (args.size() != n + 1) usage_error(command + " takes " + std::to_string(n) + " argument" + (n == 1 ? "" : "s"));
  };
  if (!s.name.empty() && !valid_gateway_name(s.name))
    usage_error("--name: use letters, digits, '.', '_' and '-' (at most 64, not first '-' or '.')");
  if (command == "pair" && !s.serial.empty()) return arguments(0), run_pair_by_serial(s);
  if (command == "pair") return arguments(1), run_pair(s, args[1]);
  if (command == "discover") return arguments(0), run_discover(s);
  if (command == "connect") return arguments(1), run_connect(s, args[1]);
  if (command == "bridge") {
    arguments(1);
    if (s.link.empty()) usage_error("bridge needs --link PATH");
    return run_bridge(s, args[1]);
  }
  if (command == "serve") {
    arguments(1);
    if (s.rfc2217.empty()) usage_error("serve needs --rfc2217 ADDRESS");
    return run_serve(s, args[1]);
  }
  if (command == "list") return arguments(0), run_list(s);
  if (command == "forget") return arguments(1), run_forget(s, args[1]);
  if (command == "fingerprint") return arguments(0), run_fingerprint(s);
  usage_error("unknown command: " + command);
}

}  // namespace

int main(int argc, char** argv) {
  Settings settings;
  auto args = parse_options(argc, argv, settings);
  return dispatch(args, settings);
}
