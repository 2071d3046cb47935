// SPDX-License-Identifier: Apache-2.0
// ttygatectl's view of org.ttygate.Gateway1: a generic reader of D-Bus values (enough to print
// any property as a table cell or as JSON) and the few calls the commands make. Only the public
// API: the CLI knows object paths and interface names, never the daemon's code.
#pragma once

#include <systemd/sd-bus.h>

#include <cstdint>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "tools/ttygatectl/sd_bus_handles.hpp"

namespace ttygatectl {

// A D-Bus value, whatever its signature: numbers, strings (s, o, g), arrays, structs, dicts.
struct Value {
  enum class Kind { boolean, unsigned_number, signed_number, string, array, dict } kind = Kind::string;
  bool boolean = false;
  std::uint64_t u = 0;
  std::int64_t i = 0;
  std::string s;
  std::vector<Value> items;                            // array, struct
  std::vector<std::pair<std::string, Value>> fields;   // dict, in wire order

  const Value* get(const std::string& key) const;
  std::string text() const;  // for tables: strings as is, numbers in decimal, arrays joined
};

// A D-Bus error reply or a failure to reach the bus: one line for people, exit status 1.
class BusError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

using Properties = Value;  // a dict of property name → value
// object path → interface → properties
using ManagedObjects = std::map<std::string, std::map<std::string, Properties>>;

class Client {
 public:
  Client();  // connects to the system bus (DBUS_SYSTEM_BUS_ADDRESS honoured); throws BusError
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // For sd_bus_process()/sd_bus_wait() while following signals; the Client keeps ownership.
  sd_bus* bus() const { return bus_.get(); }
  Properties get_all(const std::string& path, const std::string& interface);
  ManagedObjects managed_objects();
  // Calls a method whose arguments are the strings in `args`, one per character of
  // `signature` (s or o; none when null); returns the reply. Throws BusError on an error reply.
  SdBusMessagePtr call(const std::string& path, const std::string& interface, const std::string& method,
                       const char* signature = nullptr, const std::vector<std::string>& args = {});
  void call_u(const std::string& path, const std::string& interface, const std::string& method, std::uint32_t value);
  void set_string(const std::string& path, const std::string& interface, const std::string& property,
                  const std::string& value);
  // Calls `handler` for every signal the gateway emits on `path`/`interface` until the
  // returned slot is dropped. `userdata` must outlive the slot.
  SdBusSlotPtr match_signals(const std::string& path, const std::string& interface, sd_bus_message_handler_t handler,
                             void* userdata);

 private:
  SdBusMessagePtr new_call(const std::string& path, const std::string& interface, const std::string& method);
  SdBusMessagePtr send(sd_bus_message* request);

  SdBusPtr bus_;
};

// The error's name without "org.ttygate.Error." and its message: "InvalidArgs: name ...".
std::string describe(const sd_bus_error& error, int r);

}  // namespace ttygatectl
