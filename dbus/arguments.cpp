// SPDX-License-Identifier: Apache-2.0
// Bounding D-Bus arguments. See arguments.hpp.
#include "dbus/arguments.hpp"

#include <string>

#include "common/escape.hpp"
#include "daemon/refusal.hpp"

namespace ttygate::dbus {

Result<void> bounded_argument(std::string_view what, std::string_view value, std::size_t max) {
  if (value.size() <= max) return success();
  return daemon::refusal(daemon::Refusal::invalid_args, std::string(what) + " is " + std::to_string(value.size()) +
                                                            " bytes, more than " + std::to_string(max) + ": " +
                                                            shown(value));
}

Result<void> check_add_client_arguments(std::string_view pem, std::string_view name, std::string_view role) {
  if (auto ok = bounded_argument("certificate", pem, kMaxPemArgument); !ok) return ok;
  if (auto ok = bounded_argument("name", name, kMaxNameArgument); !ok) return ok;
  return bounded_argument("role", role, kMaxRoleArgument);
}

std::string error_text(const Error& refusal) { return one_line(refusal.message()); }

}  // namespace ttygate::dbus
