// SPDX-License-Identifier: Apache-2.0
// org.ttygate.Session1: one object per relaying session, /org/ttygate/Gateway1/session/<id>.
#include "daemon/relay.hpp"
#include "daemon/session.hpp"
#include "dbus/gateway_object.hpp"
#include "dbus/paths.hpp"

namespace ttygate::dbus {
namespace {

GatewayObject& self(void* userdata) { return *static_cast<GatewayObject*>(userdata); }

// One getter for every property: they differ only in what they append.
int get_property(sd_bus*, const char* path, const char*, const char* property, sd_bus_message* reply, void* userdata,
                 sd_bus_error* error) {
  const daemon::Session* s = self(userdata).session_at(path);
  if (!s) return sd_bus_error_set(error, "org.ttygate.Error.NotFound", "No such session");
  std::string_view p = property;
  if (p == "Client") return sd_bus_message_append(reply, "o", client_path(s->pin()).c_str());
  if (p == "Peer") return sd_bus_message_append(reply, "s", s->peer().text.c_str());
  if (p == "Port") return sd_bus_message_append(reply, "s", s->relay().port().name.c_str());
  if (p == "Role") return sd_bus_message_append(reply, "s", std::string(to_string(s->role())).c_str());
  if (p == "Offload") return sd_bus_message_append(reply, "s", std::string(ktls::to_string(s->offload())).c_str());
  if (p == "Protocol") return sd_bus_message_append(reply, "s", std::string(s->protocol()).c_str());
  if (p == "Rekey") return sd_bus_message_append(reply, "s", std::string(s->rekey()).c_str());
  if (p == "Resumed") return sd_bus_message_append(reply, "b", static_cast<int>(s->resumed()));
  if (p == "BytesIn") return sd_bus_message_append(reply, "t", s->bytes_in());
  if (p == "BytesOut") return sd_bus_message_append(reply, "t", s->bytes_out());
  if (p == "Since") return sd_bus_message_append(reply, "t", static_cast<std::uint64_t>(s->since()));
  return -ENOENT;
}

int method_disconnect(sd_bus_message* m, void* userdata, sd_bus_error* error) {
  auto id = session_id_from_path(sd_bus_message_get_path(m));
  if (!id) return sd_bus_error_set(error, "org.ttygate.Error.NotFound", "No such session");
  if (auto ok = self(userdata).gateway().disconnect_session(*id); !ok) return reply_error(error, ok.error());
  return sd_bus_reply_method_return(m, nullptr);
}

constexpr auto kConst = SD_BUS_VTABLE_PROPERTY_CONST;

}  // namespace

// BytesIn and BytesOut change with every record: read them, they are not signalled.
const sd_bus_vtable kSessionVtable[] = {
    SD_BUS_VTABLE_START(0),
    SD_BUS_PROPERTY("Client", "o", get_property, 0, kConst),
    SD_BUS_PROPERTY("Peer", "s", get_property, 0, kConst),
    SD_BUS_PROPERTY("Port", "s", get_property, 0, kConst),
    SD_BUS_PROPERTY("Role", "s", get_property, 0, kConst),
    SD_BUS_PROPERTY("Offload", "s", get_property, 0, kConst),
    SD_BUS_PROPERTY("Protocol", "s", get_property, 0, kConst),
    SD_BUS_PROPERTY("Rekey", "s", get_property, 0, kConst),
    SD_BUS_PROPERTY("Resumed", "b", get_property, 0, kConst),
    SD_BUS_PROPERTY("BytesIn", "t", get_property, 0, 0),
    SD_BUS_PROPERTY("BytesOut", "t", get_property, 0, 0),
    SD_BUS_PROPERTY("Since", "t", get_property, 0, kConst),
    SD_BUS_METHOD_WITH_ARGS("Disconnect", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, method_disconnect,
                            SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_VTABLE_END};

}  // namespace ttygate::dbus
