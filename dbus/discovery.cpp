// SPDX-License-Identifier: Apache-2.0
#include "dbus/discovery.hpp"

#include <netinet/in.h>

#include <algorithm>
#include <set>
#include <system_error>

#include "common/log.hpp"
#include "daemon/device_serial.hpp"

namespace ttygate::dbus {
namespace {

constexpr const char* kAvahi = "org.freedesktop.Avahi";
constexpr const char* kServer = "org.freedesktop.Avahi.Server";
constexpr const char* kEntryGroup = "org.freedesktop.Avahi.EntryGroup";
constexpr int kAvahiIfUnspec = -1, kAvahiProtoUnspec = -1;
enum GroupState { kUncommitted = 0, kRegistering = 1, kEstablished = 2, kCollision = 3, kFailure = 4 };

bool is_collision(const sd_bus_error* error) {
  return error && error->name && std::string_view(error->name).ends_with("CollisionError");
}

bool is_absent(const sd_bus_error* error) {
  return error && error->name &&
         (sd_bus_error_has_name(error, SD_BUS_ERROR_SERVICE_UNKNOWN) ||
          sd_bus_error_has_name(error, SD_BUS_ERROR_NAME_HAS_NO_OWNER));
}

std::string error_text(const sd_bus_error* error) {
  return std::string(error->name ? error->name : "?") + ": " + (error->message ? error->message : "");
}

}  // namespace

std::string fingerprint_prefix(const ktls::Pin& pin) {
  std::string letters;
  for (char c : ktls::fingerprint(pin))
    if (c != '-' && letters.size() < 16) letters.push_back(c);
  return letters;
}

std::vector<std::string> txt_records(std::string_view serial, std::string_view port, std::string_view fp_prefix) {
  return {"serial=" + std::string(serial), "port=" + std::string(port), "fp=" + std::string(fp_prefix), "v=1"};
}

std::string service_name(std::string_view gateway, std::string_view port) {
  std::string name = std::string(gateway) + " " + std::string(port);
  return name.substr(0, 63);
}

std::vector<int> announce_interfaces(const std::vector<daemon::Gateway::LiveListener>& live) {
  std::set<int> indices;
  for (const auto& listener : live) {
    if (listener.loopback) continue;
    if (listener.ifindex <= 0) return {kAvahiIfUnspec};
    indices.insert(listener.ifindex);
  }
  return {indices.begin(), indices.end()};
}

// ---- one port ----

class Discovery::Publication {
 public:
  Publication(Discovery& discovery, const daemon::PortConfig& port)
      : discovery_(discovery), port_(port), name_(service_name(discovery.gateway().config().gateway.name, port.name)),
        serial_(daemon::port_serial(port.serial, port.device)) {}

  const std::string& group() const { return group_; }
  void avahi_gone() {
    group_.clear();
    creating_ = false;
    pending_.clear();
  }

  // Creates the group when there is none, then fills it.
  void publish() {
    if (!group_.empty()) return fill();
    if (creating_) return;
    creating_ = true;
    call(kServer, "/", "EntryGroupNew", [](sd_bus_message* reply, void* userdata, sd_bus_error*) {
      auto& self = *static_cast<Publication*>(userdata);
      self.creating_ = false;
      const char* path = nullptr;
      if (const sd_bus_error* error = sd_bus_message_get_error(reply)) {
        if (is_absent(error)) return self.discovery_.avahi_missing(error_text(error)), 0;
        log::warning("DNS-SD: Avahi refused a new entry group: " + error_text(error) + ", ignoring");
        return 0;
      }
      if (sd_bus_message_read(reply, "o", &path) < 0) return 0;
      self.group_ = path;
      self.fill();
      return 0;
    });
  }

  void state_changed(int state, const char* error) {
    if (state == kCollision) return rename();
    if (state == kFailure) log::warning("DNS-SD: publishing " + name_ + " failed: " + std::string(error));
    if (state == kEstablished && announced_ != name_) {
      announced_ = name_;
      log::info("DNS-SD: port " + port_.name + " published as \"" + name_ + "\" (" + kServiceType + ", serial=" +
                serial_ + ")");
    }
  }

 private:
  using Callback = sd_bus_message_handler_t;

