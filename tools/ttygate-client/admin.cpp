// SPDX-License-Identifier: Apache-2.0
// list, forget, fingerprint: the commands that only read or change local files.
#include <cstdio>

#include "tools/ttygate-client/commands.hpp"
#include "tools/ttygate-client/exit_codes.hpp"

namespace ttygate::client {

// One gateway per line: NAME HOST:PORT FINGERPRINT. Nothing at all when none is paired.
int run_list(const Settings& settings) {
  auto store = open_store(settings);
  if (!store) {
    say("Failed to read the known gateways: " + store.error().message());
    return kExitFailure;
  }
  for (const auto& g : store->gateways())
    std::printf("%s %s %s\n", g.name.c_str(), g.endpoint.text().c_str(), ktls::fingerprint(g.pin).c_str());
  return kExitOk;
}

int run_forget(const Settings& settings, const std::string& name) {
  auto store = open_store(settings);
  if (!store) {
    say("Failed to read the known gateways: " + store.error().message());
    return kExitFailure;
  }
  auto removed = store->forget(name);
  if (!removed) {
    say("Failed to forget " + name + ": " + removed.error().message());
    return kExitFailure;
  }
  if (!*removed) {
    say("no paired gateway is named " + name);
    return kExitFailure;
  }
  std::printf("forgot %s\n", name.c_str());
  return kExitOk;
}

// The client's own fingerprint, as the gateway will show it (the key is made on first use).
int run_fingerprint(const Settings& settings) {
  auto identity = client_identity(settings);
  if (!identity) {
    say("Failed to load the client identity: " + identity.error().message());
    return kExitFailure;
  }
  std::printf("%s\n", ktls::fingerprint(identity->pin).c_str());
  return kExitOk;
}

}  // namespace ttygate::client
