// SPDX-License-Identifier: Apache-2.0
// ManagementBus: the management API kept on the system bus for the daemon's whole life.
//
// Connects, registers org.ttygate.Gateway1's objects, then takes the name (so nobody sees the
// name without its objects). When the connection is lost (dbus-daemon restarted or crashed) it
// drops the connection and its objects, and reconnects with a growing delay (0.25 s doubling
// to 8 s), registering everything again: relaying never depends on the bus. Failures are logged
// when they start and when they end, not at every retry.
// Owned by main; neither copied nor moved (its address is in loop handlers). Single-threaded.
#pragma once

#include <chrono>
#include <memory>

#include "daemon/gateway.hpp"
#include "daemon/loop.hpp"
#include "dbus/bus.hpp"
#include "dbus/gateway_object.hpp"

namespace ttygate::dbus {

class ManagementBus {
 public:
  ManagementBus(daemon::Loop& loop, daemon::Gateway& gateway);
  ManagementBus(const ManagementBus&) = delete;
  ManagementBus& operator=(const ManagementBus&) = delete;
  ~ManagementBus();

  bool attached() const { return object_ != nullptr; }

 private:
  Result<void> attach();
  void try_attach();
  void lost();
  void detach();
  void retry_later();

  daemon::Loop& loop_;
  daemon::Gateway& gateway_;
  std::unique_ptr<Bus> bus_;
  std::unique_ptr<GatewayObject> object_;
  daemon::Op retry_;
  daemon::Op teardown_;
  std::chrono::milliseconds delay_{250};
  bool failing_ = false;  // the last attempt failed and was logged
};

}  // namespace ttygate::dbus
