// SPDX-License-Identifier: Apache-2.0
// Config: ttygated's TOML configuration, parsed and validated in full before anything starts.
//
// Every key is known: an unknown key, a wrong type or an out-of-range value is a ConfigError
// whose message names the file, the key (with its table, e.g. "port[1].baud") and the problem,
// e.g. "/etc/ttygate/ttygated.toml: port[0].parity: expected one of none, even, odd, got \"mark\"".
// A TOML syntax error reads "<file>:<line>:<column>: <description>". Nothing is defaulted around
// a mistake: a file either yields a whole Config or an error.
// Documented key by key in docs/configuration.md. Pure functions, no logging, no global state
// (listen addresses and ranges are parsed by daemon/address.hpp; one with an interface, "%eth0",
// consults the kernel's interface list).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/address.hpp"

namespace ttygate::daemon {

class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class Parity { none, even, odd };
enum class Flow { none, rtscts, xonxoff };
enum class ControlMode { shared, exclusive };
// Whether clients may change the line over RFC 2217 (docs/line-control.md).
enum class LineControlMode { none, rfc2217 };

// The words used in the file (and in messages and on D-Bus).
std::string_view to_string(Parity parity);
std::string_view to_string(Flow flow);
std::string_view to_string(ControlMode mode);
std::string_view to_string(LineControlMode mode);

struct PortConfig {
  std::string name;                     // [A-Za-z0-9_-]{1,32}, unique
  std::filesystem::path device;         // absolute path
  unsigned baud = 115200;               // one of the termios rates 50..4000000
  unsigned data_bits = 8;               // 5..8
  Parity parity = Parity::none;
  unsigned stop_bits = 1;               // 1 or 2
  Flow flow = Flow::none;
  std::vector<ListenAddress> listen;    // at least one (or interfaces); no address used twice in
                                        // the file, and no address next to a wildcard of its
                                        // family and port
  // interfaces + listen_port: listen on every usable address of these interfaces, following
  // them at run time (daemon/netwatch.hpp). Names of 1..15 characters, unique in the port.
  std::vector<std::string> interfaces;
  std::uint16_t listen_port = 0;        // 1..65535, required with interfaces, only with them
  std::string serial;                   // DNS-SD "serial=": 1..64 printable ASCII, no spaces;
                                        // empty = derived (daemon/device_serial.hpp)
  ControlMode control = ControlMode::shared;
  LineControlMode line_control = LineControlMode::rfc2217;
  std::vector<unsigned> allowed_bauds;  // rates RFC 2217 clients may set; empty = every rate
                                        // baud accepts

  // Every field, so a reload (gateway_reload.cpp) sees any change, including fields added later.
  bool operator==(const PortConfig&) const = default;
};

// The default allow_from ranges: loopback, RFC 1918, RFC 4193 and link-local, IPv4 and IPv6.
std::vector<Cidr> default_allow_from();

struct Limits {
  std::chrono::milliseconds handshake_timeout{10'000};  // handshake_timeout_ms, 100..600000
  std::chrono::milliseconds hello_timeout{2'000};       // hello_timeout_ms, 100..600000: until the
                                                        // whole ClientHello arrived (at most
                                                        // handshake_timeout applies)
  unsigned max_handshakes = 64;                         // concurrent, 1..65535
  unsigned max_handshakes_per_source = 8;               // concurrent from one IPv4 address or
                                                        // IPv6 /64, 1..65535
  unsigned handshakes_per_source_per_minute = 120;      // started by one source, 1..65535
  std::size_t session_buffer = 256 * 1024;              // session_buffer_bytes, bytes queued
                                                        // to a slow session before it is dropped,
                                                        // 4096..64 MiB
  std::vector<Cidr> allow_from = default_allow_from();  // at least one range
  unsigned max_sessions = 128;                          // relaying sessions per port, 1..65535
  unsigned max_sessions_per_client = 16;                // relaying sessions of one client on all
                                                        // ports, 1..65535
};

struct GatewaySection {
  std::filesystem::path state_dir = "/var/lib/ttygate";  // absolute path
  std::string name = "ttygate";                         // CN of the gateway's certificate; the
                                                        // rule of daemon/names.hpp
};

enum class Confirm { automatic, button, code, passcode };  // words: auto, button, code, passcode
enum class KernelTls { automatic, off };          // words: auto, off

// The GPIO line of the pairing button (GPIO character device, uAPI v2).
struct ButtonConfig {
  std::string chip;          // "gpiochip0" or a path under /dev
  unsigned line = 0;         // 0..1023
  bool active_low = true;
  std::chrono::milliseconds debounce{50};  // debounce_ms, 0..1000
};

struct PairingSection {
  Confirm confirm = Confirm::code;
  std::chrono::seconds window{120};              // window_seconds, 10..3600
  std::chrono::milliseconds auto_guard{3000};    // auto_guard_ms, 500..60000: how long "auto"
                                                 // waits for a rival before it accepts
  bool default_role_control = true;              // default_role = "control" | "monitor"
  unsigned max_passcode_attempts = 5;            // 1..20: failed setup-code attempts per window
  std::optional<ButtonConfig> button;            // [pairing.button]
};

struct TlsSection {
  KernelTls kernel = KernelTls::automatic;
  // Per traffic key, whichever comes first (RFC 8446 5.5 bounds AES-GCM at 2^24.5 full records).
  std::uint64_t rekey_after_bytes = std::uint64_t{1} << 30;   // 64 KiB (tests) .. 2^38
  std::chrono::seconds rekey_after{3600};                     // rekey_after_seconds, 1..604800
  std::chrono::seconds ticket_lifetime{86400};                // ticket_lifetime_seconds, 0 = no
                                                              // resumption, ..604800
};

struct KeepaliveSection {
  std::chrono::seconds idle{30};        // idle_seconds: TCP_KEEPIDLE, 1..7200
  std::chrono::seconds interval{10};    // interval_seconds: TCP_KEEPINTVL, 1..600
  unsigned count = 3;                   // TCP_KEEPCNT, 1..30
  // TCP_USER_TIMEOUT: unacknowledged data older than this ends the connection. Default:
  // idle + interval * count (user_timeout_ms, 1000..3600000).
  std::chrono::milliseconds user_timeout{60000};
  std::chrono::seconds session_idle{0};  // session_idle_seconds: no payload either way for this
                                         // long closes the session; 0 = never, ..604800
};

// [discovery]: DNS-SD publishing through Avahi (dbus/discovery.hpp).
struct DiscoverySection {
  bool enabled = true;
};

struct Config {
  std::filesystem::path file;  // where it was read from (parse_config: its source argument)
  GatewaySection gateway;
  std::vector<PortConfig> ports;  // at least one
  Limits limits;
  PairingSection pairing;
  TlsSection tls;
  KeepaliveSection keepalive;
  DiscoverySection discovery;
};

std::string_view to_string(Confirm confirm);
std::string_view to_string(KernelTls kernel);

// Throw ConfigError on any problem. source only names the text in messages and Config::file.
Config parse_config(std::string_view text, const std::filesystem::path& source);
// Reads the file (a regular file of at most 1 MiB), then parse_config; an unreadable file is
// "<file>: <strerror>".
Config load_config(const std::filesystem::path& file);

}  // namespace ttygate::daemon
