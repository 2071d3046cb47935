#include "daemon/provisioning.hpp"

#include <ctime>
#include <fstream>
#include <iomanip>
#include <sstream>

namespace ttygate::daemon {
namespace {

std::string format_time(std::int64_t t) {
  if (t == 0) return "never";
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  std::ostringstream s;
  s << std::put_time(&tm, "%Y-%m-%dT%H:%M:%SZ");
  return s.str();
}

}  // namespace

ktls::IdentityFiles gateway_identity_files(const Config& config) {
  return ktls::identity_files(config.gateway.state_dir, "gateway");
}

std::filesystem::path client_store_path(const Config& config) { return config.gateway.state_dir / "clients"; }

Result<void> prepare_state_dir(const Config& config) {
  const auto& dir = config.gateway.state_dir;
  std::error_code ec;
  if (std::filesystem::is_directory(dir, ec)) return success();
  if (!std::filesystem::create_directories(dir, ec) && ec) return Error(ec, "creating " + dir.string());
  std::filesystem::permissions(dir, std::filesystem::perms::owner_all, ec);
  if (ec) return Error(ec, "setting the mode of " + dir.string());
  return success();
}

Result<ktls::Identity> load_gateway_identity(const Config& config) {
  return ktls::load_or_create_identity(gateway_identity_files(config), config.gateway.name);
}

Result<Client> add_client_from_file(ClientStore& store, const std::filesystem::path& cert, const std::string& name,
                                    const std::string& role) {
  auto parsed_role = role_from_string(role);
  if (!parsed_role)
    return Error(std::make_error_code(std::errc::invalid_argument),
                 "role \"" + role + "\" (expected control or monitor)");
  if (!valid_name(name))
    return Error(std::make_error_code(std::errc::invalid_argument),
                 "name \"" + name + "\" (1 to 64 printable characters)");
  std::ifstream in(cert);
  if (!in) return errno_error("reading " + cert.string());
  std::stringstream text;
  text << in.rdbuf();
  auto x509 = ktls::parse_certificate_pem(text.str());
  if (!x509) return Error(x509.error().code(), cert.string() + ": " + x509.error().context());
  auto pin = ktls::pin_of(x509->get());
  if (!pin) return Error(pin.error().code(), cert.string() + ": " + pin.error().context());
  Client client{*pin, name, *parsed_role, static_cast<std::int64_t>(std::time(nullptr)), 0};
  if (auto added = store.add(client); !added) return added.error();
  return client;
}

void print_clients(const ClientStore& store, std::ostream& out) {
  out << std::left << std::setw(20) << "NAME" << std::setw(9) << "ROLE" << std::setw(22) << "ADDED" << std::setw(22)
      << "LAST SEEN" << "FINGERPRINT\n";
  for (const Client& c : store.clients())
    out << std::setw(20) << c.name << std::setw(9) << to_string(c.role) << std::setw(22) << format_time(c.added_at)
        << std::setw(22) << format_time(c.last_seen) << ktls::fingerprint(c.pin) << "\n";
}

}  // namespace ttygate::daemon
