// SPDX-License-Identifier: Apache-2.0
// ServiceManager: what ttygated tells systemd (sd_notify): READY=1 once listeners, devices and
// the bus are set up; WATCHDOG=1 from the loop at half the watchdog interval, so a wedged loop
// gets the daemon restarted; STOPPING=1 on shutdown. Does nothing outside systemd (no
// NOTIFY_SOCKET).
#pragma once

#include <chrono>
#include <string_view>

#include "daemon/loop.hpp"

namespace ttygate::daemon {

class ServiceManager {
 public:
  explicit ServiceManager(Loop& loop);
  ServiceManager(const ServiceManager&) = delete;
  ServiceManager& operator=(const ServiceManager&) = delete;

  // Also after a reload (following reloading()): READY=1 again ends systemd's "reloading".
  void ready(std::string_view status);
  void reloading();
  void stopping();

 private:
  void arm_watchdog();

  Loop& loop_;
  std::chrono::microseconds watchdog_{0};
  Op watchdog_timer_;
};

}  // namespace ttygate::daemon
