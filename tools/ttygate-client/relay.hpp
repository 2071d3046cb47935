// SPDX-License-Identifier: Apache-2.0
// Relay: moves bytes both ways between local fds (stdin/stdout, or a pty master) and a session
// with the gateway, raw and binary-safe, until one side ends.
//
// One poll() loop, single-threaded, every fd non-blocking. Each turn tries every transfer that
// has room, and only when none made progress waits for what they said they need (a TLS read may
// need the socket writable and the other way round). One buffer per direction, so a slow reader
// on either side holds back the writer on the other instead of growing memory.
//
// The Relay outlives a connection: run() is called once per connection, and bytes read locally
// but not yet taken by a connection that broke are sent first on the next one. (Bytes the TLS
// layer took may still die in the socket of a broken connection: TCP can't say which arrived.)
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "ktls/channel.hpp"

namespace ttygate::client {

// Changes the bytes on their way (the bridge over RFC 2217: packet-mode status bytes and
// termios changes in, Telnet escaping and commands out). Without one, bytes pass unchanged.
class RelayFilter {
 public:
  virtual ~RelayFilter() = default;
  // At the start of each connection: what to send the gateway first.
  virtual void opening(std::vector<std::byte>& to_gateway) = 0;
  // One local read: appends what goes to the gateway.
  virtual void outgoing(std::span<const std::byte> local, std::vector<std::byte>& to_gateway) = 0;
  // One read from the gateway: appends what goes to local output (never more than came in);
  // why when the gateway's stream is malformed.
  virtual std::optional<std::string> incoming(std::span<const std::byte> net, std::vector<std::byte>& to_local) = 0;
};

struct RelayOptions {
  int local_in = 0;
  int local_out = 1;
  int stop_fd = -1;                   // readable (a signalfd) = stop now
  std::optional<std::byte> escape;    // this byte from local_in ends the session like EOF
  std::chrono::milliseconds linger{2000};  // after our close_notify, wait this long for the peer's
  RelayFilter* filter = nullptr;      // per connection: run(channel, filter) overrides
};

enum class RelayEnd {
  local_eof,     // local input ended (or the escape byte); close_notify sent
  peer_closed,   // the gateway ended the session in order (close_notify)
  peer_failed,   // the connection broke (error says how)
  local_failed,  // a local read or write failed (error says which)
  stopped,       // stop_fd became readable
};

struct RelayOutcome {
  RelayEnd end = RelayEnd::peer_closed;
  Error error;
};

class Relay {
 public:
  explicit Relay(RelayOptions options);

  RelayOutcome run(ktls::Channel& channel);
  // The same with a filter for this connection (null: none).
  RelayOutcome run(ktls::Channel& channel, RelayFilter* filter);

  std::uint64_t bytes_to_gateway() const { return to_gateway_total_; }
  std::uint64_t bytes_from_gateway() const { return from_gateway_total_; }

 private:
  struct Pending {
    std::vector<std::byte> buffer;
    std::size_t begin = 0, end = 0;
    bool empty() const { return begin == end; }
    std::span<std::byte> data() { return std::span(buffer).subspan(begin, end - begin); }
  };
  struct Interest {
    short local_in = 0, local_out = 0, net = 0;
  };

  bool pump_local_in(Interest& wants);
  bool pump_to_gateway(ktls::Channel& channel, Interest& wants);
  bool pump_from_gateway(ktls::Channel& channel, Interest& wants);
  bool pump_local_out(Interest& wants);
  bool filter_incoming();
  std::optional<RelayOutcome> finished(ktls::Channel& channel);
  bool wait(const ktls::Channel& channel, const Interest& wants);

  RelayOptions options_;
  Pending to_gateway_, from_gateway_;
  std::vector<std::byte> filtered_;  // a filter's output before it goes into a Pending
  bool local_eof_ = false, peer_closed_ = false, close_sent_ = false, stop_ = false;
  std::optional<RelayOutcome> failure_;
  std::chrono::steady_clock::time_point linger_until_;
  std::uint64_t to_gateway_total_ = 0, from_gateway_total_ = 0;
};

}  // namespace ttygate::client
