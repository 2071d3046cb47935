// SPDX-License-Identifier: Apache-2.0
// org.ttygate.Client1: one object per paired client, /org/ttygate/Gateway1/client/<pin hex>.
#include "daemon/refusal.hpp"
#include "dbus/arguments.hpp"
#include "dbus/gateway_object.hpp"
#include "dbus/paths.hpp"

namespace ttygate::dbus {
namespace {

GatewayObject& self(void* userdata) { return *static_cast<GatewayObject*>(userdata); }

// Every getter re-resolves the path: a client may be gone between find and get.
const daemon::Client* client_or_error(void* userdata, const char* path, sd_bus_error* error) {
  const daemon::Client* client = self(userdata).client_at(path);
  if (!client) sd_bus_error_set(error, "org.ttygate.Error.NotFound", "No such client");
  return client;
}

int get_name(sd_bus*, const char* path, const char*, const char*, sd_bus_message* reply, void* userdata,
             sd_bus_error* error) {
  auto* client = client_or_error(userdata, path, error);
  return client ? sd_bus_message_append(reply, "s", client->name.c_str()) : -ENOENT;
}

int get_role(sd_bus*, const char* path, const char*, const char*, sd_bus_message* reply, void* userdata,
             sd_bus_error* error) {
  auto* client = client_or_error(userdata, path, error);
  return client ? sd_bus_message_append(reply, "s", std::string(to_string(client->role)).c_str()) : -ENOENT;
}

int get_fingerprint(sd_bus*, const char* path, const char*, const char*, sd_bus_message* reply, void* userdata,
                    sd_bus_error* error) {
  auto* client = client_or_error(userdata, path, error);
  return client ? sd_bus_message_append(reply, "s", ktls::fingerprint(client->pin).c_str()) : -ENOENT;
}

int get_paired_at(sd_bus*, const char* path, const char*, const char*, sd_bus_message* reply, void* userdata,
                  sd_bus_error* error) {
  auto* client = client_or_error(userdata, path, error);
  return client ? sd_bus_message_append(reply, "t", static_cast<std::uint64_t>(client->added_at)) : -ENOENT;
}

int get_last_seen(sd_bus*, const char* path, const char*, const char*, sd_bus_message* reply, void* userdata,
                  sd_bus_error* error) {
  auto* client = client_or_error(userdata, path, error);
  return client ? sd_bus_message_append(reply, "t", static_cast<std::uint64_t>(client->last_seen)) : -ENOENT;
}

int set_name(sd_bus*, const char* path, const char*, const char*, sd_bus_message* value, void* userdata,
             sd_bus_error* error) {
  const char* name = nullptr;
  if (int r = sd_bus_message_read(value, "s", &name); r < 0) return r;
  if (auto bounded = bounded_argument("name", name, kMaxNameArgument); !bounded) return reply_error(error, bounded.error());
  auto pin = pin_from_client_path(path);
  if (!pin) return sd_bus_error_set(error, "org.ttygate.Error.NotFound", "No such client");
  if (auto ok = self(userdata).gateway().rename_client(*pin, name); !ok) return reply_error(error, ok.error());
  return 0;
}

int set_role(sd_bus*, const char* path, const char*, const char*, sd_bus_message* value, void* userdata,
             sd_bus_error* error) {
  const char* role = nullptr;
  if (int r = sd_bus_message_read(value, "s", &role); r < 0) return r;
  if (auto bounded = bounded_argument("role", role, kMaxRoleArgument); !bounded) return reply_error(error, bounded.error());
  auto pin = pin_from_client_path(path);
  if (!pin) return sd_bus_error_set(error, "org.ttygate.Error.NotFound", "No such client");
  if (auto ok = self(userdata).gateway().set_client_role(*pin, role); !ok) return reply_error(error, ok.error());
  return 0;
}

int method_remove(sd_bus_message* m, void* userdata, sd_bus_error* error) {
  auto pin = pin_from_client_path(sd_bus_message_get_path(m));
  if (!pin) return sd_bus_error_set(error, "org.ttygate.Error.NotFound", "No such client");
  if (auto ok = self(userdata).gateway().remove_client(*pin); !ok) return reply_error(error, ok.error());
  return sd_bus_reply_method_return(m, nullptr);
}

constexpr auto kWritable = SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE | SD_BUS_VTABLE_UNPRIVILEGED;

}  // namespace

const sd_bus_vtable kClientVtable[] = {
    SD_BUS_VTABLE_START(0),
    SD_BUS_WRITABLE_PROPERTY("Name", "s", get_name, set_name, 0, kWritable),
    SD_BUS_WRITABLE_PROPERTY("Role", "s", get_role, set_role, 0, kWritable),
    SD_BUS_PROPERTY("Fingerprint", "s", get_fingerprint, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("PairedAt", "t", get_paired_at, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("LastSeen", "t", get_last_seen, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
    SD_BUS_METHOD_WITH_ARGS("Remove", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, method_remove, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_VTABLE_END};

}  // namespace ttygate::dbus
