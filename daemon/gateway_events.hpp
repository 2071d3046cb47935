// SPDX-License-Identifier: Apache-2.0
// GatewayEvents: what the gateway tells its observers (the D-Bus objects) after its state
// changed. The gateway calls these after the change is complete and stored, from the loop.
// Observers must not call back into mutators from here. daemon/ knows nothing of D-Bus: this
// interface is the whole coupling.
#pragma once

#include <cstdint>
#include <string_view>

#include "daemon/client_store.hpp"
#include "ktls/pin.hpp"

namespace ttygate::daemon {

class Session;

class GatewayEvents {
 public:
  enum class ClientField { name, role, last_seen };

  virtual ~GatewayEvents() = default;
  virtual void client_added(const Client&) {}
  virtual void client_removed(const ktls::Pin&) {}
  virtual void client_changed(const Client&, ClientField) {}
  // A session started relaying (only those are visible), or a visible session ended.
  virtual void session_added(const Session&) {}
  virtual void session_removed(std::uint64_t) {}
  // The window opened or closed.
  virtual void pairing_changed() {}
  virtual void pairing_requested(const ktls::Pin&, std::string_view /*name*/, std::string_view /*code*/) {}
  virtual void pairing_completed(const Client&) {}
  virtual void pairing_failed(std::string_view /*reason*/) {}
  // A port began or stopped listening on an address (an interface's address came or went).
  virtual void listeners_changed() {}
  // A reload changed the [[port]] tables (Gateway::config().ports).
  virtual void ports_changed() {}
};

}  // namespace ttygate::daemon
