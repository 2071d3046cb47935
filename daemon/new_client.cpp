// SPDX-License-Identifier: Apache-2.0
// Adding a client by hand. See new_client.hpp.
#include "daemon/new_client.hpp"

#include <string>

#include "common/escape.hpp"
#include "daemon/names.hpp"
#include "daemon/refusal.hpp"
#include "ktls/pin.hpp"

namespace ttygate::daemon {
namespace {

std::size_t pem_blocks(std::string_view pem) {
  std::size_t blocks = 0;
  for (std::size_t at = pem.find("-----BEGIN "); at != std::string_view::npos; at = pem.find("-----BEGIN ", at + 1)) {
    ++blocks;
  }
  return blocks;
}

// Exactly one PEM block, a certificate: OpenSSL would silently take the first of several, and
// which key got pinned would then depend on the order someone concatenated files in.
Result<ktls::Pin> certificate_pin(std::string_view pem, std::string_view source) {
  if (std::size_t blocks = pem_blocks(pem); blocks > 1) {
    return refusal(Refusal::invalid_args, std::string(source) + ": " + std::to_string(blocks) +
                                              " PEM blocks; give exactly one certificate and nothing else");
  }
  auto cert = ktls::parse_certificate_pem(pem);
  if (!cert) return refusal(Refusal::invalid_args, std::string(source) + ": " + cert.error().message());
  auto pin = ktls::pin_of(cert->get());
  if (!pin) return refusal(Refusal::invalid_args, std::string(source) + ": " + pin.error().message());
  return *pin;
}

// The store would refuse both too, with its own codes; here they become refusals that say who.
Result<void> check_unused(const ClientStore& store, const ktls::Pin& pin, std::string_view name) {
  if (const Client* known = store.find(pin))
    return refusal(Refusal::already_exists, "this key is already paired as " + shown(known->name));
  if (store.find_by_name(name)) return refusal(Refusal::already_exists, "name " + shown(name) + " is taken");
  return success();
}

}  // namespace

Result<Role> role_argument(std::string_view role) {
  if (auto parsed = role_from_string(role)) return *parsed;
  return refusal(Refusal::invalid_args, "role " + shown(role) + " (expected control or monitor)");
}

Result<Client> add_new_client(ClientStore& store, const NewClient& request, std::int64_t now) {
  auto role = role_argument(request.role);
  if (!role) return role.error();
  if (auto named = check_name(request.name); !named) return refusal(Refusal::invalid_args, named.error().context());
  auto pin = certificate_pin(request.pem, request.source);
  if (!pin) return pin.error();
  if (auto unused = check_unused(store, *pin, request.name); !unused) return unused.error();
  Client client{*pin, std::string(request.name), *role, now, 0};
  if (auto added = store.add(client); !added) return added.error();
  return client;
}

}  // namespace ttygate::daemon
