// SPDX-License-Identifier: Apache-2.0
#include "daemon/provisioning.hpp"

#include <ctime>
#include <iomanip>
#include <sstream>

#include "common/files.hpp"
#include "daemon/new_client.hpp"

namespace ttygate::daemon {
namespace {

// A certificate is a few hundred bytes to a few KiB; a bigger file is not one.
constexpr std::size_t kMaxCertificateBytes = 1 << 20;

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

Result<ktls::Identity> load_gateway_identity(const Config& config) {
  return ktls::load_or_create_identity(gateway_identity_files(config), config.gateway.name);
}

Result<Client> add_client_from_file(ClientStore& store, const std::filesystem::path& cert, const std::string& name,
                                    const std::string& role) {
  auto pem = read_file(cert, kMaxCertificateBytes);
  if (!pem) return pem.error();
  const std::string source = cert.string();
  return add_new_client(store, {.pem = pem->bytes, .source = source, .name = name, .role = role},
                        static_cast<std::int64_t>(std::time(nullptr)));
}

void print_clients(const ClientStore& store, std::ostream& out) {
  out << std::left << std::setw(20) << "NAME" << std::setw(9) << "ROLE" << std::setw(22) << "ADDED" << std::setw(22)
      << "LAST SEEN" << "FINGERPRINT\n";
  for (const Client& c : store.clients())
    out << std::setw(20) << c.name << std::setw(9) << to_string(c.role) << std::setw(22) << format_time(c.added_at)
        << std::setw(22) << format_time(c.last_seen) << ktls::fingerprint(c.pin) << "\n";
}

}  // namespace ttygate::daemon
