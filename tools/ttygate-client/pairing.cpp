// The client's half of pairing. See pairing.hpp.
#include "tools/ttygate-client/pairing.hpp"

#include <openssl/x509.h>
#include <poll.h>

#include <cstdio>
#include <cstring>

#include "common/openssl.hpp"

namespace ttygate::client {
namespace {

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
