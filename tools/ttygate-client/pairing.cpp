// SPDX-License-Identifier: Apache-2.0
// The client's half of pairing. See pairing.hpp.
#include "tools/ttygate-client/pairing.hpp"

#include <poll.h>

#include "common/escape.hpp"
#include "common/openssl.hpp"

namespace ttygate::client {
namespace {

constexpr std::string_view kVerdictPrefix = "TTYGATE PAIRED ";

Error protocol(std::string context) { return Error(std::make_error_code(std::errc::protocol_error), std::move(context)); }

std::optional<Verdict> parse_verdict(std::string_view line) {
  if (!line.starts_with(kVerdictPrefix)) return std::nullopt;
  std::string_view role = line.substr(kVerdictPrefix.size());
  if (role != "control" && role != "monitor") return std::nullopt;
  return Verdict{Verdict::accepted, std::string(role)};
}

// Lines in and out of the channel, each within the request's deadline.
class LineLink {
 public:
  LineLink(ktls::Channel& channel, const PairingRequest& request)
      : channel_(channel), request_(request), deadline_(std::chrono::steady_clock::now() + request.timeout) {}

  // A line without its '\n'; nullopt when the gateway closed the connection.
  Result<std::optional<std::string>> read_line() {
    std::string line;
    std::byte byte{};
    for (;;) {
      // One byte at a time: whatever follows the verdict is session data, not ours to eat.
      ktls::IoStatus st = channel_.read(std::span(&byte, 1));
      if (st.kind == ktls::IoStatus::closed || st.kind == ktls::IoStatus::failed) return std::optional<std::string>();
      if (st.kind == ktls::IoStatus::done) {
        if (byte == std::byte{'\n'}) return std::optional<std::string>(std::move(line));
        line += static_cast<char>(byte);
        if (line.size() > ktls::pairing::kMaxLine) return protocol("a line from the gateway is too long: " + shown(line));
        continue;
      }
      if (Result<void> waited = wait(st.events); !waited) return waited.error();
    }
  }

  Result<void> write_line(std::string_view line) {
    while (!line.empty()) {
      ktls::IoStatus st = channel_.write(std::as_bytes(std::span(line.data(), line.size())));
      if (st.kind == ktls::IoStatus::done) {
        line.remove_prefix(st.bytes);
        continue;
      }
      if (st.kind != ktls::IoStatus::wait) return protocol("the gateway closed the connection during pairing");
      if (Result<void> waited = wait(st.events); !waited) return waited;
    }
    return success();
  }

 private:
  Result<void> wait(short events) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - std::chrono::steady_clock::now());
    if (left.count() <= 0) return Error(std::make_error_code(std::errc::timed_out), "no pairing verdict in time");
    pollfd fds[2] = {{channel_.fd(), events, 0}, {request_.interrupt_fd, POLLIN, 0}};
    if (::poll(fds, 2, static_cast<int>(left.count())) < 0 && errno != EINTR) return errno_error("poll");
    if (fds[1].revents) return Error(std::make_error_code(std::errc::operation_canceled), "interrupted");
    return success();
  }

  ktls::Channel& channel_;
  const PairingRequest& request_;
  std::chrono::steady_clock::time_point deadline_;
};

}  // namespace

Result<Verdict> pair_over(ktls::Channel& channel, SSL* ssl, const PairingRequest& request) {
  auto exporter = ktls::pairing::exporter(ssl);
  if (!exporter) return exporter.error();
  ktls::pairing::ClientExchange exchange(*exporter, request.passcode);
  LineLink link(channel, request);
  bool exchanged = false;  // the exchange ended; only the verdict may follow
  for (;;) {
    auto line = link.read_line();
    if (!line) return line.error();
    if (!*line) return Verdict{};  // closed: refused
    if (auto verdict = parse_verdict(**line)) return *verdict;
    if (exchanged)
      return protocol("expected the pairing verdict \"TTYGATE PAIRED <role>\", got " + shown(**line));
    if (!(*line)->starts_with(ktls::pairing::kPrefix))
      return protocol("expected a pairing message, got " + shown(**line) +
                      " (is this client paired with it already?)");
    ktls::pairing::Step step = exchange.receive(**line);
    if (!step.send.empty())
      if (Result<void> sent = link.write_line(step.send); !sent) return sent.error();
    switch (step.kind) {
      case ktls::pairing::Step::more:
        break;
      case ktls::pairing::Step::code_shown:
        if (request.show_code) request.show_code(step.code);
        exchanged = true;
        break;
      case ktls::pairing::Step::proved:
        exchanged = true;
        break;
      case ktls::pairing::Step::failed:
        if (step.reason == "wrong-passcode") return Verdict{Verdict::wrong_passcode, {}};
        if (step.reason == "passcode-needed") return Verdict{Verdict::passcode_needed, {}};
        return protocol(step.detail);
    }
  }
}

}  // namespace ttygate::client
