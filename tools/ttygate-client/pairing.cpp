// The client's half of pairing. See pairing.hpp.
#include "tools/ttygate-client/pairing.hpp"

#include <openssl/x509.h>
#include <poll.h>

#include <cstdio>
#include <cstring>

#include "common/openssl.hpp"

namespace ttygate::client {
namespace {

constexpr const char* kExporterLabel = "EXPORTER-ttygate-pairing";
constexpr std::string_view kVerdictPrefix = "TTYGATE PAIRED ";
constexpr std::size_t kMaxVerdictLine = 64;

Error protocol(std::string context) { return Error(std::make_error_code(std::errc::protocol_error), std::move(context)); }

Result<Verdict> parse_verdict(std::string_view line) {
  if (line.starts_with(kVerdictPrefix)) {
    std::string_view role = line.substr(kVerdictPrefix.size());
    if (role == "control" || role == "monitor") return Verdict{Verdict::accepted, std::string(role)};
  }
  std::string shown;
  for (char c : line.substr(0, 40)) shown += (c >= 0x20 && c < 0x7f) ? c : '?';
  return protocol("expected the pairing verdict \"TTYGATE PAIRED <role>\", got \"" + shown +
                  "\" (is this client paired with it already?)");
}

}  // namespace

Result<std::string> pairing_code(SSL* ssl) {
  unsigned char out[4];
  if (SSL_export_keying_material(ssl, out, sizeof out, kExporterLabel, std::strlen(kExporterLabel), nullptr, 0, 0) != 1)
    return openssl_error("deriving the pairing code");
  std::uint32_t value = (std::uint32_t{out[0]} << 24) | (std::uint32_t{out[1]} << 16) | (std::uint32_t{out[2]} << 8) | out[3];
  char code[8];
  std::snprintf(code, sizeof code, "%06u", static_cast<unsigned>(value % 1000000));
  return std::string(code);
}

std::string peer_common_name(SSL* ssl) {
  X509* cert = SSL_get0_peer_certificate(ssl);
  X509_NAME* subject = cert ? X509_get_subject_name(cert) : nullptr;
  char cn[256] = "";
  if (!subject || X509_NAME_get_text_by_NID(subject, NID_commonName, cn, sizeof cn) < 0) return "";
  return cn;
}

Result<Verdict> await_verdict(ktls::Channel& channel, std::chrono::milliseconds timeout, int interrupt_fd) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string line;
  std::byte byte{};
  for (;;) {
    // One byte at a time: whatever follows the line is session data, not ours to eat.
    ktls::IoStatus st = channel.read(std::span(&byte, 1));
    if (st.kind == ktls::IoStatus::closed || st.kind == ktls::IoStatus::failed) return Verdict{};
    if (st.kind == ktls::IoStatus::done) {
      if (byte == std::byte{'\n'}) return parse_verdict(line);
      line += static_cast<char>(byte);
      if (line.size() > kMaxVerdictLine) return parse_verdict(line);
      continue;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return Error(std::make_error_code(std::errc::timed_out), "no pairing verdict in time");
    pollfd fds[2] = {{channel.fd(), st.events, 0}, {interrupt_fd, POLLIN, 0}};
    if (::poll(fds, 2, static_cast<int>(left.count())) < 0 && errno != EINTR) return errno_error("poll");
    if (fds[1].revents) return Error(std::make_error_code(std::errc::operation_canceled), "interrupted");
  }
}

}  // namespace ttygate::client
