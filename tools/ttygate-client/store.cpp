// SPDX-License-Identifier: Apache-2.0
// The known-gateways file. See store.hpp for the format and the contract.
//
// Strict on purpose: a pin is the only thing standing between the client and an impostor, so a
// line this code would not have written is damage or tampering, never something to guess at.
#include "tools/ttygate-client/store.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>

#include "common/concat.hpp"
#include "common/files.hpp"

namespace ttygate::client {
namespace {

constexpr std::string_view kHeader = "# ttygate gateways v1";
constexpr std::size_t kMaxName = 64;
constexpr std::size_t kMaxHost = 253;
constexpr std::size_t kMaxFileSize = 1 << 20;

Error invalid(std::string context) { return Error(std::make_error_code(std::errc::invalid_argument), std::move(context)); }

bool host_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
         c == '_' || c == ':' || c == '%';
}

bool name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
         c == '_';
}

// Decimal 1..65535, no sign, no leading zeros.
std::optional<std::uint16_t> parse_port(std::string_view text) {
  if (text.empty() || text[0] == '0' || text.size() > 5) return std::nullopt;
  unsigned value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value > 65535) return std::nullopt;
  return static_cast<std::uint16_t>(value);
}

Result<Endpoint> make_endpoint(std::string_view host, std::optional<std::string_view> port, std::string_view text) {
  if (host.empty() || host.size() > kMaxHost || !std::all_of(host.begin(), host.end(), host_char))
    return invalid(concat({"\"", text, "\": expected HOST or HOST:PORT"}));
  Endpoint endpoint{std::string(host), kDefaultPort};
  if (port) {
    auto number = parse_port(*port);
    if (!number) return invalid(concat({"\"", text, "\": port must be a number in 1..65535"}));
    endpoint.port = *number;
  }
  return endpoint;
}

Result<KnownGateway> parse_line(std::string_view line) {
  std::vector<std::string_view> fields;
  for (std::size_t start = 0; start <= line.size();) {
    std::size_t space = std::min(line.find(' ', start), line.size());
    fields.push_back(line.substr(start, space - start));
    start = space + 1;
  }
  if (fields.size() != 3) return invalid("expected NAME HOST:PORT PIN-HEX separated by single spaces");
  KnownGateway gateway;
  if (!valid_gateway_name(fields[0])) return invalid("invalid gateway name");
  gateway.name = std::string(fields[0]);
  auto endpoint = parse_endpoint(fields[1]);
  if (!endpoint || fields[1] != endpoint->text()) return invalid("invalid HOST:PORT");
  gateway.endpoint = *endpoint;
  auto pin = ktls::pin_from_hex(fields[2]);
  if (!pin || fields[2] != ktls::pin_hex(*pin)) return invalid("pin is not 64 lowercase hex digits");
  gateway.pin = *pin;
  return gateway;
}

Result<std::vector<KnownGateway>> parse(const std::filesystem::path& path, std::string_view text) {
  std::vector<KnownGateway> gateways;
  auto where = [&](std::size_t line) { return path.string() + ":" + std::to_string(line) + ": "; };
  if (!text.empty() && text.back() != '\n') return invalid(path.string() + ": the last line is incomplete");
  std::size_t number = 0;
  for (std::size_t start = 0; start < text.size();) {
    std::size_t end = text.find('\n', start);
    std::string_view line = text.substr(start, end - start);
    start = end + 1;
    ++number;
    if (number == 1) {
      if (line != kHeader) return invalid(where(1) + "expected the header \"" + std::string(kHeader) + "\"");
      continue;
    }
    auto gateway = parse_line(line);
    if (!gateway) return invalid(where(number) + gateway.error().context());
    for (const auto& known : gateways)
      if (known.name == gateway->name) return invalid(where(number) + "gateway name " + known.name + " appears twice");
    gateways.push_back(std::move(*gateway));
  }
  return gateways;
}

}  // namespace

