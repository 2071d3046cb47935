// SPDX-License-Identifier: Apache-2.0
// Owning handles for the sd-bus objects ttygatectl uses, so no path (an exception from a
// command, an early return) leaks a reference or skips flushing the connection.
//
// The same shape as the daemon's SdBusPtr/SdBusSlotPtr (dbus/bus.hpp), written again here
// because ttygatectl links only ttygate_common and libsystemd, never the daemon's libraries.
#pragma once

#include <systemd/sd-bus.h>

#include <memory>

namespace ttygatectl {

struct SdBusDeleter {
  // Flush first: a method call or property set must reach the daemon before the CLI exits.
  void operator()(sd_bus* bus) const { sd_bus_flush_close_unref(bus); }
};
struct SdBusSlotDeleter {
  // Dropping the slot removes its match, so no callback runs on a watch that is gone.
  void operator()(sd_bus_slot* slot) const { sd_bus_slot_unref(slot); }
};
struct SdBusMessageDeleter {
  void operator()(sd_bus_message* message) const { sd_bus_message_unref(message); }
};

using SdBusPtr = std::unique_ptr<sd_bus, SdBusDeleter>;
using SdBusSlotPtr = std::unique_ptr<sd_bus_slot, SdBusSlotDeleter>;
using SdBusMessagePtr = std::unique_ptr<sd_bus_message, SdBusMessageDeleter>;

// An sd_bus_error filled by a failed call; freed on every path, the throwing one included.
class SdBusError {
 public:
  SdBusError() = default;
  SdBusError(const SdBusError&) = delete;
  SdBusError& operator=(const SdBusError&) = delete;
  ~SdBusError() { sd_bus_error_free(&error_); }

  sd_bus_error* get() { return &error_; }
  const sd_bus_error& operator*() const { return error_; }

 private:
  sd_bus_error error_ = SD_BUS_ERROR_NULL;
};

}  // namespace ttygatectl
