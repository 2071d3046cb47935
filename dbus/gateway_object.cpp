// SPDX-License-Identifier: Apache-2.0
#include "dbus/gateway_object.hpp"

#include <cstdlib>
#include <cstring>
#include <system_error>

#include "common/log.hpp"
#include "dbus/arguments.hpp"
#include "dbus/paths.hpp"

namespace ttygate::dbus {
namespace {

using daemon::Gateway;

GatewayObject& self(void* userdata) { return *static_cast<GatewayObject*>(userdata); }

// ---- org.ttygate.Gateway1 properties ----

int get_fingerprint(sd_bus*, const char*, const char*, const char*, sd_bus_message* reply, void* userdata,
                    sd_bus_error*) {
  return sd_bus_message_append(reply, "s", ktls::fingerprint(self(userdata).gateway().identity().pin).c_str());
}

int get_version(sd_bus*, const char*, const char*, const char*, sd_bus_message* reply, void*, sd_bus_error*) {
  return sd_bus_message_append(reply, "s", TTYGATE_VERSION);
}

int get_kernel_tls(sd_bus*, const char*, const char*, const char*, sd_bus_message* reply, void* userdata,
                   sd_bus_error*) {
  return sd_bus_message_append(reply, "b", self(userdata).gateway().kernel_tls().any() ? 1 : 0);
}

int get_pairing_active(sd_bus*, const char*, const char*, const char*, sd_bus_message* reply, void* userdata,
                       sd_bus_error*) {
  return sd_bus_message_append(reply, "b", self(userdata).gateway().pairing().open() ? 1 : 0);
}

int get_pairing_remaining(sd_bus*, const char*, const char*, const char*, sd_bus_message* reply, void* userdata,
                          sd_bus_error*) {
  auto left = self(userdata).gateway().pairing().remaining().count();
  return sd_bus_message_append(reply, "u", static_cast<std::uint32_t>(left));
}

int get_passcode_set(sd_bus*, const char*, const char*, const char*, sd_bus_message* reply, void* userdata,
                     sd_bus_error*) {
  return sd_bus_message_append(reply, "b", self(userdata).gateway().passcode_set() ? 1 : 0);
}

int get_pairing_confirmation(sd_bus*, const char*, const char*, const char*, sd_bus_message* reply, void* userdata,
                             sd_bus_error*) {
  return sd_bus_message_append(reply, "s", std::string(to_string(self(userdata).gateway().pairing().mode())).c_str());
}

// a(ssas): name, device, listen addresses.
int get_ports(sd_bus*, const char*, const char*, const char*, sd_bus_message* reply, void* userdata, sd_bus_error*) {
  int r = sd_bus_message_open_container(reply, 'a', "(ssas)");
  for (const auto& port : self(userdata).gateway().config().ports) {
    if (r >= 0) r = sd_bus_message_open_container(reply, 'r', "ssas");
    if (r >= 0) r = sd_bus_message_append(reply, "ss", port.name.c_str(), port.device.c_str());
    if (r >= 0) r = sd_bus_message_open_container(reply, 'a', "s");
    for (const auto& address : port.listen)
      if (r >= 0) r = sd_bus_message_append(reply, "s", address.text.c_str());
    if (r >= 0) r = sd_bus_message_close_container(reply);
    if (r >= 0) r = sd_bus_message_close_container(reply);
  }
  if (r >= 0) r = sd_bus_message_close_container(reply);
  return r;
}

// a{sas}: port name -> the addresses it listens on now (interface ports follow their interfaces).
int get_listeners(sd_bus*, const char*, const char*, const char*, sd_bus_message* reply, void* userdata,
                  sd_bus_error*) {
  const Gateway& gateway = self(userdata).gateway();
  int r = sd_bus_message_open_container(reply, 'a', "{sas}");
  for (const auto& port : gateway.config().ports) {
    if (r >= 0) r = sd_bus_message_open_container(reply, 'e', "sas");
    if (r >= 0) r = sd_bus_message_append(reply, "s", port.name.c_str());
    if (r >= 0) r = sd_bus_message_open_container(reply, 'a', "s");
    for (const auto& live : gateway.live_listeners(port))
      if (r >= 0) r = sd_bus_message_append(reply, "s", live.text.c_str());
    if (r >= 0) r = sd_bus_message_close_container(reply);
    if (r >= 0) r = sd_bus_message_close_container(reply);
  }
  if (r >= 0) r = sd_bus_message_close_container(reply);
  return r;
}

// ---- org.ttygate.Gateway1 methods ----

int method_start_pairing(sd_bus_message* m, void* userdata, sd_bus_error* error) {
  std::uint32_t seconds = 0;
  if (int r = sd_bus_message_read(m, "u", &seconds); r < 0) return r;
  if (auto ok = self(userdata).gateway().start_pairing(std::chrono::seconds(seconds)); !ok)
    return reply_error(error, ok.error());
  return sd_bus_reply_method_return(m, nullptr);
}

int method_stop_pairing(sd_bus_message* m, void* userdata, sd_bus_error* error) {
  if (auto ok = self(userdata).gateway().stop_pairing(); !ok) return reply_error(error, ok.error());
  return sd_bus_reply_method_return(m, nullptr);
}

int method_confirm_pairing(sd_bus_message* m, void* userdata, sd_bus_error* error) {
  const char* code = nullptr;
  if (int r = sd_bus_message_read(m, "s", &code); r < 0) return r;
  if (auto bounded = bounded_argument("code", code, kMaxCodeArgument); !bounded) return reply_error(error, bounded.error());
  if (auto ok = self(userdata).gateway().confirm_pairing(code); !ok) return reply_error(error, ok.error());
  return sd_bus_reply_method_return(m, nullptr);
}

int method_add_client(sd_bus_message* m, void* userdata, sd_bus_error* error) {
  const char *pem = nullptr, *name = nullptr, *role = nullptr;
  if (int r = sd_bus_message_read(m, "sss", &pem, &name, &role); r < 0) return r;
  if (auto bounded = check_add_client_arguments(pem, name, role); !bounded) return reply_error(error, bounded.error());
  auto added = self(userdata).gateway().add_client(pem, name, role);
  if (!added) return reply_error(error, added.error());
  return sd_bus_reply_method_return(m, "o", client_path(added->pin).c_str());
}

// ---- object tree ----

// Every well-formed path is found, so that a call on a client or session that is gone reaches
// the handler and fails with org.ttygate.Error.NotFound, as documented, rather than sd-bus's
// UnknownObject. The enumerators list only the objects that exist.
int find_client(sd_bus*, const char* path, const char*, void* userdata, void** found, sd_bus_error*) {
  if (!pin_from_client_path(path)) return 0;
  *found = userdata;
  return 1;
}

int find_session(sd_bus*, const char* path, const char*, void* userdata, void** found, sd_bus_error*) {
  if (!session_id_from_path(path)) return 0;
  *found = userdata;
  return 1;
}

// sd-bus frees the strv.
int make_strv(const std::vector<std::string>& paths, char*** out) {
  auto** nodes = static_cast<char**>(calloc(paths.size() + 1, sizeof(char*)));
  if (!nodes) return -ENOMEM;
  for (std::size_t i = 0; i < paths.size(); ++i) {
    nodes[i] = strdup(paths[i].c_str());
    if (!nodes[i]) {
      for (std::size_t j = 0; j < i; ++j) free(nodes[j]);
      free(nodes);
      return -ENOMEM;
    }
  }
  *out = nodes;
  return 0;
}

int enumerate_clients(sd_bus*, const char*, void* userdata, char*** nodes, sd_bus_error*) {
  std::vector<std::string> paths;
  for (const auto& client : self(userdata).gateway().clients().clients()) paths.push_back(client_path(client.pin));
  return make_strv(paths, nodes);
}

int enumerate_sessions(sd_bus*, const char*, void* userdata, char*** nodes, sd_bus_error*) {
  std::vector<std::string> paths;
  for (const auto& [id, session] : self(userdata).gateway().sessions())
    if (session->relaying()) paths.push_back(session_path(id));
  return make_strv(paths, nodes);
}

constexpr auto kWrite = SD_BUS_VTABLE_UNPRIVILEGED;  // the bus policy decides who may call

}  // namespace

const sd_bus_vtable kGatewayVtable[] = {
    SD_BUS_VTABLE_START(0),
    SD_BUS_PROPERTY("Fingerprint", "s", get_fingerprint, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("Version", "s", get_version, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("KernelTLS", "b", get_kernel_tls, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("PairingActive", "b", get_pairing_active, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
    SD_BUS_PROPERTY("PairingRemaining", "u", get_pairing_remaining, 0, 0),
    SD_BUS_PROPERTY("Ports", "a(ssas)", get_ports, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
    SD_BUS_PROPERTY("PairingConfirmation", "s", get_pairing_confirmation, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("PasscodeSet", "b", get_passcode_set, 0, 0),
    SD_BUS_PROPERTY("Listeners", "a{sas}", get_listeners, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
    SD_BUS_METHOD_WITH_ARGS("StartPairing", SD_BUS_ARGS("u", seconds), SD_BUS_NO_RESULT, method_start_pairing, kWrite),
    SD_BUS_METHOD_WITH_ARGS("StopPairing", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, method_stop_pairing, kWrite),
    SD_BUS_METHOD_WITH_ARGS("ConfirmPairing", SD_BUS_ARGS("s", code), SD_BUS_NO_RESULT, method_confirm_pairing,
                            kWrite),
    SD_BUS_METHOD_WITH_ARGS("AddClient", SD_BUS_ARGS("s", pem, "s", name, "s", role), SD_BUS_RESULT("o", client),
                            method_add_client, kWrite),
    SD_BUS_SIGNAL_WITH_ARGS("PairingRequested", SD_BUS_ARGS("s", fingerprint, "s", name, "s", code, "s", mode), 0),
    SD_BUS_SIGNAL_WITH_ARGS("PairingCompleted", SD_BUS_ARGS("o", client, "s", mode), 0),
    SD_BUS_SIGNAL_WITH_ARGS("PairingFailed", SD_BUS_ARGS("s", reason, "s", mode), 0),
    SD_BUS_VTABLE_END};

int reply_error(sd_bus_error* error, const Error& refusal) {
  return sd_bus_error_set(error, error_name(refusal.code()), error_text(refusal).c_str());
}

GatewayObject::GatewayObject(Bus& bus, daemon::Gateway& gateway) : bus_(bus), gateway_(gateway) {
  sd_bus* b = bus_.get();
  sd_bus_slot* slot = nullptr;
  check(sd_bus_add_object_manager(b, &slot, kGatewayPath), "adding the object manager");
  add(slot);
  check(sd_bus_add_object_vtable(b, &slot, kGatewayPath, kGatewayInterface, kGatewayVtable, this),
        "adding org.ttygate.Gateway1");
  add(slot);
  check(sd_bus_add_fallback_vtable(b, &slot, kClientPrefix, kClientInterface, kClientVtable, find_client, this),
        "adding org.ttygate.Client1");
  add(slot);
  check(sd_bus_add_node_enumerator(b, &slot, kClientPrefix, enumerate_clients, this), "listing clients");
  add(slot);
  check(sd_bus_add_fallback_vtable(b, &slot, kSessionPrefix, kSessionInterface, kSessionVtable, find_session, this),
        "adding org.ttygate.Session1");
  add(slot);
  check(sd_bus_add_node_enumerator(b, &slot, kSessionPrefix, enumerate_sessions, this), "listing sessions");
  add(slot);
  gateway_.set_events(this);
}

GatewayObject::~GatewayObject() { gateway_.set_events(nullptr); }

void GatewayObject::check(int r, const char* what) {
  if (r < 0) throw std::system_error(-r, std::system_category(), std::string("D-Bus: ") + what);
}

const daemon::Client* GatewayObject::client_at(const char* path) const {
  auto pin = pin_from_client_path(path);
  if (!pin) return nullptr;
  if (const daemon::Client* client = gateway_.clients().find(*pin)) return client;
  static const daemon::Client kLeaving{};
  return removing_client_ == pin ? &kLeaving : nullptr;
}

const daemon::Session* GatewayObject::session_at(const char* path) const {
  auto id = session_id_from_path(path);
  if (!id) return nullptr;
  const auto& sessions = gateway_.sessions();
  auto it = sessions.find(*id);
  if (it == sessions.end()) return nullptr;
  if (it->second->relaying() || removing_session_ == id) return it->second.get();
  return nullptr;
}

// ---- events ----

void GatewayObject::client_added(const daemon::Client& client) {
  sd_bus_emit_object_added(bus_.get(), client_path(client.pin).c_str());
  bus_.kick();
}

void GatewayObject::client_removed(const ktls::Pin& pin) {
  removing_client_ = pin;
  sd_bus_emit_object_removed(bus_.get(), client_path(pin).c_str());
  removing_client_.reset();
  bus_.kick();
}

void GatewayObject::client_changed(const daemon::Client& client, ClientField field) {
  const char* name = field == ClientField::name ? "Name" : field == ClientField::role ? "Role" : "LastSeen";
  sd_bus_emit_properties_changed(bus_.get(), client_path(client.pin).c_str(), kClientInterface, name, nullptr);
  bus_.kick();
}

void GatewayObject::session_added(const daemon::Session& session) {
  sd_bus_emit_object_added(bus_.get(), session_path(session.id()).c_str());
  bus_.kick();
}

void GatewayObject::session_removed(std::uint64_t id) {
  removing_session_ = id;
  sd_bus_emit_object_removed(bus_.get(), session_path(id).c_str());
  removing_session_.reset();
  bus_.kick();
}

// Every pairing signal names the confirmation mode it happened in.
std::string GatewayObject::pairing_mode() const { return std::string(to_string(gateway_.config().pairing.confirm)); }

void GatewayObject::pairing_changed() {
  sd_bus_emit_properties_changed(bus_.get(), kGatewayPath, kGatewayInterface, "PairingActive", nullptr);
  bus_.kick();
}

void GatewayObject::listeners_changed() {
  sd_bus_emit_properties_changed(bus_.get(), kGatewayPath, kGatewayInterface, "Listeners", nullptr);
  bus_.kick();
}

void GatewayObject::ports_changed() {
  sd_bus_emit_properties_changed(bus_.get(), kGatewayPath, kGatewayInterface, "Ports", nullptr);
  bus_.kick();
}

void GatewayObject::pairing_requested(const ktls::Pin& pin, std::string_view name, std::string_view code) {
  sd_bus_emit_signal(bus_.get(), kGatewayPath, kGatewayInterface, "PairingRequested", "ssss",
                     ktls::fingerprint(pin).c_str(), std::string(name).c_str(), std::string(code).c_str(),
                     pairing_mode().c_str());
  bus_.kick();
}

void GatewayObject::pairing_completed(const daemon::Client& client) {
  sd_bus_emit_signal(bus_.get(), kGatewayPath, kGatewayInterface, "PairingCompleted", "os",
                     client_path(client.pin).c_str(), pairing_mode().c_str());
  bus_.kick();
}

void GatewayObject::pairing_failed(std::string_view reason) {
  sd_bus_emit_signal(bus_.get(), kGatewayPath, kGatewayInterface, "PairingFailed", "ss", std::string(reason).c_str(),
                     pairing_mode().c_str());
  bus_.kick();
}

}  // namespace ttygate::dbus
