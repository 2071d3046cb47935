// SPDX-License-Identifier: Apache-2.0
// Gateway: management requests (D-Bus methods and property writes, the pairing button).
// Each checks every argument before it changes anything; the store itself writes the new file
// before it changes memory, so a refused or failed request leaves everything as it was.
#include <ctime>

#include "common/escape.hpp"
#include "common/log.hpp"
#include "daemon/gateway.hpp"
#include "daemon/names.hpp"
#include "daemon/new_client.hpp"
#include "daemon/refusal.hpp"

namespace ttygate::daemon {

Result<void> Gateway::start_pairing(std::chrono::seconds seconds) {
  if (!pairing_->open())
    if (auto loaded = load_passcode(); !loaded) return loaded;
  return pairing_->start(seconds);
}

Result<void> Gateway::stop_pairing() { return pairing_->stop(); }

Result<void> Gateway::confirm_pairing(std::string_view code) { return pairing_->confirm_code(code); }

void Gateway::button_pressed() {
  log::info("Pairing button pressed");
  if (!pairing_->open())
    if (auto loaded = load_passcode(); !loaded)
      return log::error("Failed to open a pairing window: " + loaded.error().context());
  pairing_->button_pressed();
}

Result<Client> Gateway::add_client(std::string_view pem, std::string_view name, std::string_view role) {
  auto added = add_new_client(store_, {.pem = pem, .name = name, .role = role},
                              static_cast<std::int64_t>(std::time(nullptr)));
  if (!added) return added.error();
  const Client& client = *added;
  log::notice("Added client \"" + client.name + "\" " + ktls::fingerprint(client.pin) + " as " +
              std::string(to_string(client.role)));
  events_->client_added(client);
  return client;
}

Result<void> Gateway::remove_client(const ktls::Pin& pin) {
  const Client* client = store_.find(pin);
  if (!client) return refusal(Refusal::not_found, "no client " + ktls::fingerprint(pin));
  std::string name = client->name;
  if (auto removed = store_.remove(pin); !removed) return removed.error();
  log::notice("Removed client \"" + name + "\" " + ktls::fingerprint(pin),
              {log::message_id(log::kClientRemoved), log::client(ktls::fingerprint(pin))});
  forget_resumable_sessions(pin, name);  // its tickets now name nothing
  close_sessions_of(pin, "client removed");
  events_->client_removed(pin);
  return success();
}

Result<void> Gateway::rename_client(const ktls::Pin& pin, std::string_view name) {
  if (auto ok = check_name(name); !ok) return refusal(Refusal::invalid_args, ok.error().context());
  const Client* client = store_.find(pin);
  if (!client) return refusal(Refusal::not_found, "no client " + ktls::fingerprint(pin));
  if (client->name == name) return success();
  if (store_.find_by_name(name)) return refusal(Refusal::already_exists, "name " + shown(name) + " is taken");
  if (auto renamed = store_.rename(pin, std::string(name)); !renamed) return renamed;
  events_->client_changed(*store_.find(pin), GatewayEvents::ClientField::name);
  return success();
}

Result<void> Gateway::set_client_role(const ktls::Pin& pin, std::string_view role) {
  auto parsed = role_argument(role);
  if (!parsed) return parsed.error();
  const Client* client = store_.find(pin);
  if (!client) return refusal(Refusal::not_found, "no client " + ktls::fingerprint(pin));
  if (client->role == *parsed) return success();
  if (auto changed = store_.set_role(pin, *parsed); !changed) return changed;
  // Every change replaces the store's clients: look the client up again, never reuse `client`.
  const Client& changed = *store_.find(pin);
  log::notice("Client \"" + changed.name + "\" now has role " + std::string(to_string(*parsed)));
  forget_resumable_sessions(pin, changed.name);  // it reconnects with a full handshake, in its new role
  close_sessions_of(pin, "role changed");
  events_->client_changed(changed, GatewayEvents::ClientField::role);
  return success();
}

Result<void> Gateway::disconnect_session(std::uint64_t id) {
  Session* s = session(id);
  if (!s || !s->relaying()) return refusal(Refusal::not_found, "no session " + std::to_string(id));
  s->close("disconnected by an administrator");
  return success();
}

}  // namespace ttygate::daemon
