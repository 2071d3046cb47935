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

  void ready(std::string_view status);
  void stopping();

 private:
  void arm_watchdog();

  Loop& loop_;
  std::chrono::microseconds watchdog_{0};
  Op watchdog_timer_;
};

}  // namespace ttygate::daemon