  void call(const char* interface, const std::string& path, const char* member, Callback callback) {
    sd_bus_slot* slot = nullptr;
    if (sd_bus_call_method_async(discovery_.bus().get(), &slot, kAvahi, path.c_str(), interface, member, callback,
                                 this, nullptr) >= 0)
      pending_.emplace_back(slot);
    discovery_.bus().kick();
  }

  // Reset, one AddService per interface, Commit: Avahi handles one client's calls in order.
  void fill() {
    pending_.clear();  // replies of an earlier filling no longer matter
    const auto& gateway = discovery_.gateway();
    const auto interfaces = announce_interfaces(gateway.live_listeners(port_));
    call(kEntryGroup, group_, "Reset", ignore_reply);
    if (interfaces.empty() || tcp_port() == 0) return;
    const auto txt = txt_records(serial_, port_.name, fingerprint_prefix(gateway.identity().pin));
    for (int interface : interfaces) add_service(interface, txt);
    call(kEntryGroup, group_, "Commit", on_reply);
  }

  void add_service(int interface, const std::vector<std::string>& txt) {
    sd_bus* bus = discovery_.bus().get();
    sd_bus_message* raw = nullptr;
    if (sd_bus_message_new_method_call(bus, &raw, kAvahi, group_.c_str(), kEntryGroup, "AddService") < 0) return;
    std::unique_ptr<sd_bus_message, decltype(&sd_bus_message_unref)> m(raw, sd_bus_message_unref);
    int r = sd_bus_message_append(m.get(), "iiussssq", interface, kAvahiProtoUnspec, 0u, name_.c_str(), kServiceType,
                                  "", "", tcp_port());
    if (r >= 0) r = sd_bus_message_open_container(m.get(), 'a', "ay");
    for (const auto& record : txt)
      if (r >= 0) r = sd_bus_message_append_array(m.get(), 'y', record.data(), record.size());
    if (r >= 0) r = sd_bus_message_close_container(m.get());
    sd_bus_slot* slot = nullptr;
    if (r >= 0) r = sd_bus_call_async(bus, &slot, m.get(), on_reply, this, 0);
    if (r >= 0) pending_.emplace_back(slot);
    else log::warning("DNS-SD: failed to ask Avahi to publish " + name_ + ", ignoring");
  }

  std::uint16_t tcp_port() const {
    if (!port_.interfaces.empty()) return port_.listen_port;
    for (const auto& address : port_.listen) return ntohs(reinterpret_cast<const sockaddr_in&>(address.addr).sin_port);
    return 0;
  }

  static int ignore_reply(sd_bus_message*, void*, sd_bus_error*) { return 0; }

  // The reply's error is in the message; the third argument is for errors this handler returns.
  static int on_reply(sd_bus_message* reply, void* userdata, sd_bus_error*) {
    auto& self = *static_cast<Publication*>(userdata);
    const sd_bus_error* error = sd_bus_message_get_error(reply);
    if (!error) return 0;
    if (is_collision(error)) return self.rename(), 0;
    if (is_absent(error)) return self.discovery_.avahi_missing(error_text(error)), 0;
    log::warning("DNS-SD: Avahi refused " + self.name_ + ": " + error_text(error) + ", ignoring");
    return 0;
  }

  // Avahi's next name ("name #2", "name #3", ...), then publish again under it.
  void rename() {
    pending_.clear();
    sd_bus_message* raw = nullptr;
    sd_bus* bus = discovery_.bus().get();
    if (sd_bus_message_new_method_call(bus, &raw, kAvahi, "/", kServer, "GetAlternativeServiceName") < 0) return;
    std::unique_ptr<sd_bus_message, decltype(&sd_bus_message_unref)> m(raw, sd_bus_message_unref);
    sd_bus_slot* slot = nullptr;
    if (sd_bus_message_append(m.get(), "s", name_.c_str()) < 0 ||
        sd_bus_call_async(bus, &slot, m.get(), on_alternative, this, 0) < 0)
      return;
    pending_.emplace_back(slot);
    discovery_.bus().kick();
  }

  static int on_alternative(sd_bus_message* reply, void* userdata, sd_bus_error*) {
    auto& self = *static_cast<Publication*>(userdata);
    const char* name = nullptr;
    if (const sd_bus_error* error = sd_bus_message_get_error(reply)) {
      log::warning("DNS-SD: Avahi gave no alternative to \"" + self.name_ + "\": " + error_text(error) + ", ignoring");
      return 0;
    }
    if (sd_bus_message_read(reply, "s", &name) < 0) return 0;
    log::notice("DNS-SD: the name \"" + self.name_ + "\" is taken on the network; publishing as \"" + name + "\"");
    self.name_ = name;
    self.publish();
    return 0;
  }

