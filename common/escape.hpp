// SPDX-License-Identifier: Apache-2.0
// Escape: text from outside (a file, a D-Bus argument, a line from the network) as it may appear
// in a one-line message or log entry. A hostile or binary value can neither break the line, nor
// fake a second one, nor flood the log.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace ttygate {

inline constexpr std::size_t kMaxShown = 80;

// `text` in double quotes: '"' and '\' escaped with a backslash, every byte outside printable
// ASCII (0x20..0x7e) written as \xNN, and anything past kMaxShown bytes replaced by "...":
//   shown("a\tb\"c")  ->  "a\x09b\"c"   (with the quotes)
// Not called quoted(): for a std::string argument, argument-dependent lookup would pick
// std::quoted (an I/O manipulator) over it.
std::string shown(std::string_view text);

inline constexpr std::size_t kMaxLine = 400;

// A message made of foreign text (a parser's error, a D-Bus error from the daemon) as one line:
// every byte outside printable ASCII (newlines and ESC included) written as \xNN, and anything
// past max bytes of input replaced by "...". No quotes are added and '\' is kept as it is.
//   one_line("bad\n  ^ here")  ->  bad\x0a  ^ here
std::string one_line(std::string_view text, std::size_t max = kMaxLine);

}  // namespace ttygate
