// SPDX-License-Identifier: Apache-2.0
#include "tools/ttygatectl/bus_client.hpp"

#include <cerrno>
#include <cstring>
#include <string_view>

#include "common/escape.hpp"

namespace ttygatectl {
namespace {

constexpr const char* kService = "org.ttygate.Gateway1";

void check(int r, const char* what) {
  if (r < 0) throw BusError(std::string("Failed to ") + what + ": " + std::strerror(-r));
}

Value read_value(sd_bus_message* m);

Value read_container(sd_bus_message* m, char type, const char* contents) {
  Value v;
  check(sd_bus_message_enter_container(m, type, contents), "parse a reply");
  bool dict = type == 'a' && contents[0] == '{';
  v.kind = dict ? Value::Kind::dict : Value::Kind::array;
  while (sd_bus_message_at_end(m, 0) == 0) {
    if (dict) {
      char t;
      const char* inner;
      check(sd_bus_message_peek_type(m, &t, &inner), "parse a reply");
      check(sd_bus_message_enter_container(m, 'e', inner), "parse a reply");
      Value key = read_value(m);
      Value value = read_value(m);
      check(sd_bus_message_exit_container(m), "parse a reply");
      v.fields.emplace_back(key.text(), std::move(value));
    } else {
      v.items.push_back(read_value(m));
    }
  }
  check(sd_bus_message_exit_container(m), "parse a reply");
  if (type == 'v' && v.items.size() == 1) return std::move(v.items[0]);
  return v;
}

Value unsigned_value(std::uint64_t u) {
  Value v;
  v.kind = Value::Kind::unsigned_number;
  v.u = u;
  return v;
}

Value signed_value(std::int64_t i) {
  Value v;
  v.kind = Value::Kind::signed_number;
  v.i = i;
  return v;
}

// Built by append into the empty member: g++ 12 at -O3 reports a false -Werror=restrict on
// assigning a C string to a std::string here (its memcpy range analysis, GCC bug 105329).
Value string_value(const char* s) {
  Value v;
  v.kind = Value::Kind::string;
  v.s.append(s);
  return v;
}

// One basic (non-container) value of D-Bus type `type`.
Value read_basic(sd_bus_message* m, char type) {
  union {
    int b;
    std::uint8_t y;
    std::uint16_t q;
    std::uint32_t u;
    std::uint64_t t;
    std::int16_t n;
    std::int32_t i;
    std::int64_t x;
    double d;
    const char* s;
  } raw{};
  check(sd_bus_message_read_basic(m, type, &raw), "parse a reply");
  switch (type) {
    case 'b': { Value v; v.kind = Value::Kind::boolean; v.boolean = raw.b != 0; return v; }
    case 'y': return unsigned_value(raw.y);
    case 'q': return unsigned_value(raw.q);
    case 'u': return unsigned_value(raw.u);
    case 't': return unsigned_value(raw.t);
    case 'n': return signed_value(raw.n);
    case 'i': return signed_value(raw.i);
    case 'x': return signed_value(raw.x);
    case 's': case 'o': case 'g': return string_value(raw.s);
    default: return string_value("?");
  }
}

Value read_value(sd_bus_message* m) {
  char type;
  const char* contents;
  int r = sd_bus_message_peek_type(m, &type, &contents);
  if (r < 0) check(r, "parse a reply");
  if (r == 0) throw BusError("Failed to parse a reply: too short");
  switch (type) {
    case 'a': case 'r': case 'v': case 'e': return read_container(m, type, contents);
    default: return read_basic(m, type);
  }
}

}  // namespace

const Value* Value::get(const std::string& key) const {
  for (const auto& [k, v] : fields)
    if (k == key) return &v;
  return nullptr;
}

std::string Value::text() const {
  switch (kind) {
    case Kind::boolean: return boolean ? "yes" : "no";
    case Kind::unsigned_number: return std::to_string(u);
    case Kind::signed_number: return std::to_string(i);
    case Kind::string: return s;
    case Kind::array: {
      // Appended in place rather than as `sep + item` temporaries, which g++ 12 at -O3 flags
      // with a false -Werror=restrict.
      std::string out;
      for (const auto& item : items) {
        std::string cell = item.text();
        if (!out.empty()) out.push_back(' ');
        out.append(cell);
      }
      return out;
    }
    case Kind::dict: return "{...}";
  }
  return {};
}

// The daemon's text, or anyone's on the bus: one escaped line, never raw bytes to a terminal.
std::string describe(const sd_bus_error& error, int r) {
  if (!sd_bus_error_is_set(&error)) return std::strerror(-r);
  const std::string message = ttygate::one_line(error.message ? error.message : "");
  std::string_view name = error.name;
  constexpr std::string_view prefix = "org.ttygate.Error.";
  if (name.substr(0, prefix.size()) == prefix) name.remove_prefix(prefix.size());
  if (name == "org.freedesktop.DBus.Error.AccessDenied") name = "AccessDenied";
  if (name == "org.freedesktop.DBus.Error.ServiceUnknown")
    return "ttygated is not on the bus (is it running?): " + message;
  return ttygate::one_line(name) + ": " + message;
}

Client::Client() {
  sd_bus* bus = nullptr;
  int r = sd_bus_open_system(&bus);
  if (r < 0) throw BusError(std::string("Failed to connect to the system bus: ") + std::strerror(-r));
  bus_.reset(bus);
}

SdBusMessagePtr Client::new_call(const std::string& path, const std::string& interface, const std::string& method) {
  sd_bus_message* request = nullptr;
  check(sd_bus_message_new_method_call(bus_.get(), &request, kService, path.c_str(), interface.c_str(), method.c_str()),
        "build a call");
  return SdBusMessagePtr(request);
}

SdBusMessagePtr Client::send(sd_bus_message* request) {
  SdBusError error;
  sd_bus_message* reply = nullptr;
  int r = sd_bus_call(bus_.get(), request, 0, error.get(), &reply);
  if (r < 0) throw BusError(describe(*error, r));
  return SdBusMessagePtr(reply);
}

SdBusMessagePtr Client::call(const std::string& path, const std::string& interface, const std::string& method,
                             const char* signature, const std::vector<std::string>& args) {
  SdBusMessagePtr request = new_call(path, interface, method);
  for (std::size_t i = 0; signature && signature[i]; ++i)
    check(sd_bus_message_append_basic(request.get(), signature[i], args.at(i).c_str()), "build a call");
  return send(request.get());
}

void Client::call_u(const std::string& path, const std::string& interface, const std::string& method,
                    std::uint32_t value) {
  SdBusMessagePtr request = new_call(path, interface, method);
  check(sd_bus_message_append_basic(request.get(), 'u', &value), "build a call");
  send(request.get());
}

void Client::set_string(const std::string& path, const std::string& interface, const std::string& property,
                        const std::string& value) {
  SdBusError error;
  int r = sd_bus_set_property(bus_.get(), kService, path.c_str(), interface.c_str(), property.c_str(), error.get(),
                              "s", value.c_str());
  if (r < 0) throw BusError(describe(*error, r));
}

SdBusSlotPtr Client::match_signals(const std::string& path, const std::string& interface,
                                   sd_bus_message_handler_t handler, void* userdata) {
  sd_bus_slot* slot = nullptr;
  check(sd_bus_match_signal(bus_.get(), &slot, kService, path.c_str(), interface.c_str(), nullptr, handler, userdata),
        "subscribe to the gateway's signals");
  return SdBusSlotPtr(slot);
}

Properties Client::get_all(const std::string& path, const std::string& interface) {
  SdBusMessagePtr reply = call(path, "org.freedesktop.DBus.Properties", "GetAll", "s", {interface});
  return read_value(reply.get());
}

ManagedObjects Client::managed_objects() {
  SdBusMessagePtr reply = call("/org/ttygate/Gateway1", "org.freedesktop.DBus.ObjectManager", "GetManagedObjects");
  Value all = read_value(reply.get());
  ManagedObjects objects;
  for (auto& [path, interfaces] : all.fields)
    for (auto& [interface, properties] : interfaces.fields) objects[path][interface] = std::move(properties);
  return objects;
}

}  // namespace ttygatectl
