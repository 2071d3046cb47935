// SPDX-License-Identifier: Apache-2.0
#include "daemon/service_manager.hpp"

#include <systemd/sd-daemon.h>

#include <cstdint>
#include <string>

namespace ttygate::daemon {

ServiceManager::ServiceManager(Loop& loop) : loop_(loop) {
  std::uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) > 0) watchdog_ = std::chrono::microseconds(usec);
}

void ServiceManager::ready(std::string_view status) {
  sd_notify(0, ("READY=1\nSTATUS=" + std::string(status)).c_str());
  if (watchdog_.count() > 0) arm_watchdog();
}

void ServiceManager::reloading() { sd_notify(0, "RELOADING=1"); }

void ServiceManager::stopping() {
  watchdog_timer_.reset();
  sd_notify(0, "STOPPING=1");
}

// The ping comes from a loop timer, not a thread: it stops when the loop stops turning.
void ServiceManager::arm_watchdog() {
  watchdog_timer_.set(loop_, loop_.timeout(watchdog_ / 2, [this](int) {
    sd_notify(0, "WATCHDOG=1");
    arm_watchdog();
  }));
}

}  // namespace ttygate::daemon
