// SPDX-License-Identifier: Apache-2.0
// Bus: one sd-bus connection driven by the daemon's io_uring loop.
//
// The loop polls the bus fd for what sd_bus_get_events() asks (POLLOUT only while the write
// queue is non-empty) and honours sd_bus_get_timeout() with a loop timer; each wake-up runs
// sd_bus_process() until it has nothing left, then re-arms. Messages queued outside bus
// processing (signals, PropertiesChanged from gateway events) call kick(), which processes once
// more after the current batch so nothing sits unsent.
//
// The Bus is neither copied nor moved (its address is in loop handlers) and must outlive every
// object registered on it. Single-threaded.
#pragma once

#include <systemd/sd-bus.h>

#include <functional>
#include <memory>
#include <string>

#include "common/result.hpp"
#include "daemon/loop.hpp"

namespace ttygate::dbus {

struct SdBusDeleter {
  void operator()(sd_bus* bus) const { sd_bus_flush_close_unref(bus); }
};
struct SdBusSlotDeleter {
  void operator()(sd_bus_slot* slot) const { sd_bus_slot_unref(slot); }
};
using SdBusPtr = std::unique_ptr<sd_bus, SdBusDeleter>;
using SdBusSlotPtr = std::unique_ptr<sd_bus_slot, SdBusSlotDeleter>;

inline constexpr const char* kServiceName = "org.ttygate.Gateway1";

// The system bus (sd_bus_open_system: DBUS_SYSTEM_BUS_ADDRESS when set, else the standard
// socket). The error says which address failed.
Result<SdBusPtr> connect_system_bus();

class Bus {
 public:
  Bus(daemon::Loop& loop, SdBusPtr bus);
  Bus(const Bus&) = delete;
  Bus& operator=(const Bus&) = delete;
  ~Bus();

  sd_bus* get() const { return bus_.get(); }
  // Call after the objects are registered, so nobody sees the name without them.
  Result<void> request_name(const char* name);
  // Starts watching the connection on the loop.
  void start();
  // Something was queued outside bus processing: flush it soon.
  void kick();
  // Called (once, from inside bus processing: defer any teardown) when the connection is lost,
  // e.g. because dbus-daemon restarted. The Bus stays inert afterwards.
  void on_lost(std::function<void()> callback) { on_lost_ = std::move(callback); }

 private:
  void process();
  void arm();

  daemon::Loop& loop_;
  SdBusPtr bus_;
  daemon::Op io_;
  daemon::Op timer_;
  bool lost_ = false;
  std::function<void()> on_lost_;
  daemon::Op kick_;  // deferred processing; cancelled if the bus goes first
};

}  // namespace ttygate::dbus
