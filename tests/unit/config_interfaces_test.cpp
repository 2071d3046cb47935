// SPDX-License-Identifier: Apache-2.0
// Config keys for ports that follow interfaces (interfaces, listen_port), the DNS-SD serial, and
// [discovery]: accepted values become what they say; mistakes are one exact line.
#include <string>

#include <gtest/gtest.h>

#include "daemon/config.hpp"

namespace ttygate::daemon {
namespace {

const std::filesystem::path kFile = "/etc/ttygate/ttygated.toml";

std::string port(const std::string& keys) {
  return "[[port]]\nname = \"bus\"\ndevice = \"/dev/ttyUSB0\"\n" + keys;
}

std::string error_of(const std::string& text) {
  try {
    parse_config(text, kFile);
  } catch (const ConfigError& error) {
    return error.what();
  }
  return "(accepted)";
}

TEST(InterfacePorts, ListenOnNamedInterfacesWithoutListenAddresses) {
  Config config = parse_config(port("interfaces = [\"eth0\", \"wlan0\"]\nlisten_port = 7000\n"), kFile);
  ASSERT_EQ(config.ports.size(), 1u);
  EXPECT_EQ(config.ports[0].interfaces, (std::vector<std::string>{"eth0", "wlan0"}));
  EXPECT_EQ(config.ports[0].listen_port, 7000);
  EXPECT_TRUE(config.ports[0].listen.empty());
}

TEST(InterfacePorts, MayHaveListenAddressesBesideInterfaces) {
  Config config = parse_config(port("listen = [\"127.0.0.1:7001\"]\ninterfaces = [\"usb0\"]\nlisten_port = 7000\n"), kFile);
  EXPECT_EQ(config.ports[0].listen.size(), 1u);
  EXPECT_EQ(config.ports[0].interfaces.size(), 1u);
}

TEST(InterfacePorts, SerialAndDiscoveryDefaults) {
  Config config = parse_config(port("listen = [\"0.0.0.0:7000\"]\n"), kFile);
  EXPECT_TRUE(config.ports[0].serial.empty());
  EXPECT_TRUE(config.discovery.enabled);
  config = parse_config(port("listen = [\"0.0.0.0:7000\"]\nserial = \"FT232-A1B2\"\n") + "[discovery]\nenabled = false\n", kFile);
  EXPECT_EQ(config.ports[0].serial, "FT232-A1B2");
  EXPECT_FALSE(config.discovery.enabled);
}

struct Bad {
  std::string text;
  std::string message;
};

class ABadInterfaceKey : public testing::TestWithParam<Bad> {};

TEST_P(ABadInterfaceKey, IsRefusedWithOneExactLine) { EXPECT_EQ(error_of(GetParam().text), GetParam().message); }

const std::string kAt = kFile.string() + ": ";

INSTANTIATE_TEST_SUITE_P(
    Config, ABadInterfaceKey,
    testing::Values(
        Bad{port(""), kAt + "port[0].listen: required key is missing; expected an array of \"address:port\" strings, or "
                            "interfaces = [...] with listen_port"},
        Bad{port("interfaces = [\"eth0\"]\n"),
            kAt + "port[0].listen_port: required key is missing; expected a TCP port 1..65535 for the interfaces' addresses"},
        Bad{port("listen = [\"0.0.0.0:7000\"]\nlisten_port = 7000\n"),
            kAt + "port[0].listen_port: listen_port only goes with interfaces = [...]; use listen = [\"address:port\"] otherwise"},
        Bad{port("interfaces = [\"eth0\"]\nlisten_port = 0\n"),
            kAt + "port[0].listen_port: expected an integer in 1..65535, got an integer 0"},
        Bad{port("interfaces = []\nlisten_port = 7000\n"),
            kAt + "port[0].interfaces: expected a non-empty array of interface names, got an empty array"},
        Bad{port("interfaces = [\"a-very-long-interface\"]\nlisten_port = 7000\n"),
            kAt + "port[0].interfaces[0]: expected an interface name of 1..15 characters without '/', ':' or spaces, "
                  "got a string \"a-very-long-interface\""},
        Bad{port("interfaces = [\"eth0:1\"]\nlisten_port = 7000\n"),
            kAt + "port[0].interfaces[0]: expected an interface name of 1..15 characters without '/', ':' or spaces, "
                  "got a string \"eth0:1\""},
        Bad{port("interfaces = [\"eth0\", \"eth0\"]\nlisten_port = 7000\n"),
            kAt + "port[0].interfaces[1]: \"eth0\" is named twice"},
        Bad{port("listen = [\"0.0.0.0:7000\"]\nserial = \"has space\"\n"),
            kAt + "port[0].serial: expected a serial number of 1..64 printable ASCII characters without spaces, got a "
                  "string \"has space\""},
        Bad{port("listen = [\"0.0.0.0:7000\"]\n") + "[discovery]\nenabled = \"yes\"\n",
            kAt + "discovery.enabled: expected true or false, got a string \"yes\""},
        Bad{port("listen = [\"0.0.0.0:7000\"]\n") + "[discovery]\nname = \"x\"\n",
            kAt + "discovery.name: unknown key; expected one of enabled"},
        Bad{port("interfaces = [\"eth0\"]\nlisten_port = 7000\n") +
                "[[port]]\nname = \"b\"\ndevice = \"/dev/ttyUSB1\"\nlisten = [\"0.0.0.0:7000\"]\n",
            kAt + "port[0].listen_port: 7000 is taken on every address by \"0.0.0.0:7000\" of port[1]"},
        Bad{port("interfaces = [\"eth0\"]\nlisten_port = 7000\n") +
                "[[port]]\nname = \"b\"\ndevice = \"/dev/ttyUSB1\"\ninterfaces = [\"wlan0\", \"eth0\"]\nlisten_port = 7000\n",
            kAt + "port[1].listen_port: 7000 on \"eth0\" is already taken by port[0]"}));

}  // namespace
}  // namespace ttygate::daemon
