// SPDX-License-Identifier: Apache-2.0
// The paired clients on disk. See client_store.hpp for the contract and the file format.
//
// Parsing is strict on purpose: the file is only ever written by this code, so anything it would
// not have written means damage or tampering, and guessing could pair a client nobody approved
// or forget one that was. The daemon then refuses to start and the file stays as it was.
#include "daemon/client_store.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <map>
#include <unordered_map>

#include "common/escape.hpp"
#include "common/files.hpp"

namespace ttygate::daemon {
namespace {

constexpr std::string_view header_line = "# ttygate clients v1";
constexpr std::string_view header_prefix = "# ttygate clients v";
constexpr mode_t file_mode = 0600;

Error error(std::errc code, std::string context) { return Error(std::make_error_code(code), std::move(context)); }

// Non-negative decimal with no sign and no leading zeros: the only form this code writes.
std::optional<std::int64_t> parse_seconds(std::string_view text) {
  if (text.empty() || (text.size() > 1 && text[0] == '0')) return std::nullopt;
  if (!std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) return std::nullopt;
  std::int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// Takes the text up to the next space off the front of rest.
std::optional<std::string_view> next_field(std::string_view& rest) {
  std::size_t space = rest.find(' ');
  if (space == std::string_view::npos) return std::nullopt;
  std::string_view field = rest.substr(0, space);
  rest.remove_prefix(space + 1);
  return field;
}

// One client line; the error context is the problem alone, the caller adds file and line.
Result<Client> parse_client(std::string_view line) {
  std::string_view rest = line;
  auto pin_text = next_field(rest);
  auto role_text = pin_text ? next_field(rest) : std::nullopt;
  auto added_text = role_text ? next_field(rest) : std::nullopt;
  auto seen_text = added_text ? next_field(rest) : std::nullopt;
  if (!seen_text) return error(std::errc::invalid_argument, "expected \"<pin> <role> <added_at> <last_seen> <name>\"");

  Client client;
  auto pin = ktls::pin_from_hex(*pin_text);
  if (!pin || ktls::pin_hex(*pin) != *pin_text) {
    return error(std::errc::invalid_argument, "pin " + shown(*pin_text) + " is not 64 lowercase hex digits");
  }
  client.pin = *pin;
  auto role = role_from_string(*role_text);
  if (!role) return error(std::errc::invalid_argument, "unknown role " + shown(*role_text) + " (expected control or monitor)");
  client.role = *role;
  auto added = parse_seconds(*added_text);
  if (!added) return error(std::errc::invalid_argument, "added_at " + shown(*added_text) + " is not a number of seconds");
  client.added_at = *added;
  auto seen = parse_seconds(*seen_text);
  if (!seen) return error(std::errc::invalid_argument, "last_seen " + shown(*seen_text) + " is not a number of seconds");
  client.last_seen = *seen;
  if (auto named = check_name(rest); !named) return named.error();
  client.name = std::string(rest);
  return client;
}

Error at_line(const std::filesystem::path& path, std::size_t line, const Error& problem) {
  return Error(problem.code(), path.string() + ":" + std::to_string(line) + ": " + problem.context());
}

Result<void> check_header(std::string_view first) {
  if (first == header_line) return success();
  if (first.starts_with(header_prefix)) {
    return error(std::errc::invalid_argument, "unsupported format " + shown(first) + " (this ttygate reads v1)");
  }
  return error(std::errc::invalid_argument, "missing header \"" + std::string(header_line) + "\"");
}

// The lines seen so far, by pin and by name, so a file near the size limit (~25,000 clients)
// loads in linear time rather than comparing every pair.
struct SeenLines {
  std::map<ktls::Pin, std::size_t> pins;
  std::unordered_map<std::string, std::size_t> names;
};

// Refuses a pin or a name that an earlier line already has.
Result<void> check_unique(SeenLines& seen, const Client& client, std::size_t line) {
  if (auto [at, fresh] = seen.pins.emplace(client.pin, line); !fresh) {
    return error(std::errc::file_exists, "pin already listed on line " + std::to_string(at->second));
  }
  if (auto [at, fresh] = seen.names.emplace(client.name, line); !fresh) {
    return error(std::errc::file_exists,
                 "name " + shown(client.name) + " already used on line " + std::to_string(at->second));
  }
  return success();
}

Result<std::vector<Client>> parse_file(const std::filesystem::path& path, std::string_view text) {
  if (!text.empty() && text.back() != '\n') {
    std::size_t last = static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')) + 1;
    return at_line(path, last, Error(std::make_error_code(std::errc::invalid_argument),
                                     "last line does not end with a newline (truncated file?)"));
  }
  std::vector<Client> clients;
  SeenLines seen;
  std::size_t number = 0;
  for (std::string_view rest = text; !rest.empty() || number == 0;) {
    std::size_t newline = rest.find('\n');
    std::string_view line = rest.substr(0, newline);
    rest.remove_prefix(newline == std::string_view::npos ? rest.size() : newline + 1);
    ++number;
    if (number == 1) {
      if (auto header = check_header(line); !header) return at_line(path, number, header.error());
      continue;
    }
    if (line.empty()) return at_line(path, number, error(std::errc::invalid_argument, "empty line"));
    auto client = parse_client(line);
    if (!client) return at_line(path, number, client.error());
    if (auto unique = check_unique(seen, *client, number); !unique) return at_line(path, number, unique.error());
    clients.push_back(std::move(*client));
  }
  return clients;
}

std::string format_file(const std::vector<Client>& clients) {
  std::string text(header_line);
  text += '\n';
  for (const Client& client : clients) {
    text += ktls::pin_hex(client.pin);
    text += ' ';
    text += to_string(client.role);
    text += ' ' + std::to_string(client.added_at) + ' ' + std::to_string(client.last_seen) + ' ';
    text += client.name;
    text += '\n';
  }
  return text;
}

Error unknown_client(const ktls::Pin& pin) {
  return error(std::errc::no_such_file_or_directory, "no paired client with pin " + ktls::fingerprint(pin));
}

}  // namespace

std::string_view to_string(Role role) {
  switch (role) {
    case Role::control: return "control";
    case Role::monitor: return "monitor";
  }
  return "control";
}

std::optional<Role> role_from_string(std::string_view text) {
  if (text == "control") return Role::control;
  if (text == "monitor") return Role::monitor;
  return std::nullopt;
}

Result<ClientStore> ClientStore::open(std::filesystem::path path, StoreAccess access) {
  auto lock = StoreLock::open(path);
  if (!lock) return lock.error();
  ClientStore store(std::move(path), std::move(*lock));
  if (auto loaded = store.load(access); !loaded) return loaded.error();
  return store;
}

// Under the write lock: no other writer is mid-write, so temp files are leftovers of a crash.
Result<void> ClientStore::load(StoreAccess access) {
  if (access == StoreAccess::daemon) {
    if (auto claimed = lock_.claim_daemon(); !claimed) return claimed;
  }
  if (auto locked = access == StoreAccess::offline_edit ? lock_.hold() : lock_.lock(); !locked) return locked;
  StoreWriteGuard guard(lock_);
  if (access == StoreAccess::offline_edit) {
    if (auto alone = lock_.refuse_if_daemon_runs(); !alone) return alone;
  }
  if (auto cleaned = remove_stale_temp_files(path_); !cleaned) return cleaned.error();
  auto contents = read_file(path_, kMaxStoreBytes, Links::refuse);
  if (!contents) {
    if (contents.error().code() == std::errc::no_such_file_or_directory) return success();
    return contents.error();
  }
  if (contents->mode & 022) {
    char mode[16];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(contents->mode & 07777));
    return error(std::errc::permission_denied,
                 path_.string() + ": mode " + mode + " lets others add clients; fix with: chmod 600 " + path_.string());
  }
  auto clients = parse_file(path_, contents->bytes);
  if (!clients) return clients.error();
  clients_ = std::move(*clients);
  return success();
}

const Client* ClientStore::find(const ktls::Pin& pin) const {
  auto it = std::find_if(clients_.begin(), clients_.end(), [&](const Client& c) { return c.pin == pin; });
  return it == clients_.end() ? nullptr : &*it;
}

const Client* ClientStore::find_by_name(std::string_view name) const {
  auto it = std::find_if(clients_.begin(), clients_.end(), [&](const Client& c) { return c.name == name; });
  return it == clients_.end() ? nullptr : &*it;
}

Client* ClientStore::find_mutable(const ktls::Pin& pin) { return const_cast<Client*>(find(pin)); }

Result<void> ClientStore::commit(std::vector<Client> next) {
  const std::string text = format_file(next);
  if (text.size() > kMaxStoreBytes) {
    return error(std::errc::file_too_large, path_.string() + ": the store would grow to " + std::to_string(text.size()) +
                                                " bytes, past its limit of " + std::to_string(kMaxStoreBytes) +
                                                "; remove clients first");
  }
  if (auto locked = lock_.lock(); !locked) return locked;
  StoreWriteGuard guard(lock_);
  if (auto saved = write_file_atomically(path_, text, file_mode); !saved) return saved;
  clients_ = std::move(next);
  unsaved_ = false;  // the file now holds every mark too
  return success();
}

Result<void> ClientStore::add(Client client) {
  if (auto named = check_name(client.name); !named) return named;
  if (client.added_at < 0 || client.last_seen < 0) {
    return error(std::errc::invalid_argument, "timestamps must not be negative");
  }
  if (find(client.pin)) {
    return error(std::errc::file_exists, "a client with pin " + ktls::fingerprint(client.pin) + " is already paired");
  }
  if (const Client* other = find_by_name(client.name)) {
    return error(std::errc::file_exists,
                 "name " + shown(client.name) + " is already used by client " + ktls::fingerprint(other->pin));
  }
  std::vector<Client> next = clients_;
  next.push_back(std::move(client));
  return commit(std::move(next));
}

Result<void> ClientStore::remove(const ktls::Pin& pin) {
  if (!find(pin)) return unknown_client(pin);
  std::vector<Client> next;
  std::copy_if(clients_.begin(), clients_.end(), std::back_inserter(next),
               [&](const Client& c) { return c.pin != pin; });
  return commit(std::move(next));
}

Result<void> ClientStore::rename(const ktls::Pin& pin, std::string name) {
  if (auto named = check_name(name); !named) return named;
  Client* client = find_mutable(pin);
  if (!client) return unknown_client(pin);
  if (client->name == name) return success();
  if (const Client* other = find_by_name(name)) {
    return error(std::errc::file_exists,
                 "name " + shown(name) + " is already used by client " + ktls::fingerprint(other->pin));
  }
  std::vector<Client> next = clients_;
  next[static_cast<std::size_t>(client - clients_.data())].name = name;
  return commit(std::move(next));
}

Result<void> ClientStore::set_role(const ktls::Pin& pin, Role role) {
  Client* client = find_mutable(pin);
  if (!client) return unknown_client(pin);
  if (client->role == role) return success();
  std::vector<Client> next = clients_;
  next[static_cast<std::size_t>(client - clients_.data())].role = role;
  return commit(std::move(next));
}

void ClientStore::mark_seen(const ktls::Pin& pin, std::int64_t now) {
  Client* client = find_mutable(pin);
  if (!client || now < 0 || client->last_seen == now) return;
  client->last_seen = now;
  unsaved_ = true;
}

Result<void> ClientStore::flush() {
  if (!unsaved_) return success();
  return commit(clients_);
}

Result<void> ClientStore::touch(const ktls::Pin& pin, std::int64_t now) {
  if (now < 0) return error(std::errc::invalid_argument, "timestamps must not be negative");
  Client* client = find_mutable(pin);
  if (!client) return unknown_client(pin);
  if (client->last_seen == now) return success();
  std::vector<Client> next = clients_;
  next[static_cast<std::size_t>(client - clients_.data())].last_seen = now;
  return commit(std::move(next));
}

}  // namespace ttygate::daemon
