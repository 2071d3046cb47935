// SPDX-License-Identifier: Apache-2.0
// Logging: one line per event. Library code doesn't log; the daemon's top layers (gateway,
// session, main) do, once per failure.
//
// A line may carry structured fields (port, client, peer, session, MESSAGE_ID): built here with
// the small helpers below, so a call site stays one line:
//   log::notice("Removed client ...", {log::client(fingerprint), log::message_id(log::kClientRemoved)});
// Where they go is the sink's business. By default a line goes to stderr as "ttygated: LINE"
// and the fields are dropped (they repeat what the line says); under journald ttygated installs
// the native sink (daemon/journal.hpp), which sends them as journal fields. Single-threaded.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>

namespace ttygate::log {

enum class Level { error = 3, warning = 4, notice = 5, info = 6, debug = 7 };

// One journal field. Names are the constants below (upper case, fixed); values are free text.
struct Field {
  std::string_view name;
  std::string value;
};
using Fields = std::initializer_list<Field>;

// The MESSAGE_IDs of the events an administrator may want to find or alert on, e.g.
// `journalctl MESSAGE_ID=6e8c0b2cb5b44bad812a193e19c07f63`. Fixed forever: docs/logging.md.
inline constexpr std::string_view kClientPaired = "157b30e75efc4ac5b304d818414b555f";
inline constexpr std::string_view kAuthorisationFailed = "6e8c0b2cb5b44bad812a193e19c07f63";
inline constexpr std::string_view kClientRemoved = "ffa946cb41e54d8ea9e5601986b3c2fa";

inline Field port(std::string_view name) { return {"TTYGATE_PORT", std::string(name)}; }
// A client is named by its key's fingerprint: names change, the key doesn't.
inline Field client(std::string_view fingerprint) { return {"TTYGATE_CLIENT", std::string(fingerprint)}; }
inline Field peer(std::string_view address) { return {"TTYGATE_PEER", std::string(address)}; }
inline Field session(std::uint64_t id) { return {"TTYGATE_SESSION", std::to_string(id)}; }
inline Field message_id(std::string_view id) { return {"MESSAGE_ID", std::string(id)}; }

using Sink = void (*)(Level level, std::string_view line, std::span<const Field> fields);

inline Level& threshold() {
  static Level level = std::getenv("TTYGATE_DEBUG") ? Level::debug : Level::info;
  return level;
}

// nullptr: stderr.
inline Sink& sink() {
  static Sink installed = nullptr;
  return installed;
}

inline void to_stderr(std::string_view line) {
  std::fprintf(stderr, "ttygated: %.*s\n", static_cast<int>(line.size()), line.data());
}

inline void write_fields(Level level, std::string_view line, std::span<const Field> fields) {
  if (static_cast<int>(level) > static_cast<int>(threshold())) return;
  if (Sink installed = sink()) return installed(level, line, fields);
  to_stderr(line);
}

inline void write(Level level, std::string_view line, Fields fields = {}) {
  write_fields(level, line, std::span<const Field>(fields.begin(), fields.size()));
}

inline void error(std::string_view line, Fields fields = {}) { write(Level::error, line, fields); }
inline void warning(std::string_view line, Fields fields = {}) { write(Level::warning, line, fields); }
inline void notice(std::string_view line, Fields fields = {}) { write(Level::notice, line, fields); }
inline void info(std::string_view line, Fields fields = {}) { write(Level::info, line, fields); }
inline void debug(std::string_view line, Fields fields = {}) { write(Level::debug, line, fields); }

}  // namespace ttygate::log
