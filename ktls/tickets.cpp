#include "ktls/tickets.hpp"

#include <openssl/core_names.h>
#include <openssl/rand.h>

#include <cstdlib>
#include <cstring>

namespace ttygate::ktls {
namespace {

int ticket_keys_index() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

int policy_index() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

Result<TicketKeys::Key> fresh_key() {
  TicketKeys::Key key;
  if (RAND_bytes(key.name.data(), key.name.size()) != 1 ||
      RAND_priv_bytes(key.cipher_key.data(), key.cipher_key.size()) != 1 ||
      RAND_priv_bytes(key.mac_key.data(), key.mac_key.size()) != 1)
    return openssl_error("generating a ticket key");
  key.valid = true;
  return key;
}

void wipe(TicketKeys::Key& key) {
  OPENSSL_cleanse(&key, sizeof key);
  key.valid = false;
}

int init_mac(EVP_MAC_CTX* mac, const TicketKeys::Key& key) {
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0), OSSL_PARAM_END};
  return EVP_MAC_CTX_set_params(mac, params) == 1 &&
                 EVP_MAC_init(mac, key.mac_key.data(), key.mac_key.size(), nullptr) == 1
             ? 1
             : -1;
}

// OpenSSL's ticket-key callback: 1 = ok, 2 = ok but renew the ticket, 0 = unknown key (full
// handshake), -1 = error.
int ticket_key_callback(SSL* ssl, unsigned char* name, unsigned char* iv, EVP_CIPHER_CTX* cipher, EVP_MAC_CTX* mac,
                        int encrypt) {
  auto* keys = static_cast<TicketKeys*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), ticket_keys_index()));
  if (!keys) return -1;
  const EVP_CIPHER* aes = EVP_aes_256_cbc();
  if (encrypt) {
    const TicketKeys::Key& key = keys->current();
    if (RAND_bytes(iv, EVP_CIPHER_get_iv_length(aes)) != 1) return -1;
    std::memcpy(name, key.name.data(), key.name.size());
    if (EVP_EncryptInit_ex(cipher, aes, nullptr, key.cipher_key.data(), iv) != 1) return -1;
    return init_mac(mac, key);
  }
  bool is_previous = false;
  const TicketKeys::Key* key = keys->find(name, is_previous);
  if (!key) return 0;
  if (EVP_DecryptInit_ex(cipher, aes, nullptr, key->cipher_key.data(), iv) != 1) return -1;
  if (init_mac(mac, *key) != 1) return -1;
  return is_previous ? 2 : 1;
}

SSL_TICKET_RETURN on_ticket_decrypted(SSL* ssl, SSL_SESSION* session, const unsigned char*, size_t,
                                      SSL_TICKET_STATUS status, void*) {
  switch (status) {
    case SSL_TICKET_EMPTY:
    case SSL_TICKET_NO_DECRYPT:
      return SSL_TICKET_RETURN_IGNORE_RENEW;
    case SSL_TICKET_SUCCESS:
    case SSL_TICKET_SUCCESS_RENEW:
      break;
    default:
      return SSL_TICKET_RETURN_ABORT;
  }
  auto* policy = static_cast<PeerPolicy*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), policy_index()));
  X509* peer = SSL_SESSION_get0_peer(session);
  auto pin = peer ? pin_of(peer) : Result<Pin>(Error(std::make_error_code(std::errc::invalid_argument)));
  // Not admitted any more: ignore the ticket. The full handshake that follows asks for the
  // certificate and checks its pin like any other.
  if (!policy || !pin || !policy->admit_resumption(ssl, *pin)) return SSL_TICKET_RETURN_IGNORE;
  // Always a fresh ticket: a roaming client never shows the same ticket twice (it would link its
  // connections for an observer), and the reply flushes the client's next write at once instead
  // of leaving it to wait for a delayed ACK.
  return SSL_TICKET_RETURN_USE_RENEW;
}

}  // namespace

TicketKeys::TicketKeys() {
  auto key = fresh_key();
  if (!key) std::abort();  // no RNG: nothing in TLS would be safe either
  current_ = *key;
}

TicketKeys::~TicketKeys() {
  wipe(current_);
  wipe(previous_);
}

Result<void> TicketKeys::rotate() {
  auto key = fresh_key();
  if (!key) return key.error();
  wipe(previous_);
  previous_ = current_;
  current_ = *key;
  return success();
}

const TicketKeys::Key* TicketKeys::find(const std::uint8_t* name, bool& is_previous) const {
  is_previous = false;
  if (current_.valid && std::memcmp(name, current_.name.data(), current_.name.size()) == 0) return &current_;
  if (previous_.valid && std::memcmp(name, previous_.name.data(), previous_.name.size()) == 0) {
    is_previous = true;
    return &previous_;
  }
  return nullptr;
}

Result<void> enable_resumption(SSL_CTX* ctx, TicketKeys& keys, PeerPolicy& policy, std::chrono::seconds lifetime,
                               unsigned tickets) {
  if (SSL_CTX_set_ex_data(ctx, ticket_keys_index(), &keys) != 1 ||
      SSL_CTX_set_ex_data(ctx, policy_index(), &policy) != 1)
    return openssl_error("attaching ticket keys");
  // Sessions from other contexts (other programs sharing a key, say) are never resumed here.
  static constexpr unsigned char kContext[] = "ttygated";
  if (SSL_CTX_set_session_id_context(ctx, kContext, sizeof kContext - 1) != 1)
    return openssl_error("setting the session id context");
  SSL_CTX_clear_options(ctx, SSL_OP_NO_TICKET);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);  // stateless: everything is in the ticket
  SSL_CTX_set_timeout(ctx, static_cast<long>(lifetime.count()));
  if (SSL_CTX_set_num_tickets(ctx, tickets) != 1) return openssl_error("setting the number of tickets");
  if (SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, ticket_key_callback) != 1)
    return openssl_error("installing the ticket key callback");
  if (SSL_CTX_set_session_ticket_cb(ctx, nullptr, on_ticket_decrypted, nullptr) != 1)
    return openssl_error("installing the ticket check");
  return success();
}

}  // namespace ttygate::ktls
