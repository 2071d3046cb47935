// SPDX-License-Identifier: Apache-2.0
// serve NAME --rfc2217 ADDRESS: a local RFC 2217 endpoint for existing software (pyserial's
// rfc2217://, labgrid, a telnet wrapper around minicom), relayed into a TLS session with the
// gateway that offers ALPN ttygate-rfc2217 and nothing else.
//
// ADDRESS is loopback TCP ("127.0.0.1:PORT", "[::1]:PORT", "localhost:PORT"; PORT 0 picks one)
// or a Unix socket path (anything with a '/'), created 0600. Never another address: the local
// leg is plain Telnet, so it must not leave the machine. One local client at a time, each on
// its own TLS session: the local client speaks Telnet/RFC 2217 and the gateway answers it, so
// the bytes are relayed unchanged both ways. A gateway port with line_control = "none" refuses
// the session in the handshake (no_application_protocol) and the local client is closed.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

#include "tools/ttygate-client/commands.hpp"
#include "tools/ttygate-client/exit_codes.hpp"
#include "tools/ttygate-client/relay.hpp"

namespace ttygate::client {
namespace {

struct LocalEndpoint {
  UniqueFd fd;
  std::string text;          // as bound, with the port the kernel chose
  std::filesystem::path unix_path;
};

Result<LocalEndpoint> listen_unix(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) return Error(std::make_error_code(std::errc::filename_too_long), path);
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return errno_error("socket");
  mode_t old = ::umask(0177);  // 0600: only this user may connect
  int bound = ::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  ::umask(old);
  if (bound != 0) return errno_error("binding " + path);
  if (::listen(fd.get(), 4) != 0) return errno_error("listening on " + path);
  return LocalEndpoint{std::move(fd), path, path};
}

Result<LocalEndpoint> listen_loopback(const std::string& address) {
  auto colon = address.rfind(':');
  if (colon == std::string::npos) return Error(std::make_error_code(std::errc::invalid_argument), address);
  std::string host = address.substr(0, colon), port_text = address.substr(colon + 1);
  char* end = nullptr;
  unsigned long port = std::strtoul(port_text.c_str(), &end, 10);
  if (port_text.empty() || *end || port > 65535)
    return Error(std::make_error_code(std::errc::invalid_argument), "port of " + address);
  sockaddr_storage ss{};
  socklen_t len = 0;
  if (host == "127.0.0.1" || host == "localhost") {
    auto* in = reinterpret_cast<sockaddr_in*>(&ss);
    in->sin_family = AF_INET;
    in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    in->sin_port = htons(static_cast<std::uint16_t>(port));
    len = sizeof *in;
  } else if (host == "[::1]") {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&ss);
    in6->sin6_family = AF_INET6;
    in6->sin6_addr = in6addr_loopback;
    in6->sin6_port = htons(static_cast<std::uint16_t>(port));
    len = sizeof *in6;
  } else {
    return Error(std::make_error_code(std::errc::invalid_argument),
                 address + " (only 127.0.0.1, [::1] or localhost: the local leg is unencrypted)");
  }
  UniqueFd fd(::socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return errno_error("socket");
  int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0) return errno_error("binding " + address);
  if (::listen(fd.get(), 4) != 0) return errno_error("listening on " + address);
  len = sizeof ss;
  ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&ss), &len);
  std::uint16_t bound = ntohs(ss.ss_family == AF_INET ? reinterpret_cast<sockaddr_in*>(&ss)->sin_port
                                                      : reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
  return LocalEndpoint{std::move(fd), host + ":" + std::to_string(bound), {}};
}

// False when a stop signal came first.
bool wait_for_client(int listener, int stop_fd) {
  pollfd fds[2] = {{listener, POLLIN, 0}, {stop_fd, POLLIN, 0}};
  while (::poll(fds, 2, -1) < 0)
    if (errno != EINTR) return false;
  return !(fds[1].revents & POLLIN);
}

}  // namespace

int run_serve(const Settings& settings, const std::string& target) {
  auto prepared = prepare_to_connect(settings, target);
  if (!prepared) return kExitFailure;
  auto& [gateway, identity, signals, connector] = *prepared;
  connector->offer({ktls::kAlpnRfc2217});
  const std::string& address = settings.rfc2217;
  auto local = address.find('/') != std::string::npos ? listen_unix(address) : listen_loopback(address);
  if (!local) return fail("offer the RFC 2217 endpoint", local.error());
  say("RFC 2217 on " + local->text + " relays to " + gateway.name + " at " + gateway.endpoint.text());
  int exit = kExitOk;
  while (wait_for_client(local->fd.get(), signals.get())) {
    UniqueFd client(::accept4(local->fd.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
    if (!client) continue;
    auto connection = connector->connect(gateway.endpoint, settings.timeout, signals.get());
    if (!connection) {
      if (auto presented = connector->mismatched_key()) {
        std::fputs(key_mismatch_warning(gateway.name, gateway.endpoint, gateway.pin, *presented).c_str(), stderr);
        exit = kExitKeyMismatch;
        break;
      }
      say("cannot reach " + gateway.name + " with line control: " + connection.error().message());
      continue;
    }
    if (connection->protocol != ktls::kAlpnRfc2217) {
      say(gateway.name + " did not agree to RFC 2217; closing the local client");
      connection->channel->close_notify();
      continue;
    }
    say("local client connected; " + describe(connection->stats));
    Relay relay(RelayOptions{client.get(), client.get(), signals.get()});
    RelayOutcome outcome = relay.run(*connection->channel);
    if (outcome.end == RelayEnd::stopped) {
      connection->channel->close_notify();
      break;
    }
    say(outcome.end == RelayEnd::local_eof ? "local client left" : "the gateway ended the session" +
        (outcome.error.code() ? ": " + outcome.error.message() : std::string()));
  }
  if (!local->unix_path.empty()) ::unlink(local->unix_path.c_str());
  return exit;
}

}  // namespace ttygate::client
