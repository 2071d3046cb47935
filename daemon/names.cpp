// SPDX-License-Identifier: Apache-2.0
// The name rule. See names.hpp.
#include "daemon/names.hpp"

#include <algorithm>

#include "common/escape.hpp"

namespace ttygate::daemon {
namespace {

constexpr std::size_t kMaxNameLength = 64;

bool printable(char c) { return c >= 0x20 && c <= 0x7e; }

void trim_spaces(std::string& text) {
  text.erase(0, std::min(text.find_first_not_of(' '), text.size()));
  text.erase(text.find_last_not_of(' ') + 1);
}

}  // namespace

std::string_view name_rule() { return "1 to 64 printable ASCII characters without leading or trailing spaces"; }

bool valid_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxNameLength) return false;
  if (name.front() == ' ' || name.back() == ' ') return false;
  return std::all_of(name.begin(), name.end(), printable);
}

Result<void> check_name(std::string_view name) {
  if (valid_name(name)) return success();
  return Error(std::make_error_code(std::errc::invalid_argument),
               "name " + shown(name) + " is not " + std::string(name_rule()));
}

std::string sanitize_name(std::string_view raw) {
  std::string name;
  bool in_multibyte = false;
  for (char c : raw) {
    auto byte = static_cast<unsigned char>(c);
    // A UTF-8 sequence (lead byte and its continuation bytes) becomes one '_', not several.
    bool continuation = (byte & 0xc0) == 0x80;
    if (printable(c)) {
      name += c;
    } else if (!(continuation && in_multibyte)) {
      name += '_';
    }
    in_multibyte = byte >= 0x80;
  }
  trim_spaces(name);
  if (name.size() > kMaxNameLength) name.resize(kMaxNameLength);
  trim_spaces(name);
  return name.empty() ? "client" : name;
}

}  // namespace ttygate::daemon
