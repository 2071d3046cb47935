// SPDX-License-Identifier: Apache-2.0
// Refusal: why the gateway turned down a management request (D-Bus method, property write,
// button). One error category, so the D-Bus layer maps each kind to one org.ttygate.Error.* name
// in one place. The Error's context says what exactly was wrong, for people.
//
// The client store's own codes (std::errc::invalid_argument, file_exists,
// no_such_file_or_directory) pass through unchanged; the D-Bus layer maps those too.
#pragma once

#include <string>
#include <system_error>

#include "common/result.hpp"

namespace ttygate::daemon {

enum class Refusal {
  invalid_args = 1,  // an argument is malformed (PEM, name, role, code, seconds)
  not_found,         // no such client or session
  already_exists,    // a pin or name already in the store
  busy,              // a pairing window is already open
  not_active,        // no pairing window, or no candidate to confirm
  not_supported,     // e.g. ConfirmPairing while confirmation is by button
  wrong_code,        // the code did not match: pairing aborted
  failed,            // anything else (a write to the state directory failed, ...)
};

const std::error_category& refusal_category();

inline std::error_code make_error_code(Refusal r) { return {static_cast<int>(r), refusal_category()}; }

inline Error refusal(Refusal r, std::string context) { return Error(make_error_code(r), std::move(context)); }

}  // namespace ttygate::daemon

template <>
struct std::is_error_code_enum<ttygate::daemon::Refusal> : std::true_type {};
