// SPDX-License-Identifier: Apache-2.0
#include "tools/ttygate-client/browse.hpp"

#include <net/if.h>
#include <systemd/sd-bus.h>
#include <time.h>

#include <map>
#include <memory>

namespace ttygate::client {
namespace {

constexpr const char* kAvahi = "org.freedesktop.Avahi";
constexpr const char* kServiceType = "_ttygate._tcp";
constexpr int kUnspec = -1;

struct BusDeleter {
  void operator()(sd_bus* bus) const { sd_bus_flush_close_unref(bus); }
};
struct MessageDeleter {
  void operator()(sd_bus_message* m) const { sd_bus_message_unref(m); }
};
using BusPtr = std::unique_ptr<sd_bus, BusDeleter>;
using MessagePtr = std::unique_ptr<sd_bus_message, MessageDeleter>;

struct Item {
  int interface = 0, protocol = 0;
  std::string name, domain;
};

struct BrowseState {
  std::vector<Item> items;
  bool all_for_now = false;
  std::string failure;
};

int on_browser_signal(sd_bus_message* m, void* userdata, sd_bus_error*) {
  auto& state = *static_cast<BrowseState*>(userdata);
  if (sd_bus_message_is_signal(m, nullptr, "ItemNew")) {
    std::int32_t interface = 0, protocol = 0;
    const char *name = nullptr, *type = nullptr, *domain = nullptr;
    std::uint32_t flags = 0;
    if (sd_bus_message_read(m, "iisssu", &interface, &protocol, &name, &type, &domain, &flags) >= 0)
      state.items.push_back({interface, protocol, name, domain});
  } else if (sd_bus_message_is_signal(m, nullptr, "AllForNow")) {
    state.all_for_now = true;
  } else if (sd_bus_message_is_signal(m, nullptr, "Failure")) {
    const char* why = nullptr;
    state.failure = sd_bus_message_read(m, "s", &why) >= 0 && why ? why : "failure";
  }
  return 0;
}

Error bus_error(const std::string& what, int r, const sd_bus_error* error = nullptr) {
  std::string detail = error && error->message ? std::string(": ") + error->message : "";
  if (error && (sd_bus_error_has_name(error, SD_BUS_ERROR_SERVICE_UNKNOWN) ||
                sd_bus_error_has_name(error, SD_BUS_ERROR_NAME_HAS_NO_OWNER)))
    detail = ": Avahi (org.freedesktop.Avahi) is not on the system bus";
  return Error(std::error_code(r < 0 ? -r : EIO, std::system_category()), what + detail);
}

std::vector<std::string> read_records(sd_bus_message* reply) {
  std::vector<std::string> records;
  if (sd_bus_message_enter_container(reply, 'a', "ay") < 0) return records;
  const void* data = nullptr;
  std::size_t size = 0;
  while (sd_bus_message_read_array(reply, 'y', &data, &size) > 0)
    records.emplace_back(static_cast<const char*>(data), size);
  sd_bus_message_exit_container(reply);
  return records;
}

// ResolveService: one item's address, port and TXT.
Result<Advert> resolve(sd_bus* bus, const Item& item, std::chrono::milliseconds timeout) {
  sd_bus_message* raw = nullptr;
  int r = sd_bus_message_new_method_call(bus, &raw, kAvahi, "/", "org.freedesktop.Avahi.Server", "ResolveService");
  if (r < 0) return bus_error("resolving " + item.name, r);
  MessagePtr call(raw);
  r = sd_bus_message_append(call.get(), "iisssiu", item.interface, item.protocol, item.name.c_str(), kServiceType,
                            item.domain.c_str(), kUnspec, 0u);
  sd_bus_error error = SD_BUS_ERROR_NULL;
  sd_bus_message* reply_raw = nullptr;
  if (r >= 0) r = sd_bus_call(bus, call.get(), static_cast<std::uint64_t>(timeout.count()) * 1000, &error, &reply_raw);
  MessagePtr reply(reply_raw);
  if (r < 0) {
    Error failed = bus_error("resolving " + item.name, r, &error);
    sd_bus_error_free(&error);
    return failed;
  }
  std::int32_t interface = 0, protocol = 0, aprotocol = 0;
  const char *name = nullptr, *type = nullptr, *domain = nullptr, *host = nullptr, *address = nullptr;
  std::uint16_t port = 0;
  r = sd_bus_message_read(reply.get(), "iissssisq", &interface, &protocol, &name, &type, &domain, &host, &aprotocol,
                          &address, &port);
  if (r < 0) return bus_error("reading the resolved " + item.name, r);
  Advert advert{name, address, port, {}, {}, {}, {}};
  if (advert.address.starts_with("fe80:")) {
    char ifname[IF_NAMESIZE] = "";
    if (if_indextoname(static_cast<unsigned>(interface), ifname)) advert.address += std::string("%") + ifname;
  }
  read_txt(advert, read_records(reply.get()));
  return advert;
}

std::chrono::steady_clock::time_point deadline_after(std::chrono::milliseconds timeout) {
  return std::chrono::steady_clock::now() + timeout;
}

}  // namespace

void read_txt(Advert& advert, const std::vector<std::string>& records) {
  for (const std::string& record : records) {
    const auto equals = record.find('=');
    if (equals == std::string::npos) continue;
    const std::string key = record.substr(0, equals), value = record.substr(equals + 1, 64);
    if (key == "serial") advert.serial = value;
    else if (key == "port") advert.port_name = value;
    else if (key == "fp") advert.fp = value;
    else if (key == "v") advert.version = value;
  }
}

Result<std::vector<Advert>> browse_gateways(std::chrono::milliseconds timeout, std::string_view serial) {
  sd_bus* raw = nullptr;
  if (int r = sd_bus_open_system(&raw); r < 0) return bus_error("connecting to the system bus", r);
  BusPtr bus(raw);
  BrowseState state;
  // Matched before the browser exists: Avahi may signal before its reply arrives.
  sd_bus_slot* match = nullptr;
  if (int r = sd_bus_add_match(bus.get(), &match, "type='signal',interface='org.freedesktop.Avahi.ServiceBrowser'",
                               on_browser_signal, &state);
      r < 0)
    return bus_error("watching Avahi", r);
  std::unique_ptr<sd_bus_slot, decltype(&sd_bus_slot_unref)> match_slot(match, sd_bus_slot_unref);
  sd_bus_error error = SD_BUS_ERROR_NULL;
  sd_bus_message* reply = nullptr;
  int r = sd_bus_call_method(bus.get(), kAvahi, "/", "org.freedesktop.Avahi.Server", "ServiceBrowserNew", &error,
                             &reply, "iissu", kUnspec, kUnspec, kServiceType, "", 0u);
  MessagePtr browser(reply);
  if (r < 0) {
    Error failed = bus_error("browsing for gateways", r, &error);
    sd_bus_error_free(&error);
    return failed;
  }
  const auto deadline = deadline_after(timeout);
  std::map<std::string, Advert> found;
  std::size_t resolved = 0;
  while (state.failure.empty()) {
    while ((r = sd_bus_process(bus.get(), nullptr)) > 0) {}
    if (r < 0) return bus_error("browsing for gateways", r);
    for (; resolved < state.items.size(); ++resolved) {
      auto advert = resolve(bus.get(), state.items[resolved], timeout);
      if (!advert || (!serial.empty() && advert->serial != serial)) continue;
      auto [it, added] = found.try_emplace(advert->name, *advert);
      if (!added && it->second.address.find(':') != std::string::npos && advert->address.find(':') == std::string::npos)
        it->second = *advert;  // IPv4 over IPv6
    }
    const auto now = std::chrono::steady_clock::now();
    if (state.all_for_now || now >= deadline) break;
    const auto left = std::chrono::duration_cast<std::chrono::microseconds>(deadline - now);
    if ((r = sd_bus_wait(bus.get(), static_cast<std::uint64_t>(left.count()))) < 0)
      return bus_error("browsing for gateways", r);
  }
  if (!state.failure.empty())
    return Error(std::make_error_code(std::errc::io_error), "Avahi failed to browse: " + state.failure);
  std::vector<Advert> adverts;
  for (auto& [name, advert] : found) adverts.push_back(std::move(advert));
  return adverts;
}

}  // namespace ttygate::client
