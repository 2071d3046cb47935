// SPDX-License-Identifier: Apache-2.0
#include "daemon/device_serial.hpp"

#include <systemd/sd-id128.h>

#include <fstream>
#include <system_error>

namespace ttygate::daemon {
namespace {

// sd_id128_get_machine_app_specific()'s application: ttygate's DNS-SD serial.
constexpr sd_id128_t kSerialApp = SD_ID128_MAKE(5a, 0e, 31, 7c, 42, 9b, 4d, 0f, 8e, 1a, 66, c2, 93, 07, d4, b5);

std::optional<std::string> printable(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  if (text.empty() || text.size() > 64) return std::nullopt;
  for (char c : text)
    if (c <= ' ' || c >= 0x7f) return std::nullopt;
  return text;
}

}  // namespace

std::optional<std::string> usb_serial_of(const std::filesystem::path& device, const std::filesystem::path& sysfs) {
  std::error_code error;
  const auto real = std::filesystem::canonical(device, error);
  if (error) return std::nullopt;
  auto node = std::filesystem::canonical(sysfs / "class/tty" / real.filename() / "device", error);
  if (error) return std::nullopt;
  // Up from the interface to the USB device: the first directory with idVendor and serial.
  for (int depth = 0; depth < 8 && node.has_relative_path(); ++depth, node = node.parent_path()) {
    if (!std::filesystem::exists(node / "idVendor", error)) continue;
    std::ifstream file(node / "serial");
    std::string line;
    if (!file || !std::getline(file, line)) return std::nullopt;
    return printable(line);
  }
  return std::nullopt;
}

std::string machine_serial() {
  sd_id128_t id;
  if (sd_id128_get_machine_app_specific(kSerialApp, &id) < 0) return "ttygate";
  char hex[SD_ID128_STRING_MAX];
  return "ttygate-" + std::string(sd_id128_to_string(id, hex)).substr(0, 12);
}

std::string port_serial(const std::string& configured, const std::filesystem::path& device) {
  if (!configured.empty()) return configured;
  if (auto usb = usb_serial_of(device)) return *usb;
  return machine_serial();
}

}  // namespace ttygate::daemon
