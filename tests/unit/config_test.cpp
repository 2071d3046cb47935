// SPDX-License-Identifier: Apache-2.0
// Config: good files become the values they say (defaults filled in), bad files become one exact
// line naming the file, the key and the problem. Cidr and ListenAddress on their own:
// address_test.cpp.
#include "daemon/config.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <unistd.h>

#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace ttygate::daemon {
namespace {

using namespace std::string_literals;

const std::filesystem::path kFile = "/etc/ttygate/ttygated.toml";

const std::string kPort =
    "[[port]]\n"
    "name = \"bus\"\n"
    "device = \"/dev/ttyUSB0\"\n"
    "listen = [\"0.0.0.0:7000\"]\n";

std::string error_of(const std::string& text) {
  try {
    parse_config(text, kFile);
  } catch (const ConfigError& error) {
    return error.what();
  }
  return "(accepted)";
}

// A peer address from text, as accept() would hand it over.
sockaddr_storage peer(const char* text) {
  sockaddr_storage storage{};
  auto* in = reinterpret_cast<sockaddr_in*>(&storage);
  auto* in6 = reinterpret_cast<sockaddr_in6*>(&storage);
  if (inet_pton(AF_INET, text, &in->sin_addr) == 1) {
    in->sin_family = AF_INET;
  } else if (inet_pton(AF_INET6, text, &in6->sin6_addr) == 1) {
    in6->sin6_family = AF_INET6;
  } else {
    ADD_FAILURE() << "bad peer in test: " << text;
  }
  return storage;
}

const sockaddr* as_sockaddr(const sockaddr_storage& storage) {
  return reinterpret_cast<const sockaddr*>(&storage);
}

std::vector<std::string> texts(const std::vector<Cidr>& ranges) {
  std::vector<std::string> result;
  for (const auto& range : ranges) result.push_back(range.text);
  return result;
}

std::vector<std::string> texts(const std::vector<ListenAddress>& addresses) {
  std::vector<std::string> result;
  for (const auto& address : addresses) result.push_back(address.text);
  return result;
}

// ---------------------------------------------------------------------------------------------
// Good files

TEST(ConfigParsing, FillsEveryDefaultForAMinimalFile) {
  const Config config = parse_config(kPort, kFile);

  EXPECT_EQ(config.file, kFile);
  EXPECT_EQ(config.gateway.state_dir, "/var/lib/ttygate");
  EXPECT_EQ(config.gateway.name, "ttygate");
  ASSERT_EQ(config.ports.size(), 1u);
  const PortConfig& port = config.ports[0];
  EXPECT_EQ(port.name, "bus");
  EXPECT_EQ(port.device, "/dev/ttyUSB0");
  EXPECT_EQ(port.baud, 115200u);
  EXPECT_EQ(port.data_bits, 8u);
  EXPECT_EQ(port.parity, Parity::none);
  EXPECT_EQ(port.stop_bits, 1u);
  EXPECT_EQ(port.flow, Flow::none);
  EXPECT_EQ(port.control, ControlMode::shared);
  EXPECT_EQ(texts(port.listen), std::vector<std::string>{"0.0.0.0:7000"});
  EXPECT_EQ(config.limits.handshake_timeout, std::chrono::milliseconds(10'000));
  EXPECT_EQ(config.limits.max_handshakes, 64u);
  EXPECT_EQ(config.limits.max_handshakes_per_source, 8u);
  EXPECT_EQ(config.limits.handshakes_per_source_per_minute, 120u);
  EXPECT_EQ(config.limits.session_buffer, 256u * 1024);
  EXPECT_EQ(texts(config.limits.allow_from), texts(default_allow_from()));
  EXPECT_EQ(config.pairing.confirm, Confirm::code);
  EXPECT_EQ(config.pairing.window, std::chrono::seconds(120));
  EXPECT_TRUE(config.pairing.default_role_control);
  EXPECT_EQ(config.pairing.max_passcode_attempts, 5u);
  EXPECT_FALSE(config.pairing.button.has_value());
  EXPECT_EQ(config.tls.kernel, KernelTls::automatic);
  EXPECT_EQ(config.tls.rekey_after_bytes, std::uint64_t{1} << 30);
  EXPECT_EQ(config.tls.rekey_after, std::chrono::seconds(3600));
  EXPECT_EQ(config.keepalive.user_timeout, std::chrono::milliseconds(60000));
  EXPECT_EQ(config.keepalive.session_idle, std::chrono::seconds(0));
}

TEST(ConfigParsing, ReadsSetupCodeConfirmationAndItsAttemptLimit) {
  const Config config =
      parse_config("[pairing]\nconfirm = \"passcode\"\nmax_passcode_attempts = 3\n" + std::string(kPort), kFile);
  EXPECT_EQ(config.pairing.confirm, Confirm::passcode);
  EXPECT_EQ(config.pairing.max_passcode_attempts, 3u);
  EXPECT_EQ(to_string(Confirm::passcode), "passcode");
}

TEST(ConfigParsing, ReadsThePairingTlsAndKeepaliveTables) {
  const Config config = parse_config(R"(
[pairing]
confirm = "button"
window_seconds = 60
auto_guard_ms = 1500
default_role = "monitor"
[pairing.button]
chip = "gpiochip1"
line = 17
active_low = false
debounce_ms = 20

[tls]
kernel = "off"
rekey_after_bytes = 2097152
rekey_after_seconds = 30
ticket_lifetime_seconds = 0

[keepalive]
idle_seconds = 5
interval_seconds = 2
count = 4
session_idle_seconds = 600
)" + kPort, kFile);
  EXPECT_EQ(config.pairing.confirm, Confirm::button);
  EXPECT_EQ(config.pairing.window, std::chrono::seconds(60));
  EXPECT_EQ(config.pairing.auto_guard, std::chrono::milliseconds(1500));
  EXPECT_FALSE(config.pairing.default_role_control);
  ASSERT_TRUE(config.pairing.button.has_value());
  EXPECT_EQ(config.pairing.button->chip, "gpiochip1");
  EXPECT_EQ(config.pairing.button->line, 17u);
  EXPECT_FALSE(config.pairing.button->active_low);
  EXPECT_EQ(config.pairing.button->debounce, std::chrono::milliseconds(20));
  EXPECT_EQ(config.tls.kernel, KernelTls::off);
  EXPECT_EQ(config.tls.rekey_after_bytes, 2097152u);
  EXPECT_EQ(config.tls.rekey_after, std::chrono::seconds(30));
  EXPECT_EQ(config.tls.ticket_lifetime, std::chrono::seconds(0));
  // user_timeout follows idle + interval * count unless set.
  EXPECT_EQ(config.keepalive.user_timeout, std::chrono::milliseconds((5 + 2 * 4) * 1000));
  EXPECT_EQ(config.keepalive.session_idle, std::chrono::seconds(600));
}

TEST(ConfigParsing, ReadsEveryKeyOfAFullFile) {
  const Config config = parse_config(R"(
[gateway]
state_dir = "/srv/ttygate"
name = "lab gateway 3"

[[port]]
name = "plc"
device = "/dev/ttyAMA0"
baud = 9600
data_bits = 7
parity = "even"
stop_bits = 2
flow = "rtscts"
listen = ["127.0.0.1:7001", "[::1]:7001"]
control = "exclusive"

[limits]
handshake_timeout_ms = 2500
max_handshakes = 8
max_handshakes_per_source = 2
handshakes_per_source_per_minute = 30
session_buffer_bytes = 65536
allow_from = ["192.168.7.0/24", "fd12:3456::/32"]
)",
                                     kFile);

  EXPECT_EQ(config.gateway.state_dir, "/srv/ttygate");
  EXPECT_EQ(config.gateway.name, "lab gateway 3");
  ASSERT_EQ(config.ports.size(), 1u);
  const PortConfig& port = config.ports[0];
  EXPECT_EQ(port.name, "plc");
  EXPECT_EQ(port.device, "/dev/ttyAMA0");
  EXPECT_EQ(port.baud, 9600u);
  EXPECT_EQ(port.data_bits, 7u);
  EXPECT_EQ(port.parity, Parity::even);
  EXPECT_EQ(port.stop_bits, 2u);
  EXPECT_EQ(port.flow, Flow::rtscts);
  EXPECT_EQ(port.control, ControlMode::exclusive);
  EXPECT_EQ(texts(port.listen), (std::vector<std::string>{"127.0.0.1:7001", "[::1]:7001"}));
  EXPECT_EQ(config.limits.handshake_timeout, std::chrono::milliseconds(2500));
  EXPECT_EQ(config.limits.max_handshakes, 8u);
  EXPECT_EQ(config.limits.max_handshakes_per_source, 2u);
  EXPECT_EQ(config.limits.handshakes_per_source_per_minute, 30u);
  EXPECT_EQ(config.limits.session_buffer, 65536u);
  EXPECT_EQ(texts(config.limits.allow_from), (std::vector<std::string>{"192.168.7.0/24", "fd12:3456::/32"}));
}

TEST(ConfigParsing, ReadsLineControlAndAllowedBaudsWithRfc2217ByDefault) {
  const Config plain = parse_config(kPort, kFile);
  EXPECT_EQ(plain.ports[0].line_control, LineControlMode::rfc2217);
  EXPECT_TRUE(plain.ports[0].allowed_bauds.empty());
  const Config set = parse_config(kPort + "line_control = \"none\"\nallowed_bauds = [9600, 115200]\n", kFile);
  EXPECT_EQ(set.ports[0].line_control, LineControlMode::none);
  EXPECT_EQ(set.ports[0].allowed_bauds, (std::vector<unsigned>{9600, 115200}));
  const std::string error = error_of(kPort + "allowed_bauds = [9600, 12345]\n");
  EXPECT_NE(error.find("port[0].allowed_bauds[1]: expected a rate termios supports ("), std::string::npos) << error;
  EXPECT_NE(error.find("got an integer 12345"), std::string::npos) << error;
}

TEST(ConfigParsing, KeepsPortsInFileOrder) {
  const Config config = parse_config(kPort + R"(
[[port]]
name = "second"
device = "/dev/ttyUSB1"
listen = ["0.0.0.0:7001"]
)",
                                     kFile);

  ASSERT_EQ(config.ports.size(), 2u);
  EXPECT_EQ(config.ports[0].name, "bus");
  EXPECT_EQ(config.ports[1].name, "second");
  EXPECT_EQ(config.ports[1].device, "/dev/ttyUSB1");
}

TEST(ConfigParsing, AcceptsBothWildcardsOnOnePortBecauseIPv6ListenersAreV6Only) {
  const Config config = parse_config(
      "[[port]]\nname = \"bus\"\ndevice = \"/dev/ttyUSB0\"\nlisten = [\"0.0.0.0:7000\", \"[::]:7000\"]\n",
      kFile);

  ASSERT_EQ(config.ports[0].listen.size(), 2u);
  EXPECT_EQ(config.ports[0].listen[0].family(), AF_INET);
  EXPECT_EQ(config.ports[0].listen[1].family(), AF_INET6);
}

TEST(ConfigParsing, AcceptsTheSameAddressOnDifferentPorts) {
  const Config config = parse_config(
      "[[port]]\nname = \"bus\"\ndevice = \"/dev/ttyUSB0\"\n"
      "listen = [\"127.0.0.1:7000\", \"127.0.0.1:7001\", \"127.0.0.2:7000\"]\n",
      kFile);

  EXPECT_EQ(config.ports[0].listen.size(), 3u);
}

TEST(ConfigLoading, LoadsTheShippedExampleConfig) {
  const std::filesystem::path example = TTYGATE_TEST_DATA "/../../units/ttygated.toml";
  const Config config = load_config(example);

  EXPECT_EQ(config.file, example);
  EXPECT_EQ(config.gateway.state_dir, "/var/lib/ttygate");
  ASSERT_EQ(config.ports.size(), 1u);
  EXPECT_EQ(config.ports[0].device, "/dev/ttyUSB0");
  EXPECT_EQ(texts(config.ports[0].listen), (std::vector<std::string>{"0.0.0.0:7000", "[::]:7000"}));
  EXPECT_EQ(texts(config.limits.allow_from), texts(default_allow_from()));
}

TEST(ConfigLoading, AcceptsTheExampleInTheDocumentation) {
  std::ifstream file(TTYGATE_TEST_DATA "/../../docs/configuration.md");
  const std::string doc((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  const auto start = doc.find("```toml\n");
  ASSERT_NE(start, std::string::npos) << "docs/configuration.md has no toml example";
  const auto end = doc.find("```", start + 8);
  const Config config = parse_config(doc.substr(start + 8, end - start - 8), "docs/configuration.md");

  ASSERT_EQ(config.ports.size(), 3u);
  EXPECT_EQ(config.ports[1].parity, Parity::even);
  EXPECT_EQ(config.ports[2].interfaces, (std::vector<std::string>{"eth0", "usb0"}));
  EXPECT_EQ(texts(config.limits.allow_from), (std::vector<std::string>{"192.168.10.0/24", "fe80::/10"}));
}

TEST(ConfigLoading, ReportsAMissingFileWithTheSystemsReason) {
  try {
    load_config("/nonexistent/ttygated.toml");
    FAIL() << "a missing file was accepted";
  } catch (const ConfigError& error) {
    EXPECT_STREQ(error.what(), "/nonexistent/ttygated.toml: No such file or directory");
  }
}

TEST(ConfigLoading, ReportsADirectoryAsUnreadable) {
  try {
    load_config(TTYGATE_TEST_DATA);
    FAIL() << "a directory was accepted";
  } catch (const ConfigError& error) {
    EXPECT_EQ(error.what(), std::string(TTYGATE_TEST_DATA) + ": not a regular file: Invalid argument");
  }
}

TEST(ConfigLoading, RefusesAFileOverOneMebibyteInOneLineNamingIt) {
  const std::filesystem::path big = std::filesystem::temp_directory_path() / ("ttygate-big-" + std::to_string(::getpid()) + ".toml");
  std::ofstream(big) << kPort << "# " << std::string(1 << 20, 'x') << "\n";
  try {
    load_config(big);
    ADD_FAILURE() << "a file of more than 1 MiB was accepted";
  } catch (const ConfigError& error) {
    EXPECT_EQ(error.what(), big.string() + ": larger than 1048576 bytes: File too large");
  }
  std::filesystem::remove(big);
}

TEST(ConfigWords, SpellsEnumsAsTheFileDoes) {
  EXPECT_EQ(to_string(Parity::odd), "odd");
  EXPECT_EQ(to_string(Flow::xonxoff), "xonxoff");
  EXPECT_EQ(to_string(ControlMode::exclusive), "exclusive");
}

// ---------------------------------------------------------------------------------------------
// Bad files: each gives exactly one line

struct BadFile {
  const char* name;  // the test's name: what is being refused
  std::string text;
  std::string message;
};

void PrintTo(const BadFile& bad, std::ostream* out) { *out << bad.name; }

std::string port_with(const std::string& extra) { return kPort + extra; }

std::string port_listening(const std::string& listen) {
  return "[[port]]\nname = \"bus\"\ndevice = \"/dev/ttyUSB0\"\nlisten = " + listen + "\n";
}

const std::string F = kFile.string() + ": ";

const std::string kRates =
    "50, 75, 110, 134, 150, 200, 300, 600, 1200, 1800, 2400, 4800, 9600, 19200, 38400, 57600, "
    "115200, 230400, 460800, 500000, 576000, 921600, 1000000, 1152000, 1500000, 2000000, 2500000, "
    "3000000, 3500000, 4000000";

const std::string kRootKeys = "gateway, port, limits, pairing, tls, keepalive, discovery";

const std::string kPortKeys =
    "name, device, baud, data_bits, parity, stop_bits, flow, listen, control, interfaces, listen_port, serial, line_control, allowed_bauds";

const BadFile kBadFiles[] = {
    // Syntax
    {"ReportsATomlSyntaxErrorWithLineAndColumn", port_with("baud = \n"),
     kFile.string() + ":5:8: Error while parsing key-value pair: expected value, saw '\\n'"},
    {"ReportsADuplicateKeyAsASyntaxError", port_with("name = \"again\"\n"),
     kFile.string() + ":5:8: Error while parsing key-value pair: cannot redefine existing string 'name'"},
    // Unknown keys and tables
    {"RejectsAnUnknownTopLevelTableNamingTheKnownOnes", "[pair]\nwindow = 3\n" + kPort,
     F + "pair: unknown table; expected one of " + kRootKeys},
    {"RejectsAnUnknownTopLevelKey", "debug = true\n" + kPort,
     F + "debug: unknown key; expected one of " + kRootKeys},
    {"RejectsAnUnknownPairingKey", "[pairing]\nwindow = 3\n" + kPort,
     F + "pairing.window: unknown key; expected one of confirm, window_seconds, auto_guard_ms, default_role, "
         "max_passcode_attempts, button"},
    {"RejectsAnUnknownConfirmationPolicy", "[pairing]\nconfirm = \"always\"\n" + kPort,
     F + "pairing.confirm: expected one of auto, button, code, passcode, got \"always\""},
    {"RejectsNoPasscodeAttemptsAtAll", "[pairing]\nmax_passcode_attempts = 0\n" + kPort,
     F + "pairing.max_passcode_attempts: expected an integer in 1..20, got an integer 0"},
    {"RejectsMorePasscodeAttemptsThanTheLimit", "[pairing]\nmax_passcode_attempts = 21\n" + kPort,
     F + "pairing.max_passcode_attempts: expected an integer in 1..20, got an integer 21"},
    {"RejectsButtonConfirmationWithoutAButton", "[pairing]\nconfirm = \"button\"\n" + kPort,
     F + "pairing.confirm: \"button\" needs a [pairing.button] table naming the GPIO line"},
    {"RejectsAButtonWithoutALine", "[pairing.button]\nchip = \"gpiochip0\"\n" + kPort,
     F + "pairing.button.line: required key is missing; expected a line offset"},
    {"RejectsAPairingWindowTooShort", "[pairing]\nwindow_seconds = 5\n" + kPort,
     F + "pairing.window_seconds: expected an integer in 10..3600, got an integer 5"},
    {"RejectsAnUnknownDefaultRole", "[pairing]\ndefault_role = \"admin\"\n" + kPort,
     F + "pairing.default_role: expected one of control, monitor, got \"admin\""},
    {"RejectsAnUnknownKernelTlsMode", "[tls]\nkernel = \"on\"\n" + kPort,
     F + "tls.kernel: expected one of auto, off, got \"on\""},
    {"RejectsARekeyLimitAboveTheRfcCeiling", "[tls]\nrekey_after_bytes = 1099511627776\n" + kPort,
     F + "tls.rekey_after_bytes: expected an integer in 65536..274877906944, got an integer 1099511627776"},
    {"RejectsAKeepaliveCountOfZero", "[keepalive]\ncount = 0\n" + kPort,
     F + "keepalive.count: expected an integer in 1..30, got an integer 0"},
    {"RejectsAnUnknownKeyNamingTheTable", port_with("speed = 9600\n"),
     F + "port[0].speed: unknown key; expected one of " + kPortKeys},
    {"RejectsAnUnknownKeyInTheSecondPortNamingItsIndex",
     kPort + "[[port]]\nname = \"b\"\ndevice = \"/dev/ttyS1\"\nlisten = [\"0.0.0.0:7001\"]\nspeed = 1\n",
     F + "port[1].speed: unknown key; expected one of " + kPortKeys},
    {"RejectsAnUnknownKeyInGateway", "[gateway]\nstate_directory = \"/x\"\n" + kPort,
     F + "gateway.state_directory: unknown key; expected one of state_dir, name"},
    {"RejectsAnUnknownKeyInLimits", kPort + "[limits]\nmax_connections = 3\n",
     F + "limits.max_connections: unknown key; expected one of handshake_timeout_ms, max_handshakes, "
         "max_handshakes_per_source, handshakes_per_source_per_minute, session_buffer_bytes, allow_from, "
         "hello_timeout_ms, max_sessions, max_sessions_per_client"},
    {"ReportsTheFirstUnknownKeyInFileOrder", port_with("zeta = 1\nalpha = 2\n"),
     F + "port[0].zeta: unknown key; expected one of " + kPortKeys},
    {"RejectsATableNestedInAPort", port_with("[port.options]\nx = 1\n"),
     F + "port[0].options: unknown table; expected one of " + kPortKeys},
    {"QuotesAnUnknownKeyThatIsNotBare", port_with("\"odd\\nkey\" = 1\n"),
     F + "port[0].\"odd\\x0akey\": unknown key; expected one of " + kPortKeys},
    // Tables of the wrong shape
    {"RejectsAFileWithoutPorts", "[gateway]\nname = \"x\"\n",
     F + "port: expected at least one [[port]] table, got none"},
    {"RejectsAnEmptyPortArray", "port = []\n", F + "port: expected at least one [[port]] table, got none"},
    {"RejectsPortWrittenAsASingleTable", "[port]\nname = \"bus\"\n",
     F + "port: expected an array of tables ([[port]]), got a table"},
    {"RejectsGatewayGivenAsAValue", "gateway = \"x\"\n" + kPort,
     F + "gateway: expected a table, got a string \"x\""},
    {"RejectsLimitsGivenAsAnArrayOfTables", kPort + "[[limits]]\nmax_handshakes = 3\n",
     F + "limits: expected a table, got an array of tables"},
    // Required keys
    {"RejectsAPortWithoutAName", "[[port]]\ndevice = \"/dev/ttyUSB0\"\nlisten = [\"0.0.0.0:7000\"]\n",
     F + "port[0].name: required key is missing; expected a name such as \"sensor-bus\""},
    {"RejectsAPortWithoutADevice", "[[port]]\nname = \"bus\"\nlisten = [\"0.0.0.0:7000\"]\n",
     F + "port[0].device: required key is missing; expected an absolute path such as \"/dev/ttyUSB0\""},
    {"RejectsAPortWithoutListenAddresses", "[[port]]\nname = \"bus\"\ndevice = \"/dev/ttyUSB0\"\n",
     F + "port[0].listen: required key is missing; expected an array of \"address:port\" strings, or interfaces = "
         "[...] with listen_port"},
    // Types and ranges
    {"RejectsABaudRateGivenAsAString", port_with("baud = \"9600\"\n"),
     F + "port[0].baud: expected a rate termios supports (" + kRates + "), got a string \"9600\""},
    {"RejectsABaudRateTermiosLacks", port_with("baud = 12345\n"),
     F + "port[0].baud: expected a rate termios supports (" + kRates + "), got an integer 12345"},
    {"RejectsANegativeBaudRate", port_with("baud = -9600\n"),
     F + "port[0].baud: expected a rate termios supports (" + kRates + "), got an integer -9600"},
    {"RejectsAFloatWhereAnIntegerIsExpected", port_with("data_bits = 8.0\n"),
     F + "port[0].data_bits: expected an integer in 5..8, got a float 8.0"},
    {"RejectsTooManyDataBits", port_with("data_bits = 9\n"),
     F + "port[0].data_bits: expected an integer in 5..8, got an integer 9"},
    {"RejectsZeroStopBits", port_with("stop_bits = 0\n"),
     F + "port[0].stop_bits: expected an integer in 1..2, got an integer 0"},
    {"RejectsAnUnknownParityListingTheChoices", port_with("parity = \"mark\"\n"),
     F + "port[0].parity: expected one of none, even, odd, got \"mark\""},
    {"RejectsAFlowGivenAsABoolean", port_with("flow = true\n"),
     F + "port[0].flow: expected one of none, rtscts, xonxoff, got a boolean true"},
    {"RejectsAnUnknownControlMode", port_with("control = \"solo\"\n"),
     F + "port[0].control: expected one of shared, exclusive, got \"solo\""},
    {"RejectsAnUnknownLineControl", port_with("line_control = \"telnet\"\n"),
     F + "port[0].line_control: expected one of none, rfc2217, got \"telnet\""},
    {"RejectsARelativeDevicePath",
     "[[port]]\nname = \"bus\"\ndevice = \"ttyUSB0\"\nlisten = [\"0.0.0.0:7000\"]\n",
     F + "port[0].device: expected an absolute path, got a string \"ttyUSB0\""},
    {"RejectsARelativeStateDir", "[gateway]\nstate_dir = \"var/lib/ttygate\"\n" + kPort,
     F + "gateway.state_dir: expected an absolute path, got a string \"var/lib/ttygate\""},
    {"RejectsAStateDirWithAnEmbeddedNul", "[gateway]\nstate_dir = \"/var/lib\\u0000x\"\n" + kPort,
     F + "gateway.state_dir: expected an absolute path, got a string \"/var/lib\\x00x\""},
    {"RejectsAGatewayNameWithControlCharacters", "[gateway]\nname = \"a\\tb\"\n" + kPort,
     F + "gateway.name: expected a name of 1 to 64 printable ASCII characters without leading or trailing spaces, got a string \"a\\x09b\""},
    {"RejectsAGatewayNameWithALeadingSpace", "[gateway]\nname = \" ttygate\"\n" + kPort,
     F + "gateway.name: expected a name of 1 to 64 printable ASCII characters without leading or trailing spaces, got a string \" ttygate\""},
    {"RejectsAnEmptyGatewayName", "[gateway]\nname = \"\"\n" + kPort,
     F + "gateway.name: expected a name of 1 to 64 printable ASCII characters without leading or trailing spaces, got a string \"\""},
    {"RejectsAPortNameWithASpace",
     "[[port]]\nname = \"my port\"\ndevice = \"/dev/ttyUSB0\"\nlisten = [\"0.0.0.0:7000\"]\n",
     F + "port[0].name: expected a name of 1..32 characters from A-Z a-z 0-9 _ -, got a string \"my port\""},
    {"CutsAVeryLongValueInTheMessage", "[gateway]\nname = \"" + std::string(100, 'x') + "\"\n" + kPort,
     F + "gateway.name: expected a name of 1 to 64 printable ASCII characters without leading or trailing spaces, got a string \"" +
         std::string(80, 'x') + "...\""},
    {"RejectsAHandshakeTimeoutBelowItsRange", kPort + "[limits]\nhandshake_timeout_ms = 50\n",
     F + "limits.handshake_timeout_ms: expected an integer in 100..600000, got an integer 50"},
    {"RejectsZeroConcurrentHandshakes", kPort + "[limits]\nmax_handshakes = 0\n",
     F + "limits.max_handshakes: expected an integer in 1..65535, got an integer 0"},
    {"RejectsZeroHandshakesPerSource", kPort + "[limits]\nmax_handshakes_per_source = 0\n",
     F + "limits.max_handshakes_per_source: expected an integer in 1..65535, got an integer 0"},
    {"RejectsAHandshakeRateGivenAsText", kPort + "[limits]\nhandshakes_per_source_per_minute = \"60\"\n",
     F + "limits.handshakes_per_source_per_minute: expected an integer in 1..65535, got a string \"60\""},
    {"RejectsASessionBufferAbove64MiB", kPort + "[limits]\nsession_buffer_bytes = 100000000\n",
     F + "limits.session_buffer_bytes: expected an integer in 4096..67108864, got an integer 100000000"},
    // Uniqueness
    {"RejectsDuplicatePortNames",
     kPort + "[[port]]\nname = \"bus\"\ndevice = \"/dev/ttyUSB1\"\nlisten = [\"0.0.0.0:7001\"]\n",
     F + "port[1].name: \"bus\" is already the name of port[0]"},
    {"RejectsTwoPortsOnOneDevice",
     kPort + "[[port]]\nname = \"other\"\ndevice = \"/dev/ttyUSB0\"\nlisten = [\"0.0.0.0:7001\"]\n",
     F + "port[1].device: \"/dev/ttyUSB0\" is already the device of port[0]"},
    {"RejectsAListenAddressUsedByTwoPorts",
     kPort + "[[port]]\nname = \"other\"\ndevice = \"/dev/ttyUSB1\"\nlisten = [\"0.0.0.0:7000\"]\n",
     F + "port[1].listen[0]: \"0.0.0.0:7000\" is already used by port[0].listen[0]"},
    {"RecognisesOneIPv6AddressWrittenTwoWays", port_listening("[\"[::]:7000\", \"[0::0]:7000\"]"),
     F + "port[0].listen[1]: \"[0::0]:7000\" is already used by port[0].listen[0]"},
    {"RejectsAnAddressAfterTheWildcardOfItsPort", port_listening("[\"0.0.0.0:7000\", \"127.0.0.1:7000\"]"),
     F + "port[0].listen[1]: \"127.0.0.1:7000\" overlaps \"0.0.0.0:7000\" of port[0].listen[0], which takes "
         "that port on every address"},
    {"RejectsAWildcardAfterAnAddressOfItsPort", port_listening("[\"[::1]:7000\", \"[::]:7000\"]"),
     F + "port[0].listen[1]: \"[::]:7000\" takes that port on every address, overlapping \"[::1]:7000\" of "
         "port[0].listen[0]"},
    // Listen addresses and ranges in context
    {"RejectsAnEmptyListenArray", port_listening("[]"),
     F + "port[0].listen: expected a non-empty array of \"address:port\" strings, got an empty array"},
    {"RejectsListenGivenAsAString", port_listening("\"0.0.0.0:7000\""),
     F + "port[0].listen: expected an array of \"address:port\" strings, got a string \"0.0.0.0:7000\""},
    {"RejectsAListenEntryThatIsNotAString", port_listening("[7000]"),
     F + "port[0].listen[0]: expected an \"address:port\" string, got an integer 7000"},
    {"RejectsAHostNameAsAListenAddress", port_listening("[\"localhost:7000\"]"),
     F + "port[0].listen[0]: expected a numeric IPv4 address before the port (names are not resolved), got "
         "\"localhost:7000\""},
    {"RejectsARangeWithHostBitsNamingTheNetwork",
     kPort + "[limits]\nallow_from = [\"10.0.0.0/8\", \"10.0.0.1/8\"]\n",
     F + "limits.allow_from[1]: expected a network address with no bits set past the prefix, such as "
         "\"10.0.0.0/8\", got \"10.0.0.1/8\""},
    {"RejectsAnEmptyAllowList", kPort + "[limits]\nallow_from = []\n",
     F + "limits.allow_from: expected a non-empty array of address range strings, got an empty array"},
    {"RejectsANumberInTheAllowList", kPort + "[limits]\nallow_from = [10]\n",
     F + "limits.allow_from[0]: expected an address range string such as \"10.0.0.0/8\", got an integer 10"},
};

class ABadFile : public testing::TestWithParam<BadFile> {};

TEST_P(ABadFile, IsRefusedWithOneExactLine) { EXPECT_EQ(error_of(GetParam().text), GetParam().message); }

INSTANTIATE_TEST_SUITE_P(ConfigParsing, ABadFile, testing::ValuesIn(kBadFiles),
                         [](const testing::TestParamInfo<BadFile>& info) {
                           return std::string(info.param.name);
                         });

// ---------------------------------------------------------------------------------------------
// Default allow_from (Cidr and ListenAddress themselves: address_test.cpp)

TEST(DefaultAllowFrom, AdmitsLoopbackPrivateAndLinkLocalPeers) {
  const auto ranges = default_allow_from();
  for (const char* address : {"127.0.0.1", "::1", "10.1.2.3", "172.20.0.1", "192.168.178.2", "fd00::5",
                              "169.254.10.10", "fe80::1234", "::ffff:192.168.0.9"}) {
    const auto candidate = peer(address);
    EXPECT_TRUE(std::any_of(ranges.begin(), ranges.end(), [&](const Cidr& range) {
      return range.contains(as_sockaddr(candidate));
    })) << address;
  }
}

TEST(DefaultAllowFrom, RefusesPublicPeers) {
  const auto ranges = default_allow_from();
  for (const char* address :
       {"8.8.8.8", "100.64.0.1", "172.32.0.1", "192.169.0.1", "2001:db8::1", "::ffff:8.8.8.8", "::2"}) {
    const auto candidate = peer(address);
    EXPECT_FALSE(std::any_of(ranges.begin(), ranges.end(), [&](const Cidr& range) {
      return range.contains(as_sockaddr(candidate));
    })) << address;
  }
}

}  // namespace
}  // namespace ttygate::daemon
