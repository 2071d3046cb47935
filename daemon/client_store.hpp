// SPDX-License-Identifier: Apache-2.0
// ClientStore: the paired clients, persisted in the state directory.
//
// A client is its pin plus what people and policy need: a name, a role, when it was added and
// when it was last seen. The file is replaced atomically on every change. A file that fails to
// parse is refused with the line and the problem, and is never overwritten: the store then stays
// unloaded and the daemon refuses to start rather than forget its clients.
// Not thread-safe: owned by the gateway, used from the event loop only.
//
// File format (written mode 0600, only by this code; anything else in it is an error):
//   # ttygate clients v1
//   <pin: 64 lowercase hex> <role: control|monitor> <added_at> <last_seen> <name>
// one client per line, every line ending in '\n'. Times are decimal seconds since the epoch, no
// sign, no leading zeros. The name comes last and may contain spaces; it must satisfy
// valid_name() (daemon/names.hpp). No blank or comment lines. Pins and names are unique.
//
// Error codes, for callers that map them (e.g. to D-Bus errors):
//   errc::invalid_argument           a malformed file line ("<file>:<line>: <problem>"), or an
//                                    invalid name or negative time given to a mutator
//   errc::file_exists                a pin or a name already in the store (or twice in the file)
//   errc::no_such_file_or_directory  no client with that pin
//   errc::permission_denied          the file is writable by group or others (anyone who can
//                                    write it can pair themselves); the message says how to fix it
//   errc::file_too_large             the file, read or about to be written, exceeds kMaxStoreBytes
//   errc::too_many_symbolic_link_levels  the file or its lock is a symlink (refused, never followed)
//   errc::device_or_resource_busy    StoreAccess::offline_edit while a daemon runs (use ttygatectl)
//   errc::resource_unavailable_try_again  StoreAccess::daemon while another daemon runs
//
// Concurrency (daemon/store_lock.hpp): every open and every write holds the store's write lock,
// so concurrent writers serialise; opening also removes temp files a crashed write left behind.
//   anything else                    from reading or writing the file; the context names it
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "daemon/names.hpp"
#include "daemon/store_lock.hpp"
#include "ktls/pin.hpp"

namespace ttygate::daemon {

enum class Role { control, monitor };

std::string_view to_string(Role role);
std::optional<Role> role_from_string(std::string_view text);

struct Client {
  ktls::Pin pin{};
  std::string name;
  Role role = Role::control;
  std::int64_t added_at = 0;   // seconds since the epoch
  std::int64_t last_seen = 0;  // seconds since the epoch; 0 = never
};

// One limit for reading and writing, so the daemon never writes a store it would refuse to read.
// About 25,000 clients of the longest names.
inline constexpr std::size_t kMaxStoreBytes = 4 << 20;

enum class StoreAccess {
  shared,        // reads and writes under the write lock (tests, --list-clients)
  daemon,        // also claims the store for the daemon's life: a second daemon is refused
  offline_edit,  // holds the write lock for the store's life; refused while a daemon runs
};

class ClientStore {
 public:
  // Loads path; a missing file is an empty store (the file appears with the first add). Errors
  // name the file and the line; the file is not touched.
  static Result<ClientStore> open(std::filesystem::path path, StoreAccess access = StoreAccess::shared);

  const std::vector<Client>& clients() const { return clients_; }
  // Pointers stay valid only until the next change: every change replaces the list.
  const Client* find(const ktls::Pin& pin) const;
  const Client* find_by_name(std::string_view name) const;  // exact, case-sensitive match

  // Each mutator validates first, writes the new file, and only then changes memory: a failed
  // write leaves both the file and the store as they were.
  // A change that changes nothing (same name, role or time) writes nothing.
  // add: errc::file_exists for a known pin or a name already in use.
  // remove, rename, set_role, touch: errc::no_such_file_or_directory for an unknown pin.
  // rename: errc::file_exists when another client has the name.
  // touch writes the file too: callers decide how often last_seen is worth a flash write.
  Result<void> add(Client client);
  Result<void> remove(const ktls::Pin& pin);
  Result<void> rename(const ktls::Pin& pin, std::string name);
  Result<void> set_role(const ktls::Pin& pin, Role role);
  Result<void> touch(const ktls::Pin& pin, std::int64_t now);
  // last_seen in memory only, for the hot path (every connection): no write, no fsync in the
  // event loop. flush() persists the marks; so does any other change, which writes everything.
  void mark_seen(const ktls::Pin& pin, std::int64_t now);
  Result<void> flush();
  bool unsaved() const { return unsaved_; }

  const std::filesystem::path& path() const { return path_; }

 private:
  ClientStore(std::filesystem::path path, StoreLock lock) : path_(std::move(path)), lock_(std::move(lock)) {}
  Result<void> load(StoreAccess access);
  // Writes next as the whole file, then (only on success) makes it the store's content.
  Result<void> commit(std::vector<Client> next);
  Client* find_mutable(const ktls::Pin& pin);

  std::filesystem::path path_;
  StoreLock lock_;
  std::vector<Client> clients_;
  bool unsaved_ = false;  // marks from mark_seen() not yet on disk
};

}  // namespace ttygate::daemon
