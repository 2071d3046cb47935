// SPDX-License-Identifier: Apache-2.0
// The serial number a port is found by (DNS-SD "serial="), when the configuration gives none.
//
// A USB serial adapter has one printed on it and known to sysfs: /sys/class/tty/<tty>/device
// leads into the USB device, whose "serial" file holds it. Anything else (a UART, a pty) falls
// back to the gateway's own name for itself: derived from /etc/machine-id through
// sd_id128_get_machine_app_specific(), so the machine id itself is never shown on the network.
// Pure apart from reading sysfs and the machine id; no logging.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace ttygate::daemon {

// The USB serial number of the device behind `device` (a path or a symlink to it) under
// `sysfs` (default "/sys"), printable ASCII only, at most 64 characters; nullopt when none.
std::optional<std::string> usb_serial_of(const std::filesystem::path& device,
                                         const std::filesystem::path& sysfs = "/sys");

// "ttygate-" + 12 hex digits of the machine's app-specific id; "ttygate" without a machine id.
std::string machine_serial();

// The configured serial, else usb_serial_of(device), else machine_serial().
std::string port_serial(const std::string& configured, const std::filesystem::path& device);

}  // namespace ttygate::daemon
