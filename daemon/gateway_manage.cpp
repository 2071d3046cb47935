// Gateway: management requests (D-Bus methods and property writes, the pairing button).
// Each checks every argument before it changes anything; the store itself writes the new file
// before it changes memory, so a refused or failed request leaves everything as it was.
#include <ctime>

#include "common/log.hpp"
#include "daemon/gateway.hpp"
#include "daemon/refusal.hpp"

namespace ttygate::daemon {
namespace {

Result<Role> parse_role(std::string_view role) {
  if (auto parsed = role_from_string(role)) return *parsed;
  return refusal(Refusal::invalid_args, "role \"" + std::string(role) + "\" (control or monitor)");
}

Result<void> check_name(std::string_view name) {
  if (valid_name(name)) return success();
  return refusal(Refusal::invalid_args, "name \"" + std::string(name) +
                                            "\" (1 to 64 printable ASCII characters, no outer spaces)");
}

}  // namespace

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
  auto parsed_role = parse_role(role);
  if (!parsed_role) return parsed_role.error();
  if (auto ok = check_name(name); !ok) return ok.error();
  auto cert = ktls::parse_certificate_pem(pem);
  if (!cert) return refusal(Refusal::invalid_args, "certificate: " + cert.error().message());
  auto pin = ktls::pin_of(cert->get());
  if (!pin) return refusal(Refusal::invalid_args, "certificate: " + pin.error().message());
  if (const Client* known = store_.find(*pin))
    return refusal(Refusal::already_exists, "this key is already paired as \"" + known->name + "\"");
  if (store_.find_by_name(name)) return refusal(Refusal::already_exists, "name \"" + std::string(name) + "\" is taken");
  Client client{*pin, std::string(name), *parsed_role, static_cast<std::int64_t>(std::time(nullptr)), 0};
  if (auto added = store_.add(client); !added) return added.error();
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
  log::notice("Removed client \"" + name + "\" " + ktls::fingerprint(pin));
  close_sessions_of(pin, "client removed");
  events_->client_removed(pin);
  return success();
}

Result<void> Gateway::rename_client(const ktls::Pin& pin, std::string_view name) {
  if (auto ok = check_name(name); !ok) return ok;
  const Client* client = store_.find(pin);
  if (!client) return refusal(Refusal::not_found, "no client " + ktls::fingerprint(pin));
  if (client->name == name) return success();
  if (store_.find_by_name(name)) return refusal(Refusal::already_exists, "name \"" + std::string(name) + "\" is taken");
  if (auto renamed = store_.rename(pin, std::string(name)); !renamed) return renamed;
  events_->client_changed(*store_.find(pin), GatewayEvents::ClientField::name);
  return success();
}

Result<void> Gateway::set_client_role(const ktls::Pin& pin, std::string_view role) {
  auto parsed = parse_role(role);
  if (!parsed) return parsed.error();
  const Client* client = store_.find(pin);
  if (!client) return refusal(Refusal::not_found, "no client " + ktls::fingerprint(pin));
  if (client->role == *parsed) return success();
  if (auto changed = store_.set_role(pin, *parsed); !changed) return changed;
  // Every change replaces the store's clients: look the client up again, never reuse `client`.
  const Client& changed = *store_.find(pin);
  log::notice("Client \"" + changed.name + "\" now has role " + std::string(to_string(*parsed)));
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
