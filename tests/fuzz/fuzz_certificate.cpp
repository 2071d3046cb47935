// SPDX-License-Identifier: Apache-2.0
// Certificate intake (daemon/new_client: AddClient and --add-client): any PEM text is one
// client added or one refusal, never a crash; nothing is stored on refusal.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "daemon/new_client.hpp"
#include "dbus/arguments.hpp"
#include "tests/fuzz/fuzz_dir.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ttygate;
  static daemon::ClientStore store = [] {
    auto opened = daemon::ClientStore::open(fuzz::scratch_dir() / "clients");
    if (!opened.ok()) std::abort();
    return std::move(opened).value();
  }();
  std::string_view pem(reinterpret_cast<const char*>(data), size);
  if (!dbus::check_add_client_arguments(pem, "fuzz", "control").ok()) return 0;
  auto added = daemon::add_new_client(store, {.pem = pem, .name = "fuzz", .role = "control"}, 1700000000);
  if (added.ok()) {
    if (store.clients().size() != 1 || !store.remove(added->pin).ok()) std::abort();
  } else if (!store.clients().empty()) {
    std::abort();
  }
  return 0;
}
