// SPDX-License-Identifier: Apache-2.0
// Gateway's interface ports: listeners opened and closed as the named interfaces' addresses
// come and go (daemon/netwatch.hpp tells what the kernel has).
//
// A removed address closes only its listener: sessions accepted on it keep running until they
// end on their own (the peer goes, keep-alive or TCP_USER_TIMEOUT gives up, the address comes
// back). Closing them at once would cut a console on every DHCP renewal that briefly drops an
// address; a session whose route is really gone ends within the keep-alive time anyway.
#include <netinet/in.h>

#include <algorithm>

#include "common/log.hpp"
#include "daemon/gateway.hpp"

namespace ttygate::daemon {
namespace {

bool loopback(const ListenAddress& address) {
  if (address.family() == AF_INET)
    return (ntohl(reinterpret_cast<const sockaddr_in&>(address.addr).sin_addr.s_addr) >> 24) == 127;
  return IN6_IS_ADDR_LOOPBACK(&reinterpret_cast<const sockaddr_in6&>(address.addr).sin6_addr);
}

int scope_of(const ListenAddress& address) {
  if (address.family() != AF_INET6) return 0;
  return static_cast<int>(reinterpret_cast<const sockaddr_in6&>(address.addr).sin6_scope_id);
}

}  // namespace

Result<void> Gateway::follow_interfaces() {
  const bool wanted = std::any_of(config_.ports.begin(), config_.ports.end(),
                                  [](const PortConfig& port) { return !port.interfaces.empty(); });
  if (!wanted) return success();
  auto watch = NetWatch::open(loop_, [this](const NetSnapshot& snapshot) { interfaces_changed(snapshot); });
  if (!watch) return Error(watch.error().code(), "following interfaces: " + watch.error().context());
  netwatch_ = std::move(*watch);
  interfaces_changed(netwatch_->snapshot());
  return success();
}

void Gateway::interfaces_changed(const NetSnapshot& snapshot) {
  bool changed = false;
  for (Port& port : ports_) {
    if (port.config->interfaces.empty()) continue;
    note_interfaces(*port.config, snapshot);
    changed |= follow_port(port, snapshot);
  }
  if (!changed) return;
  events_->listeners_changed();
  if (listener_watch_) listener_watch_();
}

// Logged once per change of presence, not on every resync.
void Gateway::note_interfaces(const PortConfig& port, const NetSnapshot& snapshot) {
  for (const std::string& name : port.interfaces) {
    const bool present = std::any_of(snapshot.links.begin(), snapshot.links.end(),
                                     [&](const NetLink& link) { return link.name == name; });
    auto [it, first] = interface_present_.try_emplace(name, present);
    if (!first && it->second == present) continue;
    it->second = present;
    if (!present)
      log::warning("Port " + port.name + ": interface " + name + (first ? " does not exist" : " vanished or was renamed") +
                   "; listening on it again when it appears");
    else if (!first)
      log::info("Port " + port.name + ": interface " + name + " appeared");
  }
}

// True when a listener was opened or closed. A failed bind (the address went away again, or is
// not bindable yet) is logged once and retried a second later.
bool Gateway::follow_port(Port& running, const NetSnapshot& snapshot) {
  const PortConfig& port = *running.config;
  auto& current = followed_[port.name];
  std::vector<std::string> texts;
  for (const auto& [text, index] : current) texts.push_back(text);
  ListenDiff diff = diff_listen(texts, interface_listen_addresses(snapshot, port.interfaces, port.listen_port));
  for (const std::string& text : diff.removed) {
    close_listener(text);
    current.erase(text);
    log::info("Port " + port.name + ": stopped listening on " + text + " (address gone)");
  }
  bool retry = false;
  for (const InterfaceListen& listen : diff.added) {
    const ListenAddress& address = listen.address;
    auto opened = open_listener(running, address);
    if (!opened) {
      retry = true;
      if (failed_binds_.insert(address.text).second)
        log::warning("Port " + port.name + ": failed to listen on " + address.text + ": " + opened.error().message() +
                     "; retrying");
      continue;
    }
    failed_binds_.erase(address.text);
    current.emplace(address.text, listen.ifindex);
    log::info("Port " + port.name + ": listening on " + address.text);
  }
  if (retry && !bind_retry_.armed())
    bind_retry_.set(loop_, loop_.timeout(std::chrono::seconds(1), [this](int) { netwatch_->resync(); }));
  return !diff.removed.empty() || diff.added.size() > 0;
}

Result<void> Gateway::open_listener(Port& port, const ListenAddress& address) {
  auto made = make_listener(*port.relay, address);
  if (!made) return made.error();
  auto& listener = *port.listeners.emplace_back(std::move(*made));
  // A listener that comes while accepting is paused (max_handshakes) starts paused.
  if (paused_for_handshakes_) listener.pause();
  listener.start();
  return success();
}

void Gateway::close_listener(const std::string& text) {
  for (Port& port : ports_) {
    auto& listeners = port.listeners;
    auto it = std::find_if(listeners.begin(), listeners.end(),
                           [&](const std::unique_ptr<Listener>& listener) { return listener->text() == text; });
    if (it == listeners.end()) continue;
    (*it)->close();
    listeners.erase(it);
    return;
  }
}

std::vector<Gateway::LiveListener> Gateway::live_listeners(const PortConfig& port) const {
  std::vector<LiveListener> live;
  for (const ListenAddress& address : port.listen) live.push_back({address.text, scope_of(address), loopback(address)});
  if (auto it = followed_.find(port.name); it != followed_.end())
    for (const auto& [text, index] : it->second) live.push_back({text, index, false});
  return live;
}

}  // namespace ttygate::daemon
