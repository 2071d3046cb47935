// SPDX-License-Identifier: Apache-2.0
#include "ktls/secrets.hpp"

#include <openssl/crypto.h>

#include <array>
#include <cstring>
#include <new>
#include <string_view>

#include "common/openssl.hpp"

namespace ttygate::ktls {
namespace {

constexpr int handshake_finished = 20;
constexpr int handshake_key_update = 24;

// One process-wide index; OpenSSL frees each SSL's state through free_state().
void free_state(void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) {
  delete static_cast<OffloadState*>(ptr);
}

int state_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, free_state);
  return index;
}

// The callbacks get a const SSL* (keylog) or an SSL* (message): the state is created on the
// first callback, which is always the message callback for the first record.
OffloadState* state_for(const SSL* ssl) {
  int index = state_index();
  if (index < 0) return nullptr;
  SSL* mutable_ssl = const_cast<SSL*>(ssl);
  auto* state = static_cast<OffloadState*>(SSL_get_ex_data(ssl, index));
  if (state) return state;
  state = new (std::nothrow) OffloadState;
  if (state && SSL_set_ex_data(mutable_ssl, index, state) != 1) {
    delete state;
    state = nullptr;
  }
  return state;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Decodes the secret in place of target; false (target left empty) on any malformed digit.
bool decode_secret(std::string_view hex, SecretBytes& target) {
  std::array<std::uint8_t, SecretBytes::capacity> raw{};
  bool ok = hex.size() % 2 == 0 && hex.size() / 2 <= raw.size() && !hex.empty();
  for (std::size_t i = 0; ok && i < hex.size() / 2; ++i) {
    int hi = hex_value(hex[2 * i]), lo = hex_value(hex[2 * i + 1]);
    ok = hi >= 0 && lo >= 0;
    raw[i] = static_cast<std::uint8_t>(hi << 4 | lo);
  }
  target.clear();
  if (ok) target = *SecretBytes::from(std::span(raw.data(), hex.size() / 2));
  OPENSSL_cleanse(raw.data(), raw.size());
  return ok;
}

void on_keylog(const SSL* ssl, const char* line) {
  if (OffloadState* state = state_for(ssl)) absorb_keylog_line(*state, line);
}

// Record headers come before the handshake messages they carry, and OpenSSL switches a
// direction to its application key right after that direction's Finished: so a header counted
// here belongs to a record under the application key exactly when the Finished flag is set.
void on_message(int write_p, int, int content_type, const void* buf, std::size_t len, SSL* ssl,
                void*) {
  OffloadState* state = state_for(ssl);
  if (!state) return;
  bool sent = write_p == 1;
  if (content_type == SSL3_RT_HEADER) {
    if (sent && state->sent_finished) ++state->records_sent;
    if (!sent && state->received_finished) ++state->records_received;
    return;
  }
  if (content_type != SSL3_RT_HANDSHAKE || len == 0) return;
  int type = *static_cast<const unsigned char*>(buf);
  if (type == handshake_finished) (sent ? state->sent_finished : state->received_finished) = true;
  if (type == handshake_key_update) state->key_updated = true;
}

}  // namespace

void absorb_keylog_line(OffloadState& state, const char* line) {
  std::string_view text(line);
  std::size_t first = text.find(' ');
  std::size_t second = first == std::string_view::npos ? first : text.find(' ', first + 1);
  if (second == std::string_view::npos) return;
  std::string_view label = text.substr(0, first);
  SecretBytes* target = label == "CLIENT_TRAFFIC_SECRET_0"   ? &state.client_secret
                        : label == "SERVER_TRAFFIC_SECRET_0" ? &state.server_secret
                                                             : nullptr;
  if (target && !decode_secret(text.substr(second + 1), *target)) state.malformed = true;
}

Result<void> prepare_for_offload(SSL_CTX* ctx) {
  if (state_index() < 0) return openssl_error("no ex_data index for kernel TLS state");
  SSL_CTX_set_keylog_callback(ctx, on_keylog);
  SSL_CTX_set_msg_callback(ctx, on_message);
  return success();
}

const OffloadState* offload_state(const SSL* ssl) {
  int index = state_index();
  if (index < 0) return nullptr;
  return static_cast<const OffloadState*>(SSL_get_ex_data(ssl, index));
}

}  // namespace ttygate::ktls
