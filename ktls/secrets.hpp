// SPDX-License-Identifier: Apache-2.0
// Secrets: what kernel TLS needs to know about a handshake that OpenSSL ran.
//
// The kernel continues a TLS 1.3 session where OpenSSL stops, so it needs each direction's
// application traffic secret and the number of records already protected under it (the record
// sequence number feeds the nonce). OpenSSL 3.0 has no API for either. prepare_for_offload()
// installs two callbacks on an SSL_CTX that learn them as the handshake runs:
//
//  - the keylog callback keeps CLIENT_TRAFFIC_SECRET_0 and SERVER_TRAFFIC_SECRET_0 in the SSL's
//    ex_data. Nothing is written anywhere; the OffloadState is wiped when the SSL is freed.
//  - the message callback counts, per direction, the records after that direction's Finished:
//    exactly the records under the application key. On a server those are the NewSessionTicket
//    records it sent, and any application data OpenSSL already read or wrote.
//
// A KeyUpdate seen in either direction before hand-over makes the captured secrets stale; the
// state says so and hand-over refuses. Both callbacks run on the thread driving the SSL; they
// never throw and never allocate except the one OffloadState per SSL.
#pragma once

#include <openssl/ssl.h>

#include <cstdint>

#include "common/result.hpp"
#include "ktls/key_schedule.hpp"

namespace ttygate::ktls {

struct OffloadState {
  SecretBytes client_secret;  // CLIENT_TRAFFIC_SECRET_0; empty until OpenSSL derived it
  SecretBytes server_secret;  // SERVER_TRAFFIC_SECRET_0
  // Records protected with this endpoint's application key (sent) and with the peer's (received,
  // counted when OpenSSL read them).
  std::uint64_t records_sent = 0;
  std::uint64_t records_received = 0;
  bool key_updated = false;  // a KeyUpdate went either way: the secrets above are not current
  bool malformed = false;    // a keylog line did not parse: refuse rather than guess

  bool sent_finished = false;      // internal: this endpoint's Finished went out
  bool received_finished = false;  // internal: the peer's Finished came in
};

// Installs the keylog and message callbacks on ctx. They belong to kernel hand-over from then
// on: nothing else may set SSL_CTX_set_keylog_callback or SSL_CTX_set_msg_callback on ctx.
// Call once per context, before any SSL is made from it. Fails only if OpenSSL cannot allocate
// an ex_data index.
Result<void> prepare_for_offload(SSL_CTX* ctx);

// What the callbacks learned about ssl, or nullptr when ssl's context was not prepared (or the
// one small allocation failed). Owned by ssl; valid until SSL_free(ssl).
const OffloadState* offload_state(const SSL* ssl);

// Parses one keylog line ("<LABEL> <client_random hex> <secret hex>") into state when LABEL is
// one of the two application traffic secrets; other labels are ignored. Exposed for tests.
void absorb_keylog_line(OffloadState& state, const char* line);

}  // namespace ttygate::ktls
