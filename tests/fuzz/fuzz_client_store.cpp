// SPDX-License-Identifier: Apache-2.0
// The client store loader (daemon/client_store): any file gives a store or an error naming the
// line, never a crash; a store it loads finds each of its clients by pin and by name.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "daemon/client_store.hpp"
#include "tests/fuzz/fuzz_dir.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::filesystem::path file = ttygate::fuzz::scratch_dir() / "clients";
  {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  std::filesystem::permissions(file, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  auto store = ttygate::daemon::ClientStore::open(file);
  if (!store.ok()) return 0;
  for (const auto& client : store->clients()) {
    if (store->find(client.pin) != &client || store->find_by_name(client.name) != &client) std::abort();
  }
  return 0;
}