std::string Endpoint::text() const {
  bool v6 = host.find(':') != std::string::npos;
  return v6 ? concat({"[", host, "]:", std::to_string(port)}) : concat({host, ":", std::to_string(port)});
}

Result<Endpoint> parse_endpoint(std::string_view text) {
  if (text.starts_with('[')) {
    std::size_t close = text.find(']');
    if (close == std::string_view::npos) return invalid(concat({"\"", text, "\": missing ']'"}));
    std::string_view rest = text.substr(close + 1);
    if (!rest.empty() && !rest.starts_with(':')) return invalid(concat({"\"", text, "\": expected ':' after ']'"}));
    return make_endpoint(text.substr(1, close - 1),
                         rest.empty() ? std::nullopt : std::optional(rest.substr(1)), text);
  }
  std::size_t colon = text.find(':');
  if (colon == std::string_view::npos || text.find(':', colon + 1) != std::string_view::npos)
    return make_endpoint(text, std::nullopt, text);  // a name, or a bare IPv6 address
  return make_endpoint(text.substr(0, colon), text.substr(colon + 1), text);
}

bool valid_gateway_name(std::string_view name) {
  return !name.empty() && name.size() <= kMaxName && name[0] != '-' && name[0] != '.' &&
         std::all_of(name.begin(), name.end(), name_char);
}

std::string sanitise_gateway_name(std::string_view raw) {
  std::string name;
  for (char c : raw.substr(0, kMaxName)) name += name_char(c) ? c : '-';
  while (!name.empty() && (name[0] == '-' || name[0] == '.')) name.erase(0, 1);
  return name.empty() ? "gateway" : name;
}

Result<GatewayStore> GatewayStore::open(std::filesystem::path path) {
  GatewayStore store(std::move(path));
  auto contents = read_file(store.path_, kMaxFileSize);
  if (!contents) {
    if (contents.error().code() == std::errc::no_such_file_or_directory) return store;
    return contents.error();
  }
  auto gateways = parse(store.path_, contents->bytes);
  if (!gateways) return gateways.error();
  store.gateways_ = std::move(*gateways);
  return store;
}

const KnownGateway* GatewayStore::find(std::string_view name) const {
  auto it = std::find_if(gateways_.begin(), gateways_.end(), [&](const auto& g) { return g.name == name; });
  return it == gateways_.end() ? nullptr : &*it;
}

const KnownGateway* GatewayStore::find(const Endpoint& endpoint) const {
  auto it = std::find_if(gateways_.begin(), gateways_.end(), [&](const auto& g) { return g.endpoint == endpoint; });
  return it == gateways_.end() ? nullptr : &*it;
}

Result<void> GatewayStore::put(const KnownGateway& gateway) {
  if (!valid_gateway_name(gateway.name)) return invalid("invalid gateway name \"" + gateway.name + "\"");
  std::vector<KnownGateway> next = gateways_;
  auto it = std::find_if(next.begin(), next.end(), [&](const auto& g) { return g.name == gateway.name; });
  if (it != next.end())
    *it = gateway;
  else
    next.push_back(gateway);
  return save(std::move(next));
}

Result<bool> GatewayStore::forget(std::string_view name) {
  std::vector<KnownGateway> next = gateways_;
  auto removed = std::erase_if(next, [&](const auto& g) { return g.name == name; });
  if (removed == 0) return false;
  if (auto saved = save(std::move(next)); !saved) return saved.error();
  return true;
}

Result<void> GatewayStore::save(std::vector<KnownGateway> next) {
  std::string text = std::string(kHeader) + "\n";
  for (const auto& g : next) text += g.name + " " + g.endpoint.text() + " " + ktls::pin_hex(g.pin) + "\n";
  if (auto dir = make_private_directory(path_.parent_path()); !dir) return dir.error();
  if (auto written = write_file_atomically(path_, text, 0600); !written) return written.error();
  gateways_ = std::move(next);
  return success();
}

}  // namespace ttygate::client
