// ClientStore: the paired clients, persisted in the state directory.
//
// A client is its pin plus what people and policy need: a name, a role, when it was added and
// when it was last seen. The file is replaced atomically on every change. A file that fails to
// parse is refused with the line and the problem, and is never overwritten: the store then stays
// unloaded and the daemon refuses to start rather than forget its clients.
// Not thread-safe: owned by the gateway, used from the event loop only.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
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

// Names are 1..64 characters of printable ASCII other than control characters; anything else
// (from a certificate CN, say) is replaced by '_' and truncated. An empty result becomes "client".
std::string sanitize_name(std::string_view raw);
// True when a name given by a person is acceptable as is (no sanitising needed).
bool valid_name(std::string_view name);

class ClientStore {
 public:
  // Loads path; a missing file is an empty store. Errors name the file and the line.
  static Result<ClientStore> open(std::filesystem::path path);

  const std::vector<Client>& clients() const { return clients_; }
  const Client* find(const ktls::Pin& pin) const;
  const Client* find_by_name(std::string_view name) const;

  // Each mutator validates first, writes the new file, and only then changes memory: a failed
  // write leaves both the file and the store as they were.
  // add: fails with errc::file_exists for a known pin or a name already in use.
  Result<void> add(Client client);
  Result<void> remove(const ktls::Pin& pin);
  Result<void> rename(const ktls::Pin& pin, std::string name);
  Result<void> set_role(const ktls::Pin& pin, Role role);
  Result<void> touch(const ktls::Pin& pin, std::int64_t now);

  const std::filesystem::path& path() const { return path_; }

 private:
  explicit ClientStore(std::filesystem::path path) : path_(std::move(path)) {}
  Result<void> save(const std::vector<Client>& clients) const;
  Client* find_mutable(const ktls::Pin& pin);

  std::filesystem::path path_;
  std::vector<Client> clients_;
};

}  // namespace ttygate::daemon
