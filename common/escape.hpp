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

}  // namespace ttygate
