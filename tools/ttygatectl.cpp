// SPDX-License-Identifier: Apache-2.0
// ttygatectl: manages a running ttygated over its D-Bus API (org.ttygate.Gateway1).
//
// Exit status: 0 done, 1 the gateway refused or could not be reached (one line on stderr),
// 2 wrong arguments (with usage). Tables for people by default, --json for scripts.
#include <getopt.h>

#include <cctype>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "tools/ttygatectl/bus_client.hpp"
#include "tools/ttygatectl/output.hpp"

namespace {

using namespace ttygatectl;

constexpr const char* kGateway = "/org/ttygate/Gateway1";
constexpr const char* kGatewayIface = "org.ttygate.Gateway1";
constexpr const char* kClientIface = "org.ttygate.Client1";
constexpr const char* kSessionIface = "org.ttygate.Session1";

constexpr const char* kUsage =
    "Usage: ttygatectl [--json] COMMAND [ARGS]\n"
    "\n"
    "Manages ttygated over D-Bus (org.ttygate.Gateway1 on the system bus).\n"
    "  status                          the gateway: fingerprint, ports, pairing\n"
    "  pair [--seconds N] [--no-wait]  open a pairing window and follow it to the end\n"
    "  pair --stop                     close the pairing window\n"
    "  confirm CODE                    confirm the 6-digit code the new client shows\n"
    "  clients                         paired clients\n"
    "  add CERT.pem --name NAME --role control|monitor\n"
    "                                  pin the key of a client certificate\n"
    "  remove NAME|FINGERPRINT         unpair a client and close its sessions\n"
    "  rename NAME|FINGERPRINT NEW     give a client another name\n"
    "  role NAME|FINGERPRINT ROLE      control or monitor (its sessions reconnect)\n"
    "  sessions                        live sessions\n"
    "  disconnect ID                   close a session\n"
    "  --json                          machine-readable output\n";

struct Options {
  bool json = false;
  std::optional<std::uint32_t> seconds;
  bool no_wait = false;
  bool stop = false;
  std::optional<std::string> name, role;
  std::vector<std::string> args;  // the command and its operands
};

[[noreturn]] void usage_error(const std::string& what) {
  std::fprintf(stderr, "ttygatectl: %s\n%s", what.c_str(), kUsage);
  std::exit(2);
}

std::uint32_t parse_seconds(const char* text) {
  char* end = nullptr;
  unsigned long value = std::strtoul(text, &end, 10);
  if (!*text || *end || !std::isdigit(static_cast<unsigned char>(*text)) || value > 86400)
    usage_error(std::string("--seconds takes a number of seconds, got \"") + text + "\"");
  return static_cast<std::uint32_t>(value);
}

Options parse_options(int argc, char** argv) {
  enum { kJson = 256, kSeconds, kNoWait, kStop, kName, kRole };
  static const option longs[] = {{"json", no_argument, nullptr, kJson},          {"seconds", required_argument, nullptr, kSeconds},
                                 {"no-wait", no_argument, nullptr, kNoWait},     {"stop", no_argument, nullptr, kStop},
                                 {"name", required_argument, nullptr, kName},    {"role", required_argument, nullptr, kRole},
                                 {"help", no_argument, nullptr, 'h'},            {"version", no_argument, nullptr, 'V'},
                                 {nullptr, 0, nullptr, 0}};
  Options o;
  opterr = 0;
  for (int c; (c = getopt_long(argc, argv, "hV", longs, nullptr)) != -1;) {
    switch (c) {
      case kJson: o.json = true; break;
      case kSeconds: o.seconds = parse_seconds(optarg); break;
      case kNoWait: o.no_wait = true; break;
      case kStop: o.stop = true; break;
      case kName: o.name = optarg; break;
      case kRole: o.role = optarg; break;
      case 'h': std::fputs(kUsage, stdout); std::exit(0);
      case 'V': std::puts("ttygatectl " TTYGATE_VERSION); std::exit(0);
      default: usage_error(std::string("unknown option ") + argv[optind - 1]);
    }
  }
  for (int i = optind; i < argc; ++i) o.args.emplace_back(argv[i]);
  if (o.args.empty()) usage_error("no command given");
  return o;
}

// Only the options a command takes, and exactly its number of operands.
void expect(const Options& o, std::size_t operands, bool pair_options = false, bool add_options = false) {
  const std::string& command = o.args[0];
  if (o.args.size() != operands + 1)
    usage_error(command + " takes " + std::to_string(operands) + " argument" + (operands == 1 ? "" : "s"));
  if (!pair_options && (o.seconds || o.no_wait || o.stop)) usage_error("--seconds, --no-wait and --stop are for pair");
  if (!add_options && (o.name || o.role)) usage_error("--name and --role are for add");
}

std::string upper_alnum(const std::string& text) {
  std::string out;
  for (unsigned char c : text)
    if (std::isalnum(c)) out += static_cast<char>(std::toupper(c));
  return out;
}

// A client by exact name, or by fingerprint in any case and grouping.
std::string find_client(Client& bus, const std::string& which) {
  std::string wanted = upper_alnum(which);
  for (const auto& [path, interfaces] : bus.managed_objects()) {
    auto it = interfaces.find(kClientIface);
    if (it == interfaces.end()) continue;
    const Value* name = it->second.get("Name");
    const Value* fingerprint = it->second.get("Fingerprint");
    if ((name && name->s == which) || (fingerprint && !wanted.empty() && upper_alnum(fingerprint->s) == wanted))
      return path;
  }
  throw BusError("NotFound: no client named \"" + which + "\" or with that fingerprint");
}

std::string property_text(const Properties& p, const char* name) {
  const Value* v = p.get(name);
  return v ? v->text() : "";
}

std::uint64_t property_number(const Properties& p, const char* name) {
  const Value* v = p.get(name);
  return v ? v->u : 0;
}

void print_objects_json(const ManagedObjects& objects, const char* interface) {
  std::cout << "[";
  bool first = true;
  for (const auto& [path, interfaces] : objects) {
    auto it = interfaces.find(interface);
    if (it == interfaces.end()) continue;
    std::cout << (first ? "" : ", ") << "{\"Path\": " << json_string(path);
    for (const auto& [key, value] : it->second.fields) {
      std::cout << ", " << json_string(key) << ": ";
      print_json(std::cout, value);
    }
    std::cout << "}";
    first = false;
  }
  std::cout << "]\n";
}

int cmd_status(Client& bus, const Options& o) {
  expect(o, 0);
  Properties gateway = bus.get_all(kGateway, kGatewayIface);
  ManagedObjects objects = bus.managed_objects();
  std::size_t clients = 0, sessions = 0;
  for (const auto& [path, interfaces] : objects) {
    clients += interfaces.count(kClientIface);
    sessions += interfaces.count(kSessionIface);
  }
  if (o.json) {
    gateway.fields.emplace_back("Clients", Value{Value::Kind::unsigned_number, false, clients, 0, {}, {}, {}});
    gateway.fields.emplace_back("Sessions", Value{Value::Kind::unsigned_number, false, sessions, 0, {}, {}, {}});
    print_json(std::cout, gateway);
    std::cout << "\n";
    return 0;
  }
  bool pairing = gateway.get("PairingActive") && gateway.get("PairingActive")->boolean;
  std::cout << "Fingerprint:  " << property_text(gateway, "Fingerprint") << "\n"
            << "Version:      " << property_text(gateway, "Version") << "\n"
            << "Kernel TLS:   " << property_text(gateway, "KernelTLS") << "\n"
            << "Pairing:      "
            << (pairing ? "open, " + property_text(gateway, "PairingRemaining") + " s left" : std::string("closed"))
            << " (confirmation: " << property_text(gateway, "PairingConfirmation") << ")\n"
            << "Setup code:   "
            << (gateway.get("PasscodeSet") && gateway.get("PasscodeSet")->boolean ? "set" : "not set") << "\n";
  if (const Value* ports = gateway.get("Ports"))
    for (const Value& port : ports->items)
      std::cout << "Port:         " << port.items.at(0).s << " on " << port.items.at(1).s << ", listening on "
                << port.items.at(2).text() << "\n";
  std::cout << "Clients:      " << clients << "\n"
            << "Sessions:     " << sessions << "\n";
  return 0;
}

int cmd_clients(Client& bus, const Options& o) {
  expect(o, 0);
  ManagedObjects objects = bus.managed_objects();
  if (o.json) return print_objects_json(objects, kClientIface), 0;
  std::vector<Row> rows;
  for (const auto& [path, interfaces] : objects)
    if (auto it = interfaces.find(kClientIface); it != interfaces.end())
      rows.push_back({property_text(it->second, "Name"), property_text(it->second, "Role"),
                      format_time(property_number(it->second, "PairedAt")),
                      format_time(property_number(it->second, "LastSeen")), property_text(it->second, "Fingerprint")});
  print_table(std::cout, {"NAME", "ROLE", "PAIRED", "LAST SEEN", "FINGERPRINT"}, rows);
  return 0;
}

int cmd_sessions(Client& bus, const Options& o) {
  expect(o, 0);
  ManagedObjects objects = bus.managed_objects();
  if (o.json) return print_objects_json(objects, kSessionIface), 0;
  std::vector<Row> rows;
  for (const auto& [path, interfaces] : objects) {
    auto it = interfaces.find(kSessionIface);
    if (it == interfaces.end()) continue;
    const Properties& s = it->second;
    std::string client = property_text(s, "Client");
    if (auto owner = objects.find(client); owner != objects.end() && owner->second.count(kClientIface))
      client = property_text(owner->second.at(kClientIface), "Name");
    rows.push_back({path.substr(path.rfind('/') + 1), client, property_text(s, "Peer"), property_text(s, "Port"),
                    property_text(s, "Role"), property_text(s, "Offload"), property_text(s, "Rekey"),
                    format_bytes(property_number(s, "BytesIn")), format_bytes(property_number(s, "BytesOut")),
                    format_time(property_number(s, "Since"))});
  }
  print_table(std::cout, {"ID", "CLIENT", "PEER", "PORT", "ROLE", "TLS", "REKEY", "IN", "OUT", "SINCE"}, rows);
  return 0;
}

struct PairingWatch {
  bool json = false;
  bool done = false;
  bool attempt_failed = false;  // "passcode": one attempt failed; the window may still be open
  int status = 0;
  std::string completed;  // the new client's object path
};

// What the person at the gateway does next, per confirmation mode.
std::string next_step(std::string_view mode, std::string_view code) {
  if (mode == "code") return "Code: " + std::string(code) + " - it must match the code the client shows.";
  if (mode == "passcode") return "It is proving the setup code.";
  if (mode == "button") return "Press the pairing button again to accept it.";
  return "It is accepted unless another client tries during the guard time.";
}

int on_pairing_signal(sd_bus_message* m, void* userdata, sd_bus_error*) {
  auto& watch = *static_cast<PairingWatch*>(userdata);
  std::string member = sd_bus_message_get_member(m);
  const char *a = nullptr, *b = nullptr, *c = nullptr, *mode = nullptr;
  if (member == "PairingRequested" && sd_bus_message_read(m, "ssss", &a, &b, &c, &mode) >= 0) {
    if (watch.json)
      std::cout << "{\"event\": \"requested\", \"fingerprint\": " << json_string(a) << ", \"name\": " << json_string(b)
                << ", \"code\": " << json_string(c) << ", \"mode\": " << json_string(mode) << "}" << std::endl;
    else
      std::cout << "Client \"" << b << "\" (" << a << ") asks to pair.\n" << next_step(mode, c) << std::endl;
  } else if (member == "PairingCompleted" && sd_bus_message_read(m, "os", &a, &mode) >= 0) {
    watch.completed = a;
    watch.done = true;
  } else if (member == "PairingFailed" && sd_bus_message_read(m, "ss", &a, &mode) >= 0) {
    if (watch.json)
      std::cout << "{\"event\": \"failed\", \"reason\": " << json_string(a) << ", \"mode\": " << json_string(mode)
                << "}" << std::endl;
    else
      std::cerr << "ttygatectl: pairing failed: " << a << std::endl;
    watch.status = 1;
    // A failed setup-code attempt leaves the window open for the next, up to a limit.
    if (std::string_view(mode) == "passcode") watch.attempt_failed = true;
    else
      watch.done = true;
  }
  return 0;
}

bool pairing_active(Client& bus) {
  // Kept in a local: the value found is a pointer into these properties.
  Properties gateway = bus.get_all(kGateway, kGatewayIface);
  const Value* open = gateway.get("PairingActive");
  return open && open->boolean;
}

// Runs the pairing signals through on_pairing_signal until the window's outcome is known.
void follow_pairing(Client& bus, PairingWatch& watch) {
  while (!watch.done) {
    int r = sd_bus_process(bus.bus(), nullptr);
    if (r < 0) throw BusError("Lost the bus while waiting");
    if (std::exchange(watch.attempt_failed, false)) {
      if (!pairing_active(bus)) return;  // that was the last attempt this window allows
      watch.status = 0;
      if (!watch.json) std::cout << "The window stays open for another attempt." << std::endl;
      continue;
    }
    if (r == 0) sd_bus_wait(bus.bus(), UINT64_MAX);
  }
}

int cmd_pair(Client& bus, const Options& o) {
  expect(o, 0, true);
  if (o.stop) {
    if (o.seconds || o.no_wait) usage_error("pair --stop takes no other option");
    bus.call(kGateway, kGatewayIface, "StopPairing");
    if (!o.json) std::cout << "Pairing window closed.\n";
    return 0;
  }
  PairingWatch watch{o.json};
  // Subscribed before the window opens, so not even a fast client's request is missed.
  // Declared after `watch`, so the match is gone before the watch it points to.
  SdBusSlotPtr slot;
  if (!o.no_wait) slot = bus.match_signals(kGateway, kGatewayIface, on_pairing_signal, &watch);
  bus.call_u(kGateway, kGatewayIface, "StartPairing", o.seconds.value_or(0));
  Properties gateway = bus.get_all(kGateway, kGatewayIface);
  if (o.json) std::cout << "{\"event\": \"open\", \"seconds\": " << property_text(gateway, "PairingRemaining") << "}" << std::endl;
  else
    std::cout << "Pairing window open for " << property_text(gateway, "PairingRemaining")
              << " s (confirmation: " << property_text(gateway, "PairingConfirmation") << ")." << std::endl;
  if (!o.no_wait) follow_pairing(bus, watch);
  slot.reset();  // no pairing event is printed after the outcome
  if (!watch.completed.empty()) {
    Properties client = bus.get_all(watch.completed, kClientIface);
    if (o.json) std::cout << "{\"event\": \"completed\", \"client\": " << json_string(watch.completed) << "}\n";
    else
      std::cout << "Paired \"" << property_text(client, "Name") << "\" as " << property_text(client, "Role") << ".\n";
  }
  return watch.status;
}

int cmd_confirm(Client& bus, const Options& o) {
  expect(o, 1);
  bus.call(kGateway, kGatewayIface, "ConfirmPairing", "s", {o.args[1]});
  if (!o.json) std::cout << "Confirmed.\n";
  return 0;
}

int cmd_add(Client& bus, const Options& o) {
  expect(o, 1, false, true);
  if (!o.name || !o.role) usage_error("add needs --name and --role");
  std::ifstream in(o.args[1]);
  if (!in) throw BusError("Failed to read " + o.args[1]);
  std::stringstream pem;
  pem << in.rdbuf();
  SdBusMessagePtr reply = bus.call(kGateway, kGatewayIface, "AddClient", "sss", {pem.str(), *o.name, *o.role});
  const char* path = nullptr;
  std::string added = sd_bus_message_read(reply.get(), "o", &path) >= 0 ? path : "";
  if (o.json) std::cout << "{\"client\": " << json_string(added) << "}\n";
  else
    std::cout << "Added \"" << *o.name << "\" as " << *o.role << ".\n";
  return 0;
}

int cmd_remove(Client& bus, const Options& o) {
  expect(o, 1);
  bus.call(find_client(bus, o.args[1]), kClientIface, "Remove");
  if (!o.json) std::cout << "Removed.\n";
  return 0;
}

int cmd_rename(Client& bus, const Options& o) {
  expect(o, 2);
  bus.set_string(find_client(bus, o.args[1]), kClientIface, "Name", o.args[2]);
  return 0;
}

int cmd_role(Client& bus, const Options& o) {
  expect(o, 2);
  bus.set_string(find_client(bus, o.args[1]), kClientIface, "Role", o.args[2]);
  return 0;
}

int cmd_disconnect(Client& bus, const Options& o) {
  expect(o, 1);
  const std::string& id = o.args[1];
  if (id.empty() || id.size() > 19 || id.find_first_not_of("0123456789") != std::string::npos || id[0] == '0')
    usage_error("disconnect takes a session ID as listed by sessions");
  bus.call(std::string(kGateway) + "/session/" + id, kSessionIface, "Disconnect");
  return 0;
}

using Command = int (*)(Client&, const Options&);

Command command_named(const std::string& name) {
  static const std::pair<const char*, Command> commands[] = {
      {"status", cmd_status}, {"pair", cmd_pair},     {"confirm", cmd_confirm}, {"clients", cmd_clients},
      {"add", cmd_add},       {"remove", cmd_remove}, {"rename", cmd_rename},   {"role", cmd_role},
      {"sessions", cmd_sessions}, {"disconnect", cmd_disconnect}};
  for (const auto& [n, command] : commands)
    if (name == n) return command;
  usage_error("unknown command \"" + name + "\"");
}

}  // namespace

int main(int argc, char** argv) {
  Options options = parse_options(argc, argv);
  Command command = command_named(options.args[0]);
  try {
    Client bus;
    return command(bus, options);
  } catch (const BusError& e) {
    std::fprintf(stderr, "ttygatectl: %s\n", e.what());
    return 1;
  }
}
