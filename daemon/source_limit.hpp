// SPDX-License-Identifier: Apache-2.0
// SourceLimit: what one source may ask of the handshake machinery, so one LAN host can neither
// hold every handshake slot (limits.max_handshakes) with silent connections nor keep the
// gateway's one core busy with a stream of handshakes.
//
// A source is an IPv4 address (IPv4-mapped IPv6 peers count as their IPv4 address), or an IPv6
// /64: one host picks addresses in its /64 freely (SLAAC privacy addresses), so a limit per
// IPv6 address would limit nothing. Two limits apply: handshakes in progress at once, and
// handshakes started per minute (a token bucket that refills continuously, so a source may use
// a minute's allowance at once and then one every 60/N seconds). The gateway calls start() when
// it accepts a connection and finish() when that handshake ends, whatever the outcome.
#pragma once

#include <sys/socket.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <map>

namespace ttygate::daemon {

class SourceLimit {
 public:
  using Key = std::array<std::uint8_t, 9>;  // family tag, then 4 (IPv4) or 8 (IPv6 /64) bytes
  using Clock = std::chrono::steady_clock;
  enum class Verdict { start, too_many, too_fast };

  SourceLimit(unsigned in_progress, unsigned per_minute) : in_progress_(in_progress), per_minute_(per_minute) {}

  static Key key_of(const sockaddr_storage& addr);

  // too_many or too_fast (and nothing counted), or start: counted until finish().
  Verdict start(const Key& source, Clock::time_point now = Clock::now());
  void finish(const Key& source);

  unsigned in_progress(const Key& source) const;
  std::size_t sources() const { return sources_.size(); }  // remembered: busy or recently busy

 private:
  struct Source {
    unsigned in_progress = 0;
    double allowance = 0;  // handshakes it may start now
    Clock::time_point at;  // when allowance was last brought up to date
  };
  double refilled(const Source& source, Clock::time_point now) const;
  void forget_idle(Clock::time_point now);

  unsigned in_progress_;
  unsigned per_minute_;
  std::map<Key, Source> sources_;
  Clock::time_point last_sweep_{};
};

}  // namespace ttygate::daemon
