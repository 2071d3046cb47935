// SPDX-License-Identifier: Apache-2.0
// Discovery's pure half: the TXT record, the fingerprint prefix, the instance name, and where a
// port is announced. Publishing through a real avahi-daemon: tests/integration/test_discovery.py.
#include "dbus/discovery.hpp"

#include <fstream>

#include <gtest/gtest.h>

#include "daemon/device_serial.hpp"
#include "temp_dir.hpp"

namespace ttygate::dbus {
namespace {

TEST(FingerprintPrefix, IsTheFirstSixteenBase32LettersWithoutSeparators) {
  ktls::Pin pin{};
  for (std::size_t i = 0; i < pin.size(); ++i) pin[i] = static_cast<std::uint8_t>(i * 7 + 3);
  const std::string full = ktls::fingerprint(pin);
  const std::string prefix = fingerprint_prefix(pin);
  EXPECT_EQ(prefix.size(), 16u);
  EXPECT_EQ(full.substr(0, 19), prefix.substr(0, 4) + "-" + prefix.substr(4, 4) + "-" + prefix.substr(8, 4) + "-" +
                                    prefix.substr(12, 4));
}

TEST(FingerprintPrefix, OfAnAllZeroPinIsSixteenAs) { EXPECT_EQ(fingerprint_prefix(ktls::Pin{}), "AAAAAAAAAAAAAAAA"); }

TEST(TxtRecords, CarrySerialPortFingerprintPrefixAndVersion) {
  EXPECT_EQ(txt_records("SN123", "console", "ABCDEFGHIJKLMNOP"),
            (std::vector<std::string>{"serial=SN123", "port=console", "fp=ABCDEFGHIJKLMNOP", "v=1"}));
}

TEST(ServiceName, IsGatewayAndPortCutToSixtyThreeBytes) {
  EXPECT_EQ(service_name("ttygate", "console"), "ttygate console");
  EXPECT_EQ(service_name(std::string(70, 'g'), "p").size(), 63u);
}

using Live = daemon::Gateway::LiveListener;

TEST(AnnounceInterfaces, AreTheInterfacesWithAListener) {
  EXPECT_EQ(announce_interfaces({Live{"10.0.0.1:7000", 3}, Live{"[fe80::1%eth0]:7000", 3}, Live{"10.1.0.1:7000", 5}}),
            (std::vector<int>{3, 5}));
}

TEST(AnnounceInterfaces, AreAllForAListenAddressNotTiedToOneAndNoneForLoopbackOnly) {
  EXPECT_EQ(announce_interfaces({Live{"10.0.0.1:7000", 3}, Live{"0.0.0.0:7001", 0}}), (std::vector<int>{-1}));
  EXPECT_TRUE(announce_interfaces({Live{"127.0.0.1:7000", 0, true}}).empty());
  EXPECT_TRUE(announce_interfaces({}).empty());
}

TEST(UsbSerial, IsFoundByWalkingUpFromTheTtyToTheUsbDevice) {
  test_support::TempDir dir;
  const auto sys = dir.path() / "sys";
  const auto usb = sys / "devices/pci0000:00/usb1/1-1";
  std::filesystem::create_directories(usb / "1-1:1.0/ttyUSB0");
  std::ofstream(usb / "idVendor") << "0403\n";
  std::ofstream(usb / "serial") << "A10KZP3Q\n";
  std::filesystem::create_directories(sys / "class/tty/ttyUSB0");
  std::filesystem::create_directory_symlink(usb / "1-1:1.0", sys / "class/tty/ttyUSB0/device");
  std::ofstream(dir.path() / "ttyUSB0");
  std::filesystem::create_symlink(dir.path() / "ttyUSB0", dir.path() / "console");
  EXPECT_EQ(daemon::usb_serial_of(dir.path() / "console", sys), "A10KZP3Q");
}

TEST(UsbSerial, IsNoneForADeviceOutsideUsb) {
  test_support::TempDir dir;
  std::ofstream(dir.path() / "ttyS1");
  EXPECT_EQ(daemon::usb_serial_of(dir.path() / "ttyS1", dir.path() / "sys"), std::nullopt);
}

TEST(MachineSerial, IsStableAndDoesNotShowTheMachineId) {
  const std::string serial = daemon::machine_serial();
  EXPECT_EQ(serial, daemon::machine_serial());
  EXPECT_TRUE(serial.starts_with("ttygate"));
  std::ifstream file("/etc/machine-id");
  std::string id;
  if (file >> id) {
    EXPECT_EQ(serial.find(id.substr(0, 12)), std::string::npos);
  }
}

TEST(PortSerial, PrefersTheConfiguredOne) { EXPECT_EQ(daemon::port_serial("SN-9", "/nonexistent"), "SN-9"); }

}  // namespace
}  // namespace ttygate::dbus
