// SPDX-License-Identifier: Apache-2.0
#include "ktls/tls_context.hpp"

#include <openssl/err.h>
#include <openssl/x509_vfy.h>

namespace ttygate::ktls {
namespace {

constexpr const char* kSuites =
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";
constexpr const char* kGroups = "X25519:P-256";

// Replaces X509_verify_cert: the only question is whether the leaf's key is one we pin.
int verify_by_pin(X509_STORE_CTX* store, void* arg) {
  auto* policy = static_cast<PeerPolicy*>(arg);
  X509* leaf = X509_STORE_CTX_get0_cert(store);
  auto* ssl = static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
  if (!leaf || !ssl) {
    X509_STORE_CTX_set_error(store, X509_V_ERR_UNSPECIFIED);
    return 0;
  }
  auto pin = pin_of(leaf);
  if (!pin || !policy->admit(ssl, *pin)) {
    X509_STORE_CTX_set_error(store, X509_V_ERR_CERT_REJECTED);
    return 0;
  }
  return 1;
}

Result<SslCtxPtr> make_context(const SSL_METHOD* method, const Identity& identity, PeerPolicy& policy) {
  SslCtxPtr ctx(SSL_CTX_new(method));
  if (!ctx) return openssl_error("creating TLS context");
  SSL_CTX* c = ctx.get();
  if (!SSL_CTX_set_min_proto_version(c, TLS1_3_VERSION) || !SSL_CTX_set_max_proto_version(c, TLS1_3_VERSION))
    return openssl_error("restricting to TLS 1.3");
  if (!SSL_CTX_set_ciphersuites(c, kSuites)) return openssl_error("setting TLS 1.3 suites");
  if (!SSL_CTX_set1_groups_list(c, kGroups)) return openssl_error("setting key exchange groups");
  SSL_CTX_set_options(c, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_CTX_set_max_early_data(c, 0);
  SSL_CTX_set_recv_max_early_data(c, 0);
  SSL_CTX_set_read_ahead(c, 0);
  // Idle sessions keep no record buffers; partial writes let the relay queue the rest itself.
  // No auto chain: the certificate is self-signed and pinned, there is no chain to send, and
  // OpenSSL would otherwise run a chain build (X509_verify_cert) on it in every handshake.
  SSL_CTX_set_mode(c, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE |
                          SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_NO_AUTO_CHAIN);
  if (SSL_CTX_use_certificate(c, identity.certificate.get()) != 1 ||
      SSL_CTX_use_PrivateKey(c, identity.key.get()) != 1 || SSL_CTX_check_private_key(c) != 1)
    return openssl_error("loading own certificate and key");
  SSL_CTX_set_verify(c, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  SSL_CTX_set_cert_verify_callback(c, verify_by_pin, &policy);
  return ctx;
}

int choose_alpn(SSL* ssl, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
                unsigned inlen, void* arg) {
  auto* policy = static_cast<AlpnPolicy*>(arg);
  for (unsigned i = 0; i < inlen;) {
    unsigned length = in[i];
    if (length == 0 || i + 1 + length > inlen) break;
    std::string_view protocol(reinterpret_cast<const char*>(in + i + 1), length);
    if ((protocol == kAlpnRaw || protocol == kAlpnRfc2217) && policy->allows(ssl, protocol)) {
      *out = in + i + 1;
      *outlen = static_cast<unsigned char>(length);
      return SSL_TLSEXT_ERR_OK;
    }
    i += 1 + length;
  }
  return SSL_TLSEXT_ERR_ALERT_FATAL;
}

}  // namespace

void select_alpn(SSL_CTX* ctx, AlpnPolicy& policy) { SSL_CTX_set_alpn_select_cb(ctx, choose_alpn, &policy); }

Result<void> offer_alpn(SSL* ssl, std::span<const std::string_view> protocols) {
  std::string wire;
  for (std::string_view p : protocols) {
    wire.push_back(static_cast<char>(p.size()));
    wire.append(p);
  }
  // Unlike most of OpenSSL, 0 is success here.
  if (SSL_set_alpn_protos(ssl, reinterpret_cast<const unsigned char*>(wire.data()), static_cast<unsigned>(wire.size())) != 0)
    return openssl_error("offering ALPN protocols");
  return success();
}

std::string selected_alpn(const SSL* ssl) {
  const unsigned char* data = nullptr;
  unsigned length = 0;
  SSL_get0_alpn_selected(ssl, &data, &length);
  return data ? std::string(reinterpret_cast<const char*>(data), length) : std::string();
}

bool FixedPinPolicy::admit(SSL*, const Pin& pin) {
  seen_ = pin;
  return !expected_ || *expected_ == pin;
}

Result<SslCtxPtr> make_server_context(const Identity& identity, PeerPolicy& policy) {
  auto ctx = make_context(TLS_server_method(), identity, policy);
  if (!ctx) return ctx;
  // No tickets unless a SessionCache (session_cache.hpp) is attached.
  SSL_CTX_set_num_tickets(ctx->get(), 0);
  SSL_CTX_set_session_cache_mode(ctx->get(), SSL_SESS_CACHE_OFF);
  return ctx;
}

Result<SslCtxPtr> make_client_context(const Identity& identity, PeerPolicy& policy) {
  return make_context(TLS_client_method(), identity, policy);
}

std::optional<Pin> peer_pin(const SSL* ssl) {
  X509* cert = SSL_get0_peer_certificate(ssl);
  if (!cert) return std::nullopt;
  auto pin = pin_of(cert);
  if (!pin) return std::nullopt;
  return *pin;
}

std::string handshake_failure_reason(const SSL* ssl) {
  std::string reason;
  if (long verify = SSL_get_verify_result(ssl); verify != X509_V_OK)
    reason = X509_verify_cert_error_string(verify);
  unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code != 0) {
    char buf[256];
    ERR_error_string_n(code, buf, sizeof buf);
    reason = reason.empty() ? buf : reason + " (" + buf + ")";
  }
  return reason.empty() ? "connection closed during handshake" : reason;
}

}  // namespace ttygate::ktls
