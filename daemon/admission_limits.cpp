// SPDX-License-Identifier: Apache-2.0
// Eviction and session caps. See admission_limits.hpp.
#include "daemon/admission_limits.hpp"

#include <tuple>

namespace ttygate::daemon {

std::optional<std::uint64_t> choose_eviction(std::span<const HandshakeInProgress> handshakes,
                                             HandshakeClock::time_point now, std::chrono::milliseconds grace) {
  const HandshakeInProgress* victim = nullptr;
  for (const HandshakeInProgress& h : handshakes) {
    if (h.hello_received && now - h.started < grace) continue;  // almost done: spared
    // Least progress first, then the oldest; the id breaks ties in accept order.
    if (!victim || std::tie(h.hello_received, h.started, h.id) <
                       std::tie(victim->hello_received, victim->started, victim->id))
      victim = &h;
  }
  if (!victim) return std::nullopt;
  return victim->id;
}

std::optional<std::string> session_cap(const SessionCounts& counts, unsigned max_sessions,
                                       unsigned max_sessions_per_client, std::string_view port,
                                       std::string_view client) {
  if (counts.of_client >= max_sessions_per_client)
    return std::string(client) + ": already has " + std::to_string(counts.of_client) +
           " sessions (limits.max_sessions_per_client)";
  if (counts.on_port >= max_sessions)
    return std::string(client) + ": port " + std::string(port) + " already has " + std::to_string(counts.on_port) +
           " sessions (limits.max_sessions)";
  return std::nullopt;
}

}  // namespace ttygate::daemon
