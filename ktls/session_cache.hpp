// SPDX-License-Identifier: Apache-2.0
// SessionCache: TLS 1.3 resumption with stateful tickets, each ticket only the name of a session
// the server keeps in memory.
//
// Why not stateless tickets: under OpenSSL 3.0 a stateless ticket is the whole session encrypted,
// client certificate included, so each resumption decodes the certificate out of the ticket
// (d2i_SSL_SESSION, a provider decoder per key) and encodes it again for the renewed ticket;
// that made a resumption cost nearly as much as a full handshake. Here the ticket is a random
// 32-byte session id chosen by OpenSSL, and a resumption is a hash-table lookup.
//
// Guarantees (each tested in session_cache_test.cpp):
// - Every resumption asks the PeerPolicy again (admit_resumption) with the pin of the session's
//   client; a refusal turns it into a full handshake, whose pin check then decides.
// - evict(pin) drops every session of a client: the gateway calls it when the client is removed
//   or its role changes, so its tickets name nothing any more.
// - Single use: a ticket is taken out of the cache when it is presented; the resumed connection
//   gets a new ticket (a new random id), so ids are never reused and a stolen ticket is good for
//   one connection at most, and only until its owner reconnects.
// - Entries expire `lifetime` after they were made, bounded by `capacity` (the oldest go first);
//   memory is in-process only, so a restart forgets every session.
// Resumption is PSK with (EC)DHE only and never 0-RTT (tls_context.cpp). Single-threaded: it
// runs inside OpenSSL callbacks on the loop's thread.
#pragma once

#include <openssl/ssl.h>

#include <chrono>
#include <cstddef>
#include <functional>
#include <list>
#include <string>
#include <unordered_map>

#include "common/result.hpp"
#include "ktls/pin.hpp"
#include "ktls/tls_context.hpp"

namespace ttygate::ktls {

class SessionCache {
 public:
  using Clock = std::chrono::steady_clock;
  using Now = std::function<Clock::time_point()>;

  SessionCache(std::size_t capacity, std::chrono::seconds lifetime, Now now = Clock::now);
  SessionCache(const SessionCache&) = delete;
  SessionCache& operator=(const SessionCache&) = delete;
  ~SessionCache();

  // Turns on resumption for a server context: `tickets` stateful tickets per handshake, each
  // resumption re-checked by `policy`. This cache and `policy` must outlive ctx.
  Result<void> attach(SSL_CTX* ctx, PeerPolicy& policy, unsigned tickets);

  // Drops every session of this client; returns how many.
  std::size_t evict(const Pin& pin);
  // Drops expired sessions (they are refused when presented anyway; this returns their memory).
  std::size_t expire();
  void clear();
  std::size_t size() const { return entries_.size(); }
  std::size_t capacity() const { return capacity_; }

  // OpenSSL's callbacks, through the context's ex_data. Public for the trampolines only.
  void store(SSL* ssl, SSL_SESSION* session);
  SSL_SESSION* take(SSL* ssl, const unsigned char* id, int length);

 private:
  struct Entry {
    SSL_SESSION* session;  // one reference, owned
    Pin pin;
    Clock::time_point expires;
    std::list<std::string>::iterator age;  // position in oldest_
  };
  using Map = std::unordered_map<std::string, Entry>;
  void erase(Map::iterator it);

  std::size_t capacity_;
  std::chrono::seconds lifetime_;
  Now now_;
  PeerPolicy* policy_ = nullptr;
  Map entries_;
  std::list<std::string> oldest_;  // ids, oldest first
};

}  // namespace ttygate::ktls
