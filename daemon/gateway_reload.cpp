// SPDX-License-Identifier: Apache-2.0
// Gateway: reload (SIGHUP). The fresh configuration was parsed in full before this runs (a bad
// file never gets here: main logs it and the running configuration stays). Ports are matched
// by name: a port whose table is the same keeps everything, so its sessions never notice; any
// difference (device, line settings, listen addresses, control mode) restarts that one port.
//
// Only the [[port]] tables are applied: the identity, the client store, limits, pairing, TLS
// and keep-alive settings are read at start, and a change there needs a restart.
#include <algorithm>

#include "common/log.hpp"
#include "daemon/gateway.hpp"

namespace ttygate::daemon {

namespace {

const PortConfig* find_port(const std::vector<PortConfig>& ports, const std::string& name) {
  auto it = std::find_if(ports.begin(), ports.end(), [&](const PortConfig& p) { return p.name == name; });
  return it == ports.end() ? nullptr : &*it;
}

}  // namespace

std::string Gateway::reload(const Config& fresh) {
  unsigned removed = 0, changed = 0, kept = 0, added = 0, failed = 0;
  // Out first: a changed port's listen addresses and device are free for its new self.
  for (std::size_t i = ports_.size(); i-- > 0;) {
    const PortConfig& running = ports_[i].relay->port();
    const PortConfig* wanted = find_port(fresh.ports, running.name);
    if (wanted && running == *wanted) {
      ++kept;
      continue;
    }
    ++(wanted ? changed : removed);
    retire_port(i, wanted ? "port changed by a reload" : "port removed by a reload");
  }
  // What is left running is what stays; everything else starts (a port that failed to start at
  // an earlier reload gets another chance).
  for (const PortConfig& port : fresh.ports) {
    if (std::any_of(ports_.begin(), ports_.end(), [&](const Port& p) { return p.relay->port().name == port.name; }))
      continue;
    if (!find_port(config_.ports, port.name)) ++added;
    if (auto opened = open_port(port); !opened) {
      ++failed;
      log::error("Port " + port.name + ": failed to start after the reload: " + opened.error().message() +
                     "; the port stays down until the next reload",
                 {log::port(port.name)});
    }
  }
  config_.ports = fresh.ports;
  // Interface ports: a started one listens on what its interfaces have now.
  if (netwatch_)
    interfaces_changed(netwatch_->snapshot());
  else if (auto followed = follow_interfaces(); !followed)
    log::error("Failed to follow interfaces after the reload: " + followed.error().message());
  events_->ports_changed();
  return "Reloaded " + fresh.file.string() + ": " + std::to_string(added) + " ports added, " +
         std::to_string(removed) + " removed, " + std::to_string(changed) + " changed, " + std::to_string(kept) +
         " unchanged" + (failed ? ", " + std::to_string(failed) + " failed to start" : "");
}

void Gateway::retire_port(std::size_t index, std::string_view reason) {
  auto retired = std::make_shared<Port>(std::move(ports_[index]));
  ports_.erase(ports_.begin() + static_cast<std::ptrdiff_t>(index));
  followed_.erase(retired->config->name);  // its interface listeners go with it
  for (auto& listener : retired->listeners) listener->close();
  log::info("Port " + retired->relay->port().name + ": " + std::string(reason), {log::port(retired->relay->port().name)});
  for (auto& [id, session] : sessions_)
    if (&session->relay() == retired->relay.get()) session->close(reason);
  // Sessions are erased by deferred work queued as they closed, before this runs: none is left
  // to refer to the relay when it goes.
  loop_.defer([retired] {});
}

}  // namespace ttygate::daemon
