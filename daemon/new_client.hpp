// SPDX-License-Identifier: Apache-2.0
// NewClient: adding a client by hand, from its certificate, the one way both management paths
// use: ttygated --add-client (offline, a certificate file) and AddClient on D-Bus (PEM text).
// Pairing adds its candidate through the gateway's pairing window instead.
//
// Everything is checked before anything changes, always in this order: role, name (the rule of
// daemon/names.hpp), certificate and its key, key already paired, name taken. Refusals (one kind
// of code, which the D-Bus layer maps to error names and the offline tool prints):
//   Refusal::invalid_args    the role, the name or the certificate (which must be exactly one PEM
//                            block: several certificates, or a key with it, are refused); the
//                            context says which and why
//   Refusal::already_exists  the key is paired already (the context names that client), or the
//                            name is taken
// A failed write of the store returns the store's own error, and the store is as it was.
// Pure logic over the store; no logging (the caller logs once).
#pragma once

#include <cstdint>
#include <string_view>

#include "common/result.hpp"
#include "daemon/client_store.hpp"

namespace ttygate::daemon {

struct NewClient {
  std::string_view pem;                      // the client's certificate, PEM
  std::string_view source = "certificate";   // names the PEM in messages: a word, or its file
  std::string_view name;
  std::string_view role;
};

// Checks the request against the rules and the store, then adds the client (added_at = now).
Result<Client> add_new_client(ClientStore& store, const NewClient& request, std::int64_t now);

// A role given as an argument: Refusal::invalid_args, "role "admin" (expected control or
// monitor)", for anything but the two words.
Result<Role> role_argument(std::string_view role);

}  // namespace ttygate::daemon
