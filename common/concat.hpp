// SPDX-License-Identifier: Apache-2.0
// concat(): one std::string from pieces, sized once (reserve, then append each piece).
//
// Why not operator+: GCC 12 at -O2 and above reports a false -Wrestrict ("__builtin_memcpy
// accessing 9223372036854775810 or more bytes ... may overlap", GCC bugs 105329 and 105651) on
// chains that begin with a literal followed by a temporary, such as
// `"." + name.string() + ".tmp"`: libstdc++ inserts the literal at the front of the temporary and
// the optimiser loses track of the sizes. Release builds (Yocto's default) and Debian's hardening
// flags hit it. Building the result in one buffer avoids the pattern and the reallocations.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>

namespace ttygate {

inline std::string concat(std::initializer_list<std::string_view> parts) {
  std::size_t size = 0;
  for (std::string_view part : parts) size += part.size();
  std::string joined;
  joined.reserve(size);
  for (std::string_view part : parts) joined.append(part);
  return joined;
}

}  // namespace ttygate
