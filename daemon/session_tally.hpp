// SPDX-License-Identifier: Apache-2.0
// SessionTally: how many sessions relay right now, per port (its relay) and per client (its
// pin), kept up to date as sessions start and stop relaying. The session caps
// (admission_limits.hpp) read it on every admission: a lookup, where walking every session made
// a storm of N clients cost N² (6% of a 5,000-client storm's profile).
//
// A session holds a Token exactly while it relays: taken as it enters relaying, given back as it
// closes or is destroyed, whatever got it there (its peer, the gateway, eviction, a removed or
// re-roled client, a retired port, a lost device). A token is move-only and counts once; a
// default one counts nothing. Entries that fall to zero are erased, so the address of a relay
// that was destroyed never carries a count over to a new one. Single-threaded, like the loop;
// the tally outlives its tokens.
#pragma once

#include <cstddef>
#include <map>

#include "daemon/admission_limits.hpp"
#include "ktls/pin.hpp"

namespace ttygate::daemon {

class Relay;

class SessionTally {
  using ByRelay = std::map<const Relay*, std::size_t>;
  using ByClient = std::map<ktls::Pin, std::size_t>;

 public:
  class Token {
   public:
    Token() = default;
    Token(Token&& other) noexcept { take(other); }
    Token& operator=(Token&& other) noexcept;
    Token(const Token&) = delete;
    Token& operator=(const Token&) = delete;
    ~Token() { release(); }

    // Stops counting (idempotent).
    void release();
    bool counted() const { return tally_ != nullptr; }

   private:
    friend class SessionTally;
    Token(SessionTally& tally, ByRelay::iterator relay, ByClient::iterator client)
        : tally_(&tally), relay_(relay), client_(client) {}
    void take(Token& other) noexcept;

    SessionTally* tally_ = nullptr;
    ByRelay::iterator relay_{};
    ByClient::iterator client_{};
  };

  SessionTally() = default;
  SessionTally(const SessionTally&) = delete;
  SessionTally& operator=(const SessionTally&) = delete;

  // One more session of the client with `pin` relays on `relay`, for as long as the token lives.
  [[nodiscard]] Token count(const Relay& relay, const ktls::Pin& pin);
  // Relaying sessions on `relay` and of `pin` (on every port).
  SessionCounts counts(const ktls::Pin& pin, const Relay& relay) const;
  // Relaying sessions in all (each relays on exactly one port).
  std::size_t total() const;

 private:
  ByRelay by_relay_;
  ByClient by_client_;
};

}  // namespace ttygate::daemon