  Discovery& discovery_;
  const daemon::PortConfig& port_;
  std::string name_;
  std::string serial_;
  std::string group_;      // the EntryGroup's object path; empty: none (yet, or Avahi restarted)
  std::string announced_;  // the name last logged as published
  bool creating_ = false;
  std::vector<SdBusSlotPtr> pending_;  // replies still awaited: dropped with this publication
};

// ---- the whole gateway ----

namespace {

int on_owner_changed(sd_bus_message* m, void* userdata, sd_bus_error*) {
  const char *name = nullptr, *before = nullptr, *after = nullptr;
  if (sd_bus_message_read(m, "sss", &name, &before, &after) < 0) return 0;
  static_cast<Discovery*>(userdata)->avahi_owner_changed(after && *after);
  return 0;
}

int on_state_changed(sd_bus_message* m, void* userdata, sd_bus_error*) {
  std::int32_t state = 0;
  const char* error = nullptr;
  if (sd_bus_message_read(m, "is", &state, &error) < 0) return 0;
  static_cast<Discovery*>(userdata)->state_changed(sd_bus_message_get_path(m), state, error);
  return 0;
}

}  // namespace

Discovery::Discovery(Bus& bus, daemon::Gateway& gateway) : bus_(bus), gateway_(gateway) {
  sd_bus_slot* slot = nullptr;
  int r = sd_bus_add_match(bus_.get(), &slot,
                           "type='signal',sender='org.freedesktop.DBus',path='/org/freedesktop/DBus',"
                           "interface='org.freedesktop.DBus',member='NameOwnerChanged',arg0='org.freedesktop.Avahi'",
                           on_owner_changed, this);
  if (r < 0) throw std::system_error(-r, std::system_category(), "D-Bus: watching Avahi");
  owner_match_.reset(slot);
  // No sender: Avahi's groups are owned by its unique name, which changes when it restarts.
  r = sd_bus_match_signal(bus_.get(), &slot, nullptr, nullptr, kEntryGroup, "StateChanged", on_state_changed, this);
  if (r < 0) throw std::system_error(-r, std::system_category(), "D-Bus: watching Avahi's entry groups");
  state_match_.reset(slot);
  for (const auto& port : gateway_.config().ports)
    publications_.push_back(std::make_unique<Publication>(*this, port));
  gateway_.set_listener_watch([this] {
    for (auto& publication : publications_) publication->publish();
  });
  for (auto& publication : publications_) publication->publish();
}

Discovery::~Discovery() {
  gateway_.set_listener_watch(nullptr);
  publications_.clear();
}

void Discovery::avahi_missing(const std::string& why) {
  if (warned_missing_) return;
  warned_missing_ = true;
  log::warning("DNS-SD: Avahi is not on the system bus (" + why + "); ports are published once it appears");
}

void Discovery::avahi_owner_changed(bool present) {
  // Only NameOwnerChanged for org.freedesktop.Avahi reaches here (the match's arg0 filter).
  for (auto& publication : publications_) publication->avahi_gone();
  if (!present) return log::info("DNS-SD: Avahi left the bus; publishing again when it returns");
  log::info("DNS-SD: Avahi appeared on the bus; publishing");
  warned_missing_ = false;
  for (auto& publication : publications_) publication->publish();
}

void Discovery::state_changed(const char* path, int state, const char* error) {
  if (!path) return;
  for (auto& publication : publications_)
    if (publication->group() == path) publication->state_changed(state, error ? error : "");
}

DiscoveryAttachment attach_discovery(daemon::Loop& loop, daemon::Gateway& gateway) {
  DiscoveryAttachment attached;
  auto connection = connect_system_bus();
  if (!connection) {
    log::warning("DNS-SD: failed to connect to D-Bus: " + connection.error().message() + "; ports are not published");
    return attached;
  }
  attached.bus = std::make_unique<Bus>(loop, std::move(*connection));
  attached.discovery = std::make_unique<Discovery>(*attached.bus, gateway);
  attached.bus->start();
  return attached;
}

}  // namespace ttygate::dbus
