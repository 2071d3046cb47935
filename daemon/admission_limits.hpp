// SPDX-License-Identifier: Apache-2.0
// Admission limits: the two pure rules that keep cheap connections from locking paired clients
// out. Both are decided here, without the loop or sockets, so unit tests can table them.
//
// Before authentication, every connection takes one of limits.max_handshakes slots. When they
// are all taken, the newcomer is admitted anyway and the handshake that has made the least
// progress gives way, the oldest first (choose_eviction): a flood of silent or byte-a-second
// connections then only evicts itself, and a client that sent its whole ClientHello, as every
// real client does at once, outranks all of them. A handshake whose ClientHello arrived is
// spared for a grace period (it needs one more round trip): only if every slot holds such a
// young handshake does the newcomer wait (docs/threat-model.md, "Lock-out").
//
// After authentication, sessions are capped per port and per client (session_cap), so one
// paired certificate cannot use every descriptor.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

namespace ttygate::daemon {

using HandshakeClock = std::chrono::steady_clock;

struct HandshakeInProgress {
  std::uint64_t id = 0;
  HandshakeClock::time_point started{};
  bool hello_received = false;  // the whole ClientHello arrived and the server flight was sent
};

// How long a handshake whose ClientHello arrived is spared from eviction: a paired client needs
// one round trip and two signatures from there, a LAN peer far less than this.
inline constexpr std::chrono::milliseconds kEvictionGrace{1000};

// The handshake to close so a newcomer can start, or nothing when every candidate is spared.
std::optional<std::uint64_t> choose_eviction(std::span<const HandshakeInProgress> handshakes,
                                             HandshakeClock::time_point now,
                                             std::chrono::milliseconds grace = kEvictionGrace);

// Relaying sessions right now, not counting the one being admitted.
struct SessionCounts {
  std::size_t on_port = 0;
  std::size_t of_client = 0;  // on every port
};

// Nothing when one more session fits, else why not (naming the limit's config key).
std::optional<std::string> session_cap(const SessionCounts& counts, unsigned max_sessions,
                                       unsigned max_sessions_per_client, std::string_view port,
                                       std::string_view client);

}  // namespace ttygate::daemon
