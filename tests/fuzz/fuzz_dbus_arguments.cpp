// SPDX-License-Identifier: Apache-2.0
// The D-Bus argument validators (dbus/arguments, dbus/paths, names, roles, codes): any string is
// accepted or refused with a bounded, one-line error text, and paths round-trip.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/escape.hpp"
#include "daemon/names.hpp"
#include "daemon/new_client.hpp"
#include "daemon/pairing.hpp"
#include "dbus/arguments.hpp"
#include "dbus/paths.hpp"

namespace {

void check_text(const ttygate::Result<void>& result) {
  if (result.ok()) return;
  const std::string text = ttygate::dbus::error_text(result.error());
  if (text.size() > 4 * ttygate::kMaxLine + 3 || text.find('\n') != std::string::npos) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ttygate;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  check_text(dbus::bounded_argument("name", text, dbus::kMaxNameArgument));
  check_text(dbus::check_add_client_arguments(text, text, text));
  check_text(daemon::check_name(text));
  if (auto role = daemon::role_argument(text); !role.ok()) check_text(role.error());
  (void)daemon::valid_pairing_code(text);
  if (auto pin = dbus::pin_from_client_path(text)) {
    if (dbus::client_path(*pin) != text) std::abort();
  }
  if (auto id = dbus::session_id_from_path(text)) {
    if (dbus::session_path(*id) != text) std::abort();
  }
  return 0;
}
