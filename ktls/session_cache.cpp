// SPDX-License-Identifier: Apache-2.0
#include "ktls/session_cache.hpp"

#include <string_view>

namespace ttygate::ktls {
namespace {

int cache_index() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

SessionCache* cache_of(SSL* ssl) {
  return static_cast<SessionCache*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), cache_index()));
}

// Always 0: OpenSSL keeps its reference and the cache keeps a copy of its own. The original is
// still the connection's session, and freeing a connection that was never shut down (a client
// that vanished, or one handed to kernel TLS, whose SSL goes at once) marks it unresumable.
int on_new_session(SSL* ssl, SSL_SESSION* session) {
  SessionCache* cache = cache_of(ssl);
  if (cache) cache->store(ssl, session);
  return 0;
}

SSL_SESSION* on_get_session(SSL* ssl, const unsigned char* id, int length, int* copy) {
  *copy = 0;  // the reference the cache held goes to OpenSSL with the session
  SessionCache* cache = cache_of(ssl);
  return cache ? cache->take(ssl, id, length) : nullptr;
}

std::string key_of(const unsigned char* id, unsigned length) {
  return std::string(reinterpret_cast<const char*>(id), length);
}

}  // namespace

SessionCache::SessionCache(std::size_t capacity, std::chrono::seconds lifetime, Now now)
    : capacity_(capacity), lifetime_(lifetime), now_(std::move(now)) {}

SessionCache::~SessionCache() { clear(); }

Result<void> SessionCache::attach(SSL_CTX* ctx, PeerPolicy& policy, unsigned tickets) {
  policy_ = &policy;
  if (SSL_CTX_set_ex_data(ctx, cache_index(), this) != 1) return openssl_error("attaching the session cache");
  // Sessions from other contexts (other programs sharing a key, say) are never resumed here;
  // OpenSSL also caches nothing on a server without a context id when it verifies peers.
  static constexpr unsigned char kContext[] = "ttygated";
  if (SSL_CTX_set_session_id_context(ctx, kContext, sizeof kContext - 1) != 1)
    return openssl_error("setting the session id context");
  // NO_TICKET under TLS 1.3 means stateful tickets: the ticket is the session id.
  SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER | SSL_SESS_CACHE_NO_INTERNAL |
                                          SSL_SESS_CACHE_NO_AUTO_CLEAR);
  SSL_CTX_set_timeout(ctx, static_cast<long>(lifetime_.count()));  // the lifetime hint clients see
  if (SSL_CTX_set_num_tickets(ctx, tickets) != 1) return openssl_error("setting the number of tickets");
  SSL_CTX_sess_set_new_cb(ctx, on_new_session);
  SSL_CTX_sess_set_get_cb(ctx, on_get_session);
  return success();
}

void SessionCache::store(SSL*, SSL_SESSION* original) {
  if (capacity_ == 0) return;
  X509* peer = SSL_SESSION_get0_peer(original);
  auto pin = peer ? pin_of(peer) : Result<Pin>(Error(std::make_error_code(std::errc::invalid_argument)));
  if (!pin) return;  // no client to re-check: never resumable
  SSL_SESSION* session = SSL_SESSION_dup(original);  // the certificate is shared, not copied
  if (!session) return;
  unsigned length = 0;
  const unsigned char* id = SSL_SESSION_get_id(session, &length);
  std::string key = key_of(id, length);
  if (auto it = entries_.find(key); it != entries_.end()) erase(it);  // 32 random bytes: never in practice
  while (entries_.size() >= capacity_) erase(entries_.find(oldest_.front()));
  oldest_.push_back(key);
  entries_.emplace(std::move(key), Entry{session, *pin, now_() + lifetime_, std::prev(oldest_.end())});
}

SSL_SESSION* SessionCache::take(SSL* ssl, const unsigned char* id, int length) {
  auto it = entries_.find(key_of(id, static_cast<unsigned>(length)));
  if (it == entries_.end()) return nullptr;
  SSL_SESSION* session = it->second.session;
  const Pin pin = it->second.pin;
  const bool fresh = now_() < it->second.expires;
  it->second.session = nullptr;  // its reference is ours now
  erase(it);                     // single use: the resumed connection gets a new ticket
  // Not admitted any more: a full handshake follows, which asks for the certificate and checks
  // its pin like any other.
  if (!fresh || !policy_ || !policy_->admit_resumption(ssl, pin)) {
    SSL_SESSION_free(session);
    return nullptr;
  }
  return session;
}

std::size_t SessionCache::evict(const Pin& pin) {
  std::size_t evicted = 0;
  for (auto it = entries_.begin(); it != entries_.end();) {
    auto next = std::next(it);
    if (it->second.pin == pin) {
      erase(it);
      ++evicted;
    }
    it = next;
  }
  return evicted;
}

std::size_t SessionCache::expire() {
  const Clock::time_point now = now_();
  std::size_t expired = 0;
  // Entries are made in order with one lifetime: the expired ones are the oldest.
  while (!oldest_.empty()) {
    auto it = entries_.find(oldest_.front());
    if (it->second.expires > now) break;
    erase(it);
    ++expired;
  }
  return expired;
}

void SessionCache::clear() {
  while (!entries_.empty()) erase(entries_.begin());
}

void SessionCache::erase(Map::iterator it) {
  if (it->second.session) SSL_SESSION_free(it->second.session);
  oldest_.erase(it->second.age);
  entries_.erase(it);
}

}  // namespace ttygate::ktls
