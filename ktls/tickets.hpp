// Session tickets: TLS 1.3 resumption without certificates, and without trusting old tickets.
//
// Tickets are stateless: the server encrypts the session (with the client's certificate inside)
// under a ticket key only it knows. TicketKeys holds those keys in memory only: a current key
// that seals new tickets, and the previous one that still opens tickets it sealed, so a key
// lives two rotation periods at most. Tickets opened with the previous key are renewed. A
// restart forgets every key: all clients do one full handshake.
//
// Every resumption asks the PeerPolicy again (admit_resumption) with the pin of the certificate
// inside the ticket: a client removed since its ticket was issued gets a full handshake, which
// its pin then fails. Resumption is PSK with (EC)DHE only (OpenSSL refuses psk_ke unless told
// otherwise) and never 0-RTT.
#pragma once

#include <openssl/ssl.h>

#include <array>
#include <chrono>
#include <cstdint>

#include "common/result.hpp"
#include "ktls/tls_context.hpp"

namespace ttygate::ktls {

class TicketKeys {
 public:
  struct Key {
    std::array<std::uint8_t, 16> name{};
    std::array<std::uint8_t, 32> cipher_key{};  // AES-256-CBC
    std::array<std::uint8_t, 32> mac_key{};     // HMAC-SHA256
    bool valid = false;
  };

  TicketKeys();  // makes a first key; aborts the process only if the RNG fails
  TicketKeys(const TicketKeys&) = delete;
  TicketKeys& operator=(const TicketKeys&) = delete;
  ~TicketKeys();

  // New key for new tickets; the current one becomes the previous; the previous is wiped.
  Result<void> rotate();
  const Key& current() const { return current_; }
  // The key whose name matches, and whether it is the previous one (its tickets are renewed).
  const Key* find(const std::uint8_t* name, bool& is_previous) const;

 private:
  Key current_;
  Key previous_;
};

// Turns on resumption for a server context: tickets sealed with `keys`, valid for `lifetime`,
// `tickets` of them per full handshake, each resumption re-checked by `policy`. Both must
// outlive ctx.
Result<void> enable_resumption(SSL_CTX* ctx, TicketKeys& keys, PeerPolicy& policy, std::chrono::seconds lifetime,
                               unsigned tickets);

}  // namespace ttygate::ktls
