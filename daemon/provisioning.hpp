// SPDX-License-Identifier: Apache-2.0
// Provisioning: what ttygated does offline, without the event loop: print the gateway's
// fingerprint, add a client from its certificate, list clients. For image builds and factory
// provisioning; a running daemon is managed over D-Bus instead.
#pragma once

#include <filesystem>
#include <ostream>
#include <string>

#include "common/result.hpp"
#include "daemon/client_store.hpp"
#include "daemon/config.hpp"
#include "ktls/identity.hpp"

namespace ttygate::daemon {

ktls::IdentityFiles gateway_identity_files(const Config& config);
std::filesystem::path client_store_path(const Config& config);

Result<ktls::Identity> load_gateway_identity(const Config& config);

// Reads a PEM certificate file and adds its key as a client with add_new_client()
// (daemon/new_client.hpp): the same checks and refusals as AddClient on D-Bus, with messages that
// name the file instead of "certificate".
Result<Client> add_client_from_file(ClientStore& store, const std::filesystem::path& cert, const std::string& name,
                                    const std::string& role);

void print_clients(const ClientStore& store, std::ostream& out);

}  // namespace ttygate::daemon
