// SPDX-License-Identifier: Apache-2.0
#include "daemon/journal.hpp"

#include <sys/stat.h>
#include <sys/uio.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include <charconv>
#include <cstdio>
#include <cstdlib>

namespace ttygate::daemon::journal {

namespace {

template <class T>
bool parse_number(std::string_view text, T& out) {
  unsigned long long value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || text.empty()) return false;
  out = static_cast<T>(value);
  return out == value;
}

// Should the journal refuse a line (it is gone, or full), the line still reaches it as stderr
// text, with its priority prefix: only the fields are lost.
void send(log::Level level, std::string_view line, std::span<const log::Field> fields) {
  std::vector<std::string> parts = entry(level, line, fields);
  std::vector<iovec> iov;
  iov.reserve(parts.size());
  for (std::string& part : parts) iov.push_back({part.data(), part.size()});
  if (sd_journal_sendv(iov.data(), static_cast<int>(iov.size())) < 0)
    std::fprintf(stderr, "<%d>%.*s\n", static_cast<int>(level), static_cast<int>(line.size()), line.data());
}

}  // namespace

bool stream_matches(const char* journal_stream, dev_t dev, ino_t ino) {
  if (!journal_stream) return false;
  std::string_view text(journal_stream);
  auto colon = text.find(':');
  if (colon == std::string_view::npos) return false;
  dev_t want_dev = 0;
  ino_t want_ino = 0;
  return parse_number(text.substr(0, colon), want_dev) && parse_number(text.substr(colon + 1), want_ino) &&
         want_dev == dev && want_ino == ino;
}

std::vector<std::string> entry(log::Level level, std::string_view line, std::span<const log::Field> fields) {
  std::vector<std::string> parts;
  parts.reserve(3 + fields.size());
  parts.push_back("MESSAGE=" + std::string(line));
  parts.push_back("PRIORITY=" + std::to_string(static_cast<int>(level)));
  parts.push_back("SYSLOG_IDENTIFIER=ttygated");
  for (const log::Field& field : fields)
    if (!field.value.empty()) parts.push_back(std::string(field.name) + "=" + field.value);
  return parts;
}

bool use_journal_if_connected() {
  struct stat st {};
  if (fstat(STDERR_FILENO, &st) < 0) return false;
  if (!stream_matches(std::getenv("JOURNAL_STREAM"), st.st_dev, st.st_ino)) return false;
  log::sink() = send;
  return true;
}

}  // namespace ttygate::daemon::journal
