// SPDX-License-Identifier: Apache-2.0
// Config: reading ttygated.toml.
//
// The file is read in one pass, table by table: each table has one read_<table> function, and a
// Section names the keys that table knows, so any other key is refused before a value is read.
// A new table (pairing, tls, keepalive) is one more read function and one more root key. Every
// value is looked at through a Field, which carries its key path ("port[1].listen[0]") so each
// message can say where, what was expected and what was found.
#include "daemon/config.hpp"

#include <netinet/in.h>

#include <algorithm>
#include <initializer_list>
#include <sstream>
#include <utility>

#include <toml++/toml.h>

#include "common/escape.hpp"
#include "common/files.hpp"
#include "daemon/config_shape.hpp"
#include "daemon/names.hpp"
#include "daemon/serial_port.hpp"

namespace ttygate::daemon {
namespace {

// A configuration is a few KiB; anything far bigger is the wrong file.
constexpr std::size_t kMaxConfigBytes = 1 << 20;

// ---------------------------------------------------------------------------------------------
// Words for messages

template <class Range>
std::string join(const Range& items) {
  std::ostringstream out;
  const char* separator = "";
  for (const auto& item : items) {
    out << separator << item;
    separator = ", ";
  }
  return out.str();
}

// What a node is, with its value when it is short: "a string \"9600\"", "an integer 3".
std::string describe(const toml::node& node) {
  std::ostringstream scalar;
  switch (node.type()) {
    case toml::node_type::string: return "a string " + shown(node.as_string()->get());
    case toml::node_type::integer: return "an integer " + std::to_string(node.as_integer()->get());
    case toml::node_type::floating_point: scalar << "a float " << *node.as_floating_point(); break;
    case toml::node_type::boolean: scalar << "a boolean " << *node.as_boolean(); break;
    case toml::node_type::date: scalar << "a date " << *node.as_date(); break;
    case toml::node_type::time: scalar << "a time " << *node.as_time(); break;
    case toml::node_type::date_time: scalar << "a date-time " << *node.as_date_time(); break;
    case toml::node_type::array:
      return node.as_array()->is_array_of_tables() ? "an array of tables" : "an array";
    case toml::node_type::table: return "a table";
    case toml::node_type::none: return "nothing";
  }
  return scalar.str();
}

// TOML's bare keys, and our port names: A-Z a-z 0-9 _ - (ASCII whatever the locale).
bool is_bare(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

// A key as it appears in a key path: bare when TOML would allow it bare, quoted otherwise.
std::string key_text(std::string_view key) { return is_bare(key) ? std::string(key) : shown(key); }

[[noreturn]] void fail_at(const std::string& file, std::string_view path, const std::string& problem) {
  throw ConfigError(file + ": " + std::string(path) + ": " + problem);
}

// ---------------------------------------------------------------------------------------------
// Fields and sections

// One value of the file and where it is.
struct Field {
  const std::string& file;
  const toml::node& node;
  std::string path;

  [[noreturn]] void fail(const std::string& problem) const { fail_at(file, path, problem); }
  [[noreturn]] void expected(std::string_view what) const {
    fail("expected " + std::string(what) + ", got " + describe(node));
  }

  std::string_view string(std::string_view what = "a string") const {
    if (const auto* value = node.as_string()) return value->get();
    expected(what);
  }
  std::int64_t integer_in(std::int64_t min, std::int64_t max) const {
    const std::string what = "an integer in " + std::to_string(min) + ".." + std::to_string(max);
    const auto* value = node.as_integer();
    if (value == nullptr || value->get() < min || value->get() > max) expected(what);
    return value->get();
  }
  // A non-empty array; `what` names its elements ("\"address:port\" strings").
  const toml::array& array_of(std::string_view what) const {
    const auto* array = node.as_array();
    if (array == nullptr) expected("an array of " + std::string(what));
    if (array->empty()) fail("expected a non-empty array of " + std::string(what) + ", got an empty array");
    return *array;
  }
  const toml::table& table() const {
    if (const auto* table = node.as_table()) return *table;
    expected("a table");
  }
  Field element(const toml::array& array, std::size_t index) const {
    return Field{file, *array.get(index), path + "[" + std::to_string(index) + "]"};
  }
};

// One table of the file. Constructing it refuses every key not in `keys`, the first in file
// order, so a read function declares its keys exactly once and nothing unknown slips through.
class Section {
 public:
  Section(const std::string& file, const toml::table& table, std::string path,
          std::initializer_list<std::string_view> keys)
      : file_(file), table_(table), path_(std::move(path)) {
    refuse_unknown_keys(keys);
  }

  std::optional<Field> get(std::string_view key) const {
    const toml::node* node = table_.get(key);
    if (node == nullptr) return std::nullopt;
    return Field{file_, *node, path_of(key)};
  }
  // `what` describes the value wanted, for the message when the key is missing.
  Field require(std::string_view key, std::string_view what) const {
    if (auto field = get(key)) return *field;
    fail_at(file_, path_of(key), "required key is missing; expected " + std::string(what));
  }

 private:
  std::string path_of(std::string_view key) const {
    return path_.empty() ? key_text(key) : path_ + "." + key_text(key);
  }

  void refuse_unknown_keys(std::initializer_list<std::string_view> keys) const {
    const toml::key* first = nullptr;
    for (const auto& [key, node] : table_) {
      if (std::find(keys.begin(), keys.end(), key.str()) != keys.end()) continue;
      if (first == nullptr || key.source().begin < first->source().begin) first = &key;
    }
    if (first == nullptr) return;
    const toml::node& node = *table_.get(first->str());
    const bool is_table = node.is_table() || node.is_array_of_tables();
    fail_at(file_, path_of(first->str()),
            std::string(is_table ? "unknown table" : "unknown key") + "; expected one of " + join(keys));
  }

  const std::string& file_;
  const toml::table& table_;
  std::string path_;
};

// ---------------------------------------------------------------------------------------------
// Value kinds

template <class Enum>
struct Choice {
  std::string_view word;
  Enum value;
};

constexpr Choice<Parity> parities[] = {{"none", Parity::none}, {"even", Parity::even}, {"odd", Parity::odd}};
constexpr Choice<Flow> flows[] = {{"none", Flow::none}, {"rtscts", Flow::rtscts}, {"xonxoff", Flow::xonxoff}};
constexpr Choice<Confirm> confirms[] = {
    {"auto", Confirm::automatic}, {"button", Confirm::button}, {"code", Confirm::code}, {"passcode", Confirm::passcode}};
constexpr Choice<KernelTls> kernel_modes[] = {{"auto", KernelTls::automatic}, {"off", KernelTls::off}};
constexpr Choice<bool> roles[] = {{"control", true}, {"monitor", false}};
constexpr Choice<ControlMode> control_modes[] = {{"shared", ControlMode::shared},
                                                 {"exclusive", ControlMode::exclusive}};
constexpr Choice<LineControlMode> line_control_modes[] = {{"none", LineControlMode::none},
                                                         {"rfc2217", LineControlMode::rfc2217}};

template <class Enum, std::size_t N>
Enum choose(const Field& field, const Choice<Enum> (&choices)[N]) {
  std::vector<std::string_view> words;
  for (const auto& choice : choices) words.push_back(choice.word);
  const std::string expected = "one of " + join(words);
  const auto* value = field.node.as_string();
  if (value == nullptr) field.expected(expected);
  for (const auto& choice : choices) {
    if (choice.word == value->get()) return choice.value;
  }
  field.fail("expected " + expected + ", got " + shown(value->get()));
}

template <class Enum, std::size_t N>
std::string_view word_of(Enum value, const Choice<Enum> (&choices)[N]) {
  for (const auto& choice : choices) {
    if (choice.value == value) return choice.word;
  }
  return "?";
}

// The serial port's own table decides: config never accepts a rate it cannot set.
unsigned baud_rate(const Field& field) {
  const auto rates = supported_baud_rates();
  const std::string expected = "a rate termios supports (" + join(rates) + ")";
  const auto* value = field.node.as_integer();
  if (value == nullptr) field.expected(expected);
  const auto match = std::find(rates.begin(), rates.end(), value->get());
  if (match == rates.end()) field.expected(expected);
  return *match;
}

std::vector<unsigned> baud_rates(const Field& field) {
  const toml::array& array = field.array_of("baud rates");
  std::vector<unsigned> rates;
  for (std::size_t i = 0; i < array.size(); ++i) rates.push_back(baud_rate(field.element(array, i)));
  if (rates.empty()) field.expected("at least one baud rate");
  return rates;
}

std::filesystem::path absolute_path(const Field& field) {
  const std::string_view text = field.string("an absolute path");
  if (text.empty() || text.front() != '/' || text.find('\0') != std::string_view::npos) {
    field.expected("an absolute path");
  }
  return std::filesystem::path(text);
}

std::string port_name(const Field& field) {
  constexpr std::string_view expected = "a name of 1..32 characters from A-Z a-z 0-9 _ -";
  const std::string_view text = field.string(expected);
  if (text.size() > 32 || !is_bare(text)) field.expected(expected);
  return std::string(text);
}

// The gateway's name is shown to people like a client's, so it follows the same rule.
std::string gateway_name(const Field& field) {
  const std::string expected = "a name of " + std::string(name_rule());
  const std::string_view text = field.string(expected);
  if (!valid_name(text)) field.expected(expected);
  return std::string(text);
}

std::vector<ListenAddress> listen_addresses(const Field& field) {
  const toml::array& array = field.array_of("\"address:port\" strings");
  std::vector<ListenAddress> addresses;
  for (std::size_t i = 0; i < array.size(); ++i) {
    const Field element = field.element(array, i);
    auto address = ListenAddress::parse(element.string("an \"address:port\" string"));
    if (!address) element.fail(address.error().context());
    addresses.push_back(std::move(*address));
  }
  return addresses;
}

std::vector<Cidr> address_ranges(const Field& field) {
  const toml::array& array = field.array_of("address range strings");
  std::vector<Cidr> ranges;
  for (std::size_t i = 0; i < array.size(); ++i) {
    const Field element = field.element(array, i);
    auto range = Cidr::parse(element.string("an address range string such as \"10.0.0.0/8\""));
    if (!range) element.fail(range.error().context());
    ranges.push_back(std::move(*range));
  }
  return ranges;
}

// ---------------------------------------------------------------------------------------------
// Tables

void read_gateway(const Section& section, GatewaySection& gateway) {
  if (auto field = section.get("state_dir")) gateway.state_dir = absolute_path(*field);
  if (auto field = section.get("name")) gateway.name = gateway_name(*field);
}

// An interface name as the kernel takes it (dev_valid_name): 1..15 bytes, not "." or "..", no
// '/', ':' or white space.
std::string interface_name(const Field& field) {
  constexpr std::string_view expected = "an interface name of 1..15 characters without '/', ':' or spaces";
  const std::string_view text = field.string(expected);
  const bool bad_char = std::any_of(text.begin(), text.end(), [](char c) {
    return c == '/' || c == ':' || static_cast<unsigned char>(c) <= ' ' || c == 0x7f;
  });
  if (text.empty() || text.size() > 15 || text == "." || text == ".." || bad_char) field.expected(expected);
  return std::string(text);
}

std::string serial_text(const Field& field) {
  constexpr std::string_view expected = "a serial number of 1..64 printable ASCII characters without spaces";
  const std::string_view text = field.string(expected);
  const bool printable = std::all_of(text.begin(), text.end(), [](char c) { return c > ' ' && c < 0x7f; });
  if (text.empty() || text.size() > 64 || !printable) field.expected(expected);
  return std::string(text);
}

// interfaces, listen_port and serial; a port needs listen addresses, interfaces, or both.
void read_port_interfaces(const Section& section, PortConfig& port) {
  if (auto field = section.get("interfaces")) {
    const toml::array& array = field->array_of("interface names");
    for (std::size_t i = 0; i < array.size(); ++i) {
      const Field element = field->element(array, i);
      std::string name = interface_name(element);
      if (std::find(port.interfaces.begin(), port.interfaces.end(), name) != port.interfaces.end())
        element.fail(shown(name) + " is named twice");
      port.interfaces.push_back(std::move(name));
    }
    port.listen_port = static_cast<std::uint16_t>(
        section.require("listen_port", "a TCP port 1..65535 for the interfaces' addresses").integer_in(1, 65535));
  } else if (auto field = section.get("listen_port")) {
    field->fail("listen_port only goes with interfaces = [...]; use listen = [\"address:port\"] otherwise");
  }
  if (port.listen.empty() && port.interfaces.empty())
    section.require("listen", "an array of \"address:port\" strings, or interfaces = [...] with listen_port");
  if (auto field = section.get("serial")) port.serial = serial_text(*field);
}

void read_port(const Section& section, PortConfig& port) {
  port.name = port_name(section.require("name", "a name such as \"sensor-bus\""));
  port.device = absolute_path(section.require("device", "an absolute path such as \"/dev/ttyUSB0\""));
  if (auto field = section.get("baud")) port.baud = baud_rate(*field);
  if (auto field = section.get("data_bits")) port.data_bits = field->integer_in(5, 8);
  if (auto field = section.get("parity")) port.parity = choose(*field, parities);
  if (auto field = section.get("stop_bits")) port.stop_bits = field->integer_in(1, 2);
  if (auto field = section.get("flow")) port.flow = choose(*field, flows);
  if (auto field = section.get("listen")) port.listen = listen_addresses(*field);
  read_port_interfaces(section, port);
  if (auto field = section.get("control")) port.control = choose(*field, control_modes);
  if (auto field = section.get("line_control")) port.line_control = choose(*field, line_control_modes);
  if (auto field = section.get("allowed_bauds")) port.allowed_bauds = baud_rates(*field);
}

// The limits of docs/threat-model.md, "Lock-out".
void read_lockout_limits(const Section& section, Limits& limits) {
  if (auto field = section.get("hello_timeout_ms")) {
    limits.hello_timeout = std::chrono::milliseconds(field->integer_in(100, 600'000));
  }
  if (auto field = section.get("max_sessions")) limits.max_sessions = field->integer_in(1, 65535);
  if (auto field = section.get("max_sessions_per_client")) limits.max_sessions_per_client = field->integer_in(1, 65535);
}

void read_limits(const Section& section, Limits& limits) {
  if (auto field = section.get("handshake_timeout_ms")) {
    limits.handshake_timeout = std::chrono::milliseconds(field->integer_in(100, 600'000));
  }
  if (auto field = section.get("max_handshakes")) limits.max_handshakes = field->integer_in(1, 65535);
  if (auto field = section.get("max_handshakes_per_source")) {
    limits.max_handshakes_per_source = field->integer_in(1, 65535);
  }
  if (auto field = section.get("handshakes_per_source_per_minute")) {
    limits.handshakes_per_source_per_minute = field->integer_in(1, 65535);
  }
  if (auto field = section.get("session_buffer_bytes")) {
    limits.session_buffer = field->integer_in(4096, 64 << 20);
  }
  if (auto field = section.get("allow_from")) limits.allow_from = address_ranges(*field);
  read_lockout_limits(section, limits);
}

// Two ports on one device would fight over its exclusive open: refuse it here, not at 3 a.m.
void check_unique_port(const std::string& file, const std::vector<PortConfig>& ports, std::size_t index) {
  const std::string path = "port[" + std::to_string(index) + "]";
  for (std::size_t earlier = 0; earlier < index; ++earlier) {
    const std::string other = "port[" + std::to_string(earlier) + "]";
    if (ports[earlier].name == ports[index].name) {
      fail_at(file, path + ".name", shown(ports[index].name) + " is already the name of " + other);
    }
    if (ports[earlier].device == ports[index].device) {
      fail_at(file, path + ".device",
              shown(ports[index].device.string()) + " is already the device of " + other);
    }
  }
}

void read_ports(const Field& field, std::vector<PortConfig>& ports) {
  const auto* array = field.node.as_array();
  if (array == nullptr || !array->is_array_of_tables()) field.expected("an array of tables ([[port]])");
  for (std::size_t i = 0; i < array->size(); ++i) {
    const Field element = field.element(*array, i);
    Section section(
        field.file, element.table(), element.path,
        {"name", "device", "baud", "data_bits", "parity", "stop_bits", "flow", "listen", "control", "interfaces",
         "listen_port", "serial", "line_control", "allowed_bauds"});
    read_port(section, ports.emplace_back());
    check_unique_port(field.file, ports, i);
  }
}

// ---------------------------------------------------------------------------------------------
// Listen conflicts

struct Endpoint {
  int family;
  std::uint16_t port;
  const std::uint8_t* address;
  std::size_t address_size;
  std::uint32_t scope;
};

Endpoint endpoint_of(const ListenAddress& listen) {
  if (listen.family() == AF_INET) {
    const auto& in = reinterpret_cast<const sockaddr_in&>(listen.addr);
    return {AF_INET, in.sin_port, reinterpret_cast<const std::uint8_t*>(&in.sin_addr), 4, 0};
  }
  const auto& in6 = reinterpret_cast<const sockaddr_in6&>(listen.addr);
  return {AF_INET6, in6.sin6_port, in6.sin6_addr.s6_addr, 16, in6.sin6_scope_id};
}

bool is_wildcard(const Endpoint& endpoint) {
  return std::all_of(endpoint.address, endpoint.address + endpoint.address_size,
                     [](std::uint8_t byte) { return byte == 0; });
}

// Empty when the earlier address and the later one can both be bound; otherwise why not. IPv6
// listeners are IPV6_V6ONLY, so the two families never collide with each other.
std::string collision(const ListenAddress& earlier, const std::string& earlier_path,
                      const ListenAddress& later) {
  const Endpoint x = endpoint_of(earlier), y = endpoint_of(later);
  if (x.family != y.family || x.port != y.port) return {};
  if (x.scope == y.scope && std::equal(x.address, x.address + x.address_size, y.address)) {
    return shown(later.text) + " is already used by " + earlier_path;
  }
  if (is_wildcard(x)) {
    return shown(later.text) + " overlaps " + shown(earlier.text) + " of " + earlier_path +
           ", which takes that port on every address";
  }
  if (is_wildcard(y)) {
    return shown(later.text) + " takes that port on every address, overlapping " + shown(earlier.text) +
           " of " + earlier_path;
  }
  return {};
}

// An interface port takes listen_port on each of its interfaces' addresses: two such ports on
// one interface and port number, or a wildcard listen on that number, could never both bind.
void check_interface_conflicts(const std::string& file, const std::vector<PortConfig>& ports) {
  for (std::size_t p = 0; p < ports.size(); ++p) {
    if (ports[p].interfaces.empty()) continue;
    const std::string path = "port[" + std::to_string(p) + "].listen_port";
    for (std::size_t q = 0; q < ports.size(); ++q) {
      if (q == p) continue;
      for (const ListenAddress& address : ports[q].listen) {
        const Endpoint other = endpoint_of(address);
        if (ntohs(other.port) == ports[p].listen_port && is_wildcard(other))
          fail_at(file, path, std::to_string(ports[p].listen_port) + " is taken on every address by " +
                                  shown(address.text) + " of port[" + std::to_string(q) + "]");
      }
      if (q > p || ports[q].listen_port != ports[p].listen_port) continue;
      for (const std::string& name : ports[p].interfaces)
        if (std::find(ports[q].interfaces.begin(), ports[q].interfaces.end(), name) != ports[q].interfaces.end())
          fail_at(file, path, std::to_string(ports[p].listen_port) + " on " + shown(name) + " is already taken by port[" +
                                  std::to_string(q) + "]");
    }
  }
}

void check_listen_conflicts(const std::string& file, const std::vector<PortConfig>& ports) {
  struct Seen {
    const ListenAddress* address;
    std::string path;
  };
  std::vector<Seen> seen;
  for (std::size_t p = 0; p < ports.size(); ++p) {
    for (std::size_t l = 0; l < ports[p].listen.size(); ++l) {
      const ListenAddress& address = ports[p].listen[l];
      const std::string path = "port[" + std::to_string(p) + "].listen[" + std::to_string(l) + "]";
      for (const Seen& earlier : seen) {
        const std::string problem = collision(*earlier.address, earlier.path, address);
        if (!problem.empty()) fail_at(file, path, problem);
      }
      seen.push_back({&address, path});
    }
  }
  check_interface_conflicts(file, ports);
}

bool boolean(const Field& field) {
  if (const auto* value = field.node.as_boolean()) return value->get();
  field.expected("true or false");
}

void read_button(const Section& section, ButtonConfig& button) {
  button.chip = std::string(section.require("chip", "a GPIO chip name such as \"gpiochip0\"").string());
  if (button.chip.empty() || button.chip.find('\0') != std::string::npos)
    section.require("chip", "").expected("a GPIO chip name such as \"gpiochip0\"");
  button.line = section.require("line", "a line offset").integer_in(0, 1023);
  if (auto field = section.get("active_low")) button.active_low = boolean(*field);
  if (auto field = section.get("debounce_ms")) button.debounce = std::chrono::milliseconds(field->integer_in(0, 1000));
}

void read_pairing(const std::string& file, const Section& section, PairingSection& pairing) {
  if (auto field = section.get("confirm")) pairing.confirm = choose(*field, confirms);
  if (auto field = section.get("window_seconds")) pairing.window = std::chrono::seconds(field->integer_in(10, 3600));
  if (auto field = section.get("auto_guard_ms"))
    pairing.auto_guard = std::chrono::milliseconds(field->integer_in(500, 60000));
  if (auto field = section.get("default_role")) pairing.default_role_control = choose(*field, roles);
  if (auto field = section.get("max_passcode_attempts"))
    pairing.max_passcode_attempts = static_cast<unsigned>(field->integer_in(1, 20));
  if (auto field = section.get("button")) {
    read_button(Section(file, field->table(), field->path, {"chip", "line", "active_low", "debounce_ms"}),
                pairing.button.emplace());
  }
  if (pairing.confirm == Confirm::button && !pairing.button)
    fail_at(file, "pairing.confirm", "\"button\" needs a [pairing.button] table naming the GPIO line");
}

void read_tls(const Section& section, TlsSection& tls) {
  if (auto field = section.get("kernel")) tls.kernel = choose(*field, kernel_modes);
  if (auto field = section.get("rekey_after_bytes"))
    tls.rekey_after_bytes = static_cast<std::uint64_t>(field->integer_in(1 << 16, std::int64_t{1} << 38));
  if (auto field = section.get("rekey_after_seconds"))
    tls.rekey_after = std::chrono::seconds(field->integer_in(1, 604800));
  if (auto field = section.get("ticket_lifetime_seconds"))
    tls.ticket_lifetime = std::chrono::seconds(field->integer_in(0, 604800));
}

void read_keepalive(const Section& section, KeepaliveSection& keepalive) {
  if (auto field = section.get("idle_seconds")) keepalive.idle = std::chrono::seconds(field->integer_in(1, 7200));
  if (auto field = section.get("interval_seconds"))
    keepalive.interval = std::chrono::seconds(field->integer_in(1, 600));
  if (auto field = section.get("count")) keepalive.count = field->integer_in(1, 30);
  keepalive.user_timeout = keepalive.idle + keepalive.interval * keepalive.count;
  if (auto field = section.get("user_timeout_ms"))
    keepalive.user_timeout = std::chrono::milliseconds(field->integer_in(1000, 3'600'000));
  if (auto field = section.get("session_idle_seconds"))
    keepalive.session_idle = std::chrono::seconds(field->integer_in(0, 604800));
}

void read_root(const std::string& file, const toml::table& root, Config& config) {
  Section section(file, root, "", {"gateway", "port", "limits", "pairing", "tls", "keepalive", "discovery"});
  if (auto field = section.get("gateway")) {
    read_gateway(Section(file, field->table(), field->path, {"state_dir", "name"}), config.gateway);
  }
  const auto ports = section.get("port");
  if (!ports || (ports->node.is_array() && ports->node.as_array()->empty())) {
    fail_at(file, "port", "expected at least one [[port]] table, got none");
  }
  read_ports(*ports, config.ports);
  check_listen_conflicts(file, config.ports);
  if (auto field = section.get("limits")) {
    read_limits(Section(file, field->table(), field->path,
                        {"handshake_timeout_ms", "max_handshakes", "max_handshakes_per_source",
                         "handshakes_per_source_per_minute", "session_buffer_bytes", "allow_from",
                         "hello_timeout_ms", "max_sessions", "max_sessions_per_client"}),
                config.limits);
  }
  if (auto field = section.get("pairing")) {
    read_pairing(file,
                 Section(file, field->table(), field->path,
                         {"confirm", "window_seconds", "auto_guard_ms", "default_role", "max_passcode_attempts", "button"}),
                 config.pairing);
  }
  if (auto field = section.get("tls")) {
    read_tls(Section(file, field->table(), field->path,
                     {"kernel", "rekey_after_bytes", "rekey_after_seconds", "ticket_lifetime_seconds"}),
             config.tls);
  }
  if (auto field = section.get("keepalive")) {
    read_keepalive(Section(file, field->table(), field->path,
                           {"idle_seconds", "interval_seconds", "count", "user_timeout_ms", "session_idle_seconds"}),
                   config.keepalive);
  }
  if (auto field = section.get("discovery")) {
    Section discovery(file, field->table(), field->path, {"enabled"});
    if (auto enabled = discovery.get("enabled")) config.discovery.enabled = boolean(*enabled);
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Public API

std::string_view to_string(Parity parity) { return word_of(parity, parities); }
std::string_view to_string(Flow flow) { return word_of(flow, flows); }
std::string_view to_string(LineControlMode mode) { return word_of(mode, line_control_modes); }
std::string_view to_string(ControlMode mode) { return word_of(mode, control_modes); }
std::string_view to_string(Confirm confirm) { return word_of(confirm, confirms); }
std::string_view to_string(KernelTls kernel) { return word_of(kernel, kernel_modes); }

std::vector<Cidr> default_allow_from() {
  static const char* const ranges[] = {"127.0.0.0/8",    "::1/128",  "10.0.0.0/8",     "172.16.0.0/12",
                                       "192.168.0.0/16", "fc00::/7", "169.254.0.0/16", "fe80::/10"};
  std::vector<Cidr> result;
  for (const char* range : ranges) result.push_back(*Cidr::parse(range));
  return result;
}

Config parse_config(std::string_view text, const std::filesystem::path& source) {
  const std::string file = source.string();
  // Bounded before toml++ recurses into it (daemon/config_shape.hpp).
  if (auto shape = check_config_shape(text); !shape) throw ConfigError(file + ":" + shape.error().context());
  toml::table root;
  try {
    root = toml::parse(text, std::string_view(file));
  } catch (const toml::parse_error& error) {
    const auto& where = error.source().begin;
    // toml++'s descriptions may span lines and quote the offending bytes: one escaped line.
    throw ConfigError(file + ":" + std::to_string(where.line) + ":" + std::to_string(where.column) + ": " +
                      one_line(error.description()));
  }
  Config config;
  config.file = source;
  read_root(file, root, config);
  return config;
}

Config load_config(const std::filesystem::path& file) {
  // read_file's errors name the file: "<file>: No such file or directory".
  auto contents = read_file(file, kMaxConfigBytes);
  if (!contents) throw ConfigError(contents.error().message());
  return parse_config(contents->bytes, file);
}

}  // namespace ttygate::daemon
