// SPDX-License-Identifier: Apache-2.0
#include "dbus/paths.hpp"

#include <charconv>

#include "daemon/refusal.hpp"

namespace ttygate::dbus {
namespace {

std::optional<std::string_view> leaf_under(std::string_view path, std::string_view prefix) {
  if (path.size() <= prefix.size() + 1 || path.substr(0, prefix.size()) != prefix || path[prefix.size()] != '/')
    return std::nullopt;
  return path.substr(prefix.size() + 1);
}

}  // namespace

std::string client_path(const ktls::Pin& pin) { return std::string(kClientPrefix) + "/" + ktls::pin_hex(pin); }

std::optional<ktls::Pin> pin_from_client_path(std::string_view path) {
  auto leaf = leaf_under(path, kClientPrefix);
  // Only the spelling client_path() makes: one object, one path (pin_from_hex also takes
  // upper case, as people type fingerprints).
  if (!leaf || leaf->size() != 64 ||
      leaf->find_first_not_of("0123456789abcdef") != std::string_view::npos)
    return std::nullopt;
  return ktls::pin_from_hex(*leaf);
}

std::string session_path(std::uint64_t id) { return std::string(kSessionPrefix) + "/" + std::to_string(id); }

std::optional<std::uint64_t> session_id_from_path(std::string_view path) {
  auto leaf = leaf_under(path, kSessionPrefix);
  if (!leaf || leaf->empty() || (*leaf)[0] == '0') return std::nullopt;
  std::uint64_t id = 0;
  auto [end, ec] = std::from_chars(leaf->data(), leaf->data() + leaf->size(), id);
  if (ec != std::errc() || end != leaf->data() + leaf->size()) return std::nullopt;
  return id;
}

const char* error_name(const std::error_code& code) {
  using daemon::Refusal;
  if (code.category() == daemon::refusal_category()) {
    switch (static_cast<Refusal>(code.value())) {
      case Refusal::invalid_args: return "org.ttygate.Error.InvalidArgs";
      case Refusal::not_found: return "org.ttygate.Error.NotFound";
      case Refusal::already_exists: return "org.ttygate.Error.AlreadyExists";
      case Refusal::busy: return "org.ttygate.Error.Busy";
      case Refusal::not_active: return "org.ttygate.Error.NotActive";
      case Refusal::not_supported: return "org.ttygate.Error.NotSupported";
      case Refusal::wrong_code: return "org.ttygate.Error.WrongCode";
      case Refusal::failed: break;
    }
    return "org.ttygate.Error.Failed";
  }
  if (code == std::errc::invalid_argument) return "org.ttygate.Error.InvalidArgs";
  if (code == std::errc::file_exists) return "org.ttygate.Error.AlreadyExists";
  if (code == std::errc::no_such_file_or_directory) return "org.ttygate.Error.NotFound";
  return "org.ttygate.Error.Failed";
}

}  // namespace ttygate::dbus
