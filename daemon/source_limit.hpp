// SourceLimit: handshakes in progress per source, so one LAN host cannot hold every handshake
// slot (limits.max_handshakes) and lock everybody else out until its connections time out.
//
// A source is an IPv4 address (IPv4-mapped IPv6 peers count as their IPv4 address), or an IPv6
// /64: one host picks addresses in its /64 freely (SLAAC privacy addresses), so a limit per
// IPv6 address would limit nothing. Counting is done by the gateway: start() when a connection
// is accepted, finish() when its handshake ends, whatever the outcome.
#pragma once

#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <map>

namespace ttygate::daemon {

class SourceLimit {
 public:
  using Key = std::array<std::uint8_t, 9>;  // family tag, then 4 (IPv4) or 8 (IPv6 /64) bytes

  explicit SourceLimit(unsigned per_source) : per_source_(per_source) {}

  static Key key_of(const sockaddr_storage& addr);

  // False, and nothing counted, when the source already has per_source handshakes in progress.
  bool start(const Key& source);
  void finish(const Key& source);

  unsigned in_progress(const Key& source) const;
  std::size_t sources() const { return counts_.size(); }  // with a handshake in progress

 private:
  unsigned per_source_;
  std::map<Key, unsigned> counts_;
};

}  // namespace ttygate::daemon
