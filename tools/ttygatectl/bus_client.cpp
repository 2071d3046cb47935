#include "tools/ttygatectl/bus_client.hpp"

#include <cerrno>
#include <cstring>
#include <string_view>

namespace ttygatectl {
namespace {

constexpr const char* kService = "org.ttygate.Gateway1";

struct ErrorHolder {
  sd_bus_error e = SD_BUS_ERROR_NULL;
  ~ErrorHolder() { sd_bus_error_free(&e); }
};

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

Value read_value(sd_bus_message* m) {
  char type;
  const char* contents;
  int r = sd_bus_message_peek_type(m, &type, &contents);
  if (r <= 0) throw BusError("Failed to parse a reply: " + std::string(r < 0 ? std::strerror(-r) : "too short"));
  Value v;
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
  switch (type) {
    case 'a': case 'r': case 'v': case 'e':
      return read_container(m, type, contents);
    default:
      check(sd_bus_message_read_basic(m, type, &raw), "parse a reply");
  }
  switch (type) {
    case 'b': v.kind = Value::Kind::boolean; v.boolean = raw.b != 0; break;
    case 'y': v.kind = Value::Kind::unsigned_number; v.u = raw.y; break;
    case 'q': v.kind = Value::Kind::unsigned_number; v.u = raw.q; break;
    case 'u': v.kind = Value::Kind::unsigned_number; v.u = raw.u; break;
    case 't': v.kind = Value::Kind::unsigned_number; v.u = raw.t; break;
    case 'n': v.kind = Value::Kind::signed_number; v.i = raw.n; break;
    case 'i': v.kind = Value::Kind::signed_number; v.i = raw.i; break;
    case 'x': v.kind = Value::Kind::signed_number; v.i = raw.x; break;
    case 's': case 'o': case 'g': v.kind = Value::Kind::string; v.s = raw.s; break;
    default: v.kind = Value::Kind::string; v.s = "?"; break;
  }
  return v;
}

struct MessageRef {
  sd_bus_message* m = nullptr;
  ~MessageRef() { sd_bus_message_unref(m); }
};

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
      std::string out;
      for (const auto& item : items) out += (out.empty() ? "" : " ") + item.text();
      return out;
    }
    case Kind::dict: return "{...}";
  }
  return {};
}

std::string describe(const sd_bus_error& error, int r) {
  if (!sd_bus_error_is_set(&error)) return std::strerror(-r);
  std::string_view name = error.name;
  constexpr std::string_view prefix = "org.ttygate.Error.";
  if (name.substr(0, prefix.size()) == prefix) name.remove_prefix(prefix.size());
  if (name == "org.freedesktop.DBus.Error.AccessDenied") name = "AccessDenied";
  if (name == "org.freedesktop.DBus.Error.ServiceUnknown")
    return "ttygated is not on the bus (is it running?): " + std::string(error.message ? error.message : "");
  return std::string(name) + ": " + (error.message ? error.message : "");
}

Client::Client() {
  int r = sd_bus_open_system(&bus_);
  if (r < 0) throw BusError(std::string("Failed to connect to the system bus: ") + std::strerror(-r));
}

Client::~Client() { sd_bus_flush_close_unref(bus_); }

sd_bus_message* Client::call(const std::string& path, const std::string& interface, const std::string& method,
                             const char* signature, const std::vector<std::string>& args) {
  MessageRef request;
  check(sd_bus_message_new_method_call(bus_, &request.m, kService, path.c_str(), interface.c_str(), method.c_str()),
        "build a call");
  for (std::size_t i = 0; signature && signature[i]; ++i)
    check(sd_bus_message_append_basic(request.m, signature[i], args.at(i).c_str()), "build a call");
  ErrorHolder error;
  sd_bus_message* reply = nullptr;
  int r = sd_bus_call(bus_, request.m, 0, &error.e, &reply);
  if (r < 0) throw BusError(describe(error.e, r));
  return reply;
}

void Client::call_u(const std::string& path, const std::string& interface, const std::string& method,
                    std::uint32_t value) {
  ErrorHolder error;
  MessageRef reply;
  int r = sd_bus_call_method(bus_, kService, path.c_str(), interface.c_str(), method.c_str(), &error.e, &reply.m, "u",
                             value);
  if (r < 0) throw BusError(describe(error.e, r));
}

void Client::set_string(const std::string& path, const std::string& interface, const std::string& property,
                        const std::string& value) {
  ErrorHolder error;
  int r = sd_bus_set_property(bus_, kService, path.c_str(), interface.c_str(), property.c_str(), &error.e, "s",
                              value.c_str());
  if (r < 0) throw BusError(describe(error.e, r));
}

Properties Client::get_all(const std::string& path, const std::string& interface) {
  MessageRef reply;
  reply.m = call(path, "org.freedesktop.DBus.Properties", "GetAll", "s", {interface});
  return read_value(reply.m);
}

ManagedObjects Client::managed_objects() {
  MessageRef reply;
  reply.m = call("/org/ttygate/Gateway1", "org.freedesktop.DBus.ObjectManager", "GetManagedObjects");
  Value all = read_value(reply.m);
  ManagedObjects objects;
  for (auto& [path, interfaces] : all.fields)
    for (auto& [interface, properties] : interfaces.fields) objects[path][interface] = std::move(properties);
  return objects;
}

}  // namespace ttygatectl
