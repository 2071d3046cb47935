// SPDX-License-Identifier: Apache-2.0
// ttygated: parses the command line, wires the gateway to the loop, and runs.
#include <getopt.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include "common/files.hpp"
#include "common/log.hpp"
#include "daemon/button.hpp"
#include "daemon/config.hpp"
#include "daemon/fd_budget.hpp"
#include "daemon/gateway.hpp"
#include "daemon/journal.hpp"
#include "daemon/loop.hpp"
#include "daemon/passcode.hpp"
#include "daemon/provisioning.hpp"
#include "daemon/service_manager.hpp"
#include "daemon/signals.hpp"
#include "dbus/discovery.hpp"
#include "dbus/management_bus.hpp"

namespace {

using namespace ttygate;
using namespace ttygate::daemon;

constexpr const char* kUsage =
    "Usage: ttygated --config FILE [--bus system|none] [--check | --fingerprint | --list-clients |\n"
    "                 --add-client CERT.pem --name NAME --role control|monitor |\n"
    "                 --new-passcode [--force]]\n"
    "\n"
    "Relays serial ports to pinned mutual-TLS 1.3 clients.\n"
    "  -c, --config FILE    configuration (TOML), required\n"
    "      --check          validate the configuration and exit\n"
    "      --fingerprint    print the gateway's key fingerprint (creating the key if missing)\n"
    "      --list-clients   list paired clients\n"
    "      --add-client CERT  pin the key of a client certificate, with --name and --role; refused\n"
    "                       while ttygated runs on this state directory (use ttygatectl add)\n"
    "      --new-passcode   make the setup code clients pair with (pairing.confirm = \"passcode\"):\n"
    "                       stores only its verifier and prints the code this once, as\n"
    "                       \"Setup code: NNNN-NNNN\", then the 8 digits alone on the next line\n"
    "                       (for scripts), then a reminder; refuses to replace an existing one\n"
    "      --force          with --new-passcode: replace the existing setup code\n"
    "      --bus system|none  offer org.ttygate.Gateway1 on the system bus (default), or not\n"
    "  -V, --version        print the version\n";

struct Options {
  std::string config;
  enum class Action { run, check, fingerprint, list_clients, add_client, new_passcode } action = Action::run;
  std::string cert, name, role = "control";
  bool bus = true;
  bool force = false;
};

[[noreturn]] void usage_error(const std::string& what) {
  std::fprintf(stderr, "ttygated: %s\n%s", what.c_str(), kUsage);
  std::exit(2);
}

Options parse_options(int argc, char** argv) {
  enum { kCheck = 256, kFingerprint, kList, kAdd, kName, kRole, kBus, kNewPasscode, kForce };
  static const option longs[] = {
      {"config", required_argument, nullptr, 'c'}, {"check", no_argument, nullptr, kCheck},
      {"fingerprint", no_argument, nullptr, kFingerprint}, {"list-clients", no_argument, nullptr, kList},
      {"add-client", required_argument, nullptr, kAdd}, {"name", required_argument, nullptr, kName},
      {"role", required_argument, nullptr, kRole}, {"bus", required_argument, nullptr, kBus},
      {"new-passcode", no_argument, nullptr, kNewPasscode}, {"force", no_argument, nullptr, kForce},
      {"help", no_argument, nullptr, 'h'},
      {"version", no_argument, nullptr, 'V'}, {nullptr, 0, nullptr, 0}};
  Options o;
  for (int c; (c = getopt_long(argc, argv, "c:hV", longs, nullptr)) != -1;) {
    switch (c) {
      case 'c': o.config = optarg; break;
      case kCheck: o.action = Options::Action::check; break;
      case kFingerprint: o.action = Options::Action::fingerprint; break;
      case kList: o.action = Options::Action::list_clients; break;
      case kAdd: o.action = Options::Action::add_client; o.cert = optarg; break;
      case kName: o.name = optarg; break;
      case kRole: o.role = optarg; break;
      case kNewPasscode: o.action = Options::Action::new_passcode; break;
      case kForce: o.force = true; break;
      case kBus:
        if (std::string(optarg) != "system" && std::string(optarg) != "none") usage_error("--bus takes system or none");
        o.bus = std::string(optarg) == "system";
        break;
      case 'h': std::fputs(kUsage, stdout); std::exit(0);
      case 'V': std::puts("ttygated " TTYGATE_VERSION); std::exit(0);
      default: usage_error("unknown option");
    }
  }
  if (optind < argc) usage_error(std::string("unexpected argument: ") + argv[optind]);
  if (o.config.empty()) usage_error("--config FILE is required");
  if (o.action == Options::Action::add_client && o.name.empty()) usage_error("--add-client needs --name");
  if (o.force && o.action != Options::Action::new_passcode) usage_error("--force only goes with --new-passcode");
  return o;
}

template <class T>
T or_fail(Result<T> result, const std::string& doing) {
  if (!result) throw std::runtime_error("Failed to " + doing + ": " + result.error().message());
  return std::move(*result);
}

void or_fail(Result<void> result, const std::string& doing) {
  if (!result) throw std::runtime_error("Failed to " + doing + ": " + result.error().message());
}

// TTYGATE_FAKE_BUTTON=FIFO is a test hook (docs/pairing.md): a FIFO stands in for the GPIO line.
std::unique_ptr<ButtonWatch> watch_button(Loop& loop, const Config& config, Gateway& gateway) {
  const auto& button = config.pairing.button;
  const char* fake = std::getenv("TTYGATE_FAKE_BUTTON");
  if (!fake && !button) return nullptr;
  auto source = fake ? open_fifo_button(fake) : open_gpio_button(*button);
  if (!source) {
    log::error("Failed to set up the pairing button: " + source.error().message() + "; pairing only over D-Bus");
    return nullptr;
  }
  log::info("Pairing button: " + (*source)->describe());
  auto debounce = button ? button->debounce : ButtonConfig{}.debounce;
  return std::make_unique<ButtonWatch>(loop, std::move(*source), debounce, [&gateway] { gateway.button_pressed(); });
}

// Each session is a socket: the soft limit of 1024 would be the real session limit.
void raise_descriptor_limit() {
  auto raised = raise_fd_limit();
  if (!raised) log::warning("Failed to raise the descriptor limit: " + raised.error().message() + ", ignoring");
  else if (raised->now != raised->before)
    log::info("Descriptor limit raised from " + std::to_string(raised->before) + " to " + std::to_string(raised->now));
  else if (raised->now < 4096)
    log::warning("Descriptor limit is " + std::to_string(raised->now) + " (the hard limit): sessions may run out of them");
}

// SIGHUP: the file is parsed in full first; any problem is one line and nothing changes.
void reload(const std::filesystem::path& file, Gateway& gateway, ServiceManager& service) {
  log::info("Received SIGHUP: reloading " + file.string());
  service.reloading();
  try {
    Config fresh = load_config(file);
    std::string summary = gateway.reload(fresh);
    log::notice(summary);
    service.ready(summary);
  } catch (const std::exception& e) {
    log::error(std::string("Failed to reload, keeping the running configuration: ") + e.what());
    service.ready("reload failed, running configuration kept");
  }
}

int run(const Config& config, bool use_bus) {
  journal::use_journal_if_connected();
  raise_descriptor_limit();
  auto identity = or_fail(load_gateway_identity(config), "load the gateway identity");
  auto store = or_fail(ClientStore::open(client_store_path(config), StoreAccess::daemon), "load the client store");
  Loop loop;
  if (!loop.receives_into_ring())
    log::info("Sessions in user-space TLS poll their socket and read it in OpenSSL: " +
              loop.receive_ring_error().message());
  Gateway gateway(loop, config, std::move(identity), std::move(store));
  ServiceManager service(loop);
  SignalWatch signals(loop, {SIGTERM, SIGINT, SIGHUP}, [&](int signo) {
    if (signo == SIGHUP) return reload(config.file, gateway, service);
    log::info(std::string("Received ") + (signo == SIGTERM ? "SIGTERM" : "SIGINT"));
    service.stopping();
    gateway.shutdown();
  });
  std::signal(SIGPIPE, SIG_IGN);
  if (auto started = gateway.start(); !started) throw std::runtime_error("Failed to start: " + started.error().message());
  // The management API; kept on the bus across dbus-daemon restarts (dbus/management_bus.hpp).
  auto bus = use_bus ? std::make_unique<dbus::ManagementBus>(loop, gateway) : nullptr;
  auto discovery = use_bus && config.discovery.enabled ? dbus::attach_discovery(loop, gateway) : dbus::DiscoveryAttachment{};
  auto button = watch_button(loop, config, gateway);
  const std::string running = "Gateway " + ktls::fingerprint(gateway.identity().pin) + " running with " +
                              std::to_string(gateway.clients().clients().size()) + " paired clients";
  log::info(running);
  service.ready(running);
  loop.run();
  return 0;
}

// The code exists only in this output: the gateway keeps its verifier, never the code.
int new_passcode(const Config& config, bool force) {
  auto code = create_passcode(config.gateway.state_dir, force);
  if (!code && code.error().code() == std::errc::file_exists) {
    throw std::runtime_error("a setup code exists already (" + code.error().context() +
                             "); --force replaces it, and the old code stops working");
  }
  std::string created = or_fail(std::move(code), "create a setup code");
  std::printf("Setup code: %s\n%s\n", format_passcode(created).c_str(), created.c_str());
  std::puts("This code is shown once and stored nowhere: put it on the gateway's label now.");
  if (config.pairing.confirm != Confirm::passcode) {
    std::fprintf(stderr, "ttygated: note: %s has pairing.confirm = \"%s\"; clients are asked for this code once it is \"passcode\"\n",
                 config.file.c_str(), std::string(to_string(config.pairing.confirm)).c_str());
  }
  return 0;
}

int dispatch(const Options& o) {
  Config config = load_config(o.config);
  if (o.action == Options::Action::check) {
    std::printf("%s: ok\n", o.config.c_str());
    return 0;
  }
  or_fail(make_private_directory(config.gateway.state_dir), "prepare the state directory");
  switch (o.action) {
    case Options::Action::check:
      return 0;
    case Options::Action::fingerprint:
      std::printf("%s\n", ktls::fingerprint(or_fail(load_gateway_identity(config), "load the gateway identity").pin).c_str());
      return 0;
    case Options::Action::list_clients:
      print_clients(or_fail(ClientStore::open(client_store_path(config)), "load the client store"), std::cout);
      return 0;
    case Options::Action::add_client: {
      // Refused while a daemon runs on this state directory (daemon/store_lock.hpp).
      auto store = or_fail(ClientStore::open(client_store_path(config), StoreAccess::offline_edit), "load the client store");
      Client client = or_fail(add_client_from_file(store, o.cert, o.name, o.role), "add client");
      std::printf("added %s (%s) %s\n", client.name.c_str(), std::string(to_string(client.role)).c_str(),
                  ktls::fingerprint(client.pin).c_str());
      return 0;
    }
    case Options::Action::new_passcode:
      return new_passcode(config, o.force);
    case Options::Action::run:
      return run(config, o.bus);
  }
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  Options options = parse_options(argc, argv);
  try {
    return dispatch(options);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ttygated: %s\n", e.what());
    return 1;
  }
}
