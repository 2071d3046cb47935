// SPDX-License-Identifier: Apache-2.0
// GatewayObject: the org.ttygate.Gateway1 API on a Bus (docs/org.ttygate.Gateway1.txt).
//
// Only vtables: each method checks its arguments' wire types, calls the Gateway, and turns a
// refusal into an org.ttygate.Error.* reply (dbus/paths.hpp: error_name). Handlers never touch
// sockets or sessions themselves. The Gateway tells this object what changed through
// GatewayEvents, and it emits the signals, InterfacesAdded/Removed and PropertiesChanged, then
// kicks the Bus so they leave at once.
//
// Registers in the constructor, unregisters (slots) in the destructor; neither copied nor moved.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "daemon/gateway.hpp"
#include "daemon/gateway_events.hpp"
#include "dbus/bus.hpp"

namespace ttygate::dbus {

class GatewayObject final : public daemon::GatewayEvents {
 public:
  // Throws std::system_error when sd-bus refuses a registration (start-up only).
  GatewayObject(Bus& bus, daemon::Gateway& gateway);
  GatewayObject(const GatewayObject&) = delete;
  GatewayObject& operator=(const GatewayObject&) = delete;
  ~GatewayObject() override;

  daemon::Gateway& gateway() { return gateway_; }
  // Lookups for the vtables (client_object.cpp, session_object.cpp). An object being removed
  // still resolves while its InterfacesRemoved is emitted.
  const daemon::Client* client_at(const char* path) const;
  const daemon::Session* session_at(const char* path) const;

  // GatewayEvents
  void client_added(const daemon::Client& client) override;
  void client_removed(const ktls::Pin& pin) override;
  void client_changed(const daemon::Client& client, ClientField field) override;
  void session_added(const daemon::Session& session) override;
  void session_removed(std::uint64_t id) override;
  void pairing_changed() override;
  void ports_changed() override;
  void pairing_requested(const ktls::Pin& pin, std::string_view name, std::string_view code) override;
  void pairing_completed(const daemon::Client& client) override;
  void pairing_failed(std::string_view reason) override;
  void listeners_changed() override;

 private:
  std::string pairing_mode() const;
  void add(sd_bus_slot* slot) { slots_.emplace_back(slot); }
  void check(int r, const char* what);

  Bus& bus_;
  daemon::Gateway& gateway_;
  std::vector<SdBusSlotPtr> slots_;
  std::optional<ktls::Pin> removing_client_;
  std::optional<std::uint64_t> removing_session_;
};

// The vtables, one per interface (defined next to their handlers).
extern const sd_bus_vtable kGatewayVtable[];
extern const sd_bus_vtable kClientVtable[];
extern const sd_bus_vtable kSessionVtable[];

// Sets *error from a gateway refusal and returns the negative value sd-bus expects.
int reply_error(sd_bus_error* error, const Error& refusal);

}  // namespace ttygate::dbus
