// Logging: one line per event on stderr. Under systemd (JOURNAL_STREAM set) each line carries a
// syslog priority prefix so the journal files it at the right level. Library code doesn't log;
// the daemon's top layers (gateway, session, main) do, once per failure.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace ttygate::log {

enum class Level { error = 3, warning = 4, notice = 5, info = 6, debug = 7 };

inline Level& threshold() {
  static Level level = std::getenv("TTYGATE_DEBUG") ? Level::debug : Level::info;
  return level;
}

inline void write(Level level, std::string_view line) {
  if (static_cast<int>(level) > static_cast<int>(threshold())) return;
  static const bool journal = std::getenv("JOURNAL_STREAM") != nullptr;
  if (journal)
    std::fprintf(stderr, "<%d>%.*s\n", static_cast<int>(level), static_cast<int>(line.size()), line.data());
  else
    std::fprintf(stderr, "ttygated: %.*s\n", static_cast<int>(line.size()), line.data());
}

inline void error(std::string_view line) { write(Level::error, line); }
inline void warning(std::string_view line) { write(Level::warning, line); }
inline void notice(std::string_view line) { write(Level::notice, line); }
inline void info(std::string_view line) { write(Level::info, line); }
inline void debug(std::string_view line) { write(Level::debug, line); }

}  // namespace ttygate::log
