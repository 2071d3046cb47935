// SPDX-License-Identifier: Apache-2.0
#include "ktls/offload.hpp"

#include <netinet/tcp.h>
#include <openssl/crypto.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>
#include <vector>

#include "common/loopback.hpp"
#include "ktls/kernel_channel.hpp"
#include "ktls/secrets.hpp"

#ifndef SOL_TLS
#define SOL_TLS 282
#endif
#ifndef TCP_ULP
#define TCP_ULP 31
#endif

namespace ttygate::ktls {
namespace {

constexpr Suite all_suites[] = {Suite::aes_128_gcm_sha256, Suite::aes_256_gcm_sha384,
                                Suite::chacha20_poly1305_sha256};

const char* kernel_aead(Suite suite) {
  return suite == Suite::chacha20_poly1305_sha256 ? "rfc7539(chacha20,poly1305)" : "gcm(aes)";
}

const char* direction_name(int direction) {
  return direction == TLS_TX ? "transmit (TLS_TX)" : "receive (TLS_RX)";
}

Error not_supported(std::string why) {
  return Error(std::make_error_code(std::errc::not_supported), std::move(why));
}

Error try_again(std::string why) {
  return Error(std::make_error_code(std::errc::resource_unavailable_try_again), std::move(why));
}

template <class Field>
void copy_into(Field& field, std::span<const std::uint8_t> bytes) {
  std::memcpy(field, bytes.data(), sizeof field);
}

void big_endian(unsigned char (&out)[8], std::uint64_t value) {
  for (int i = 7; i >= 0; --i, value >>= 8) out[i] = static_cast<unsigned char>(value);
}

std::string available_ulps() {
  std::ifstream in("/proc/sys/net/ipv4/tcp_available_ulp");
  std::string line;
  std::getline(in, line);
  return line.empty() ? "none" : line;
}

// Installs throwaway keys both ways on a fresh pair; empty string when the suite works. For the
// first suite that works, rekey says whether a second TLS_TX key was taken (set only then).
std::string probe_suite(Suite suite, bool& ulp, std::optional<Result<void>>& rekey) {
  Result<std::pair<UniqueFd, UniqueFd>> pair = loopback_pair();
  if (!pair) return "cannot probe kernel TLS: " + pair.error().message();
  int fd = pair->first.get();
  if (Result<void> r = attach_tls_ulp(fd); !r) {
    return r.error().message() + " (tcp_available_ulp: " + available_ulps() + ")";
  }
  ulp = true;
  std::vector<std::uint8_t> secret(hash_length(suite), 0x5a);
  for (int direction : {TLS_TX, TLS_RX}) {
    if (Result<void> r = install_keys(fd, direction, suite, secret, 0); !r) {
      return r.error().message();
    }
  }
  if (!rekey) {
    std::vector<std::uint8_t> next(hash_length(suite), 0xa5);
    rekey = install_keys(fd, TLS_TX, suite, next, 0);
  }
  return {};
}

Result<Suite> negotiated_suite(const SSL* ssl) {
  const SSL_CIPHER* cipher = SSL_get_current_cipher(ssl);
  std::optional<Suite> suite =
      cipher ? suite_from_id(static_cast<std::uint16_t>(SSL_CIPHER_get_protocol_id(cipher)))
             : std::nullopt;
  if (!suite) {
    return not_supported(std::string("cipher suite ") + (cipher ? SSL_CIPHER_get_name(cipher) : "?") +
                         " has no kernel TLS equivalent");
  }
  return *suite;
}

Result<void> check_session(const SSL* ssl) {
  if (!SSL_is_init_finished(ssl)) return not_supported("handshake not finished");
  if (SSL_version(ssl) != TLS1_3_VERSION) return not_supported("session is not TLS 1.3");
  if (SSL_get_shutdown(ssl) != 0) return not_supported("session is already closing");
  if (SSL_get_key_update_type(ssl) != SSL_KEY_UPDATE_NONE) {
    return not_supported("OpenSSL has a KeyUpdate to send");
  }
  const OffloadState* state = offload_state(ssl);
  if (!state) return not_supported("SSL_CTX was not prepared for kernel TLS (no captured secrets)");
  if (state->malformed || state->client_secret.empty() || state->server_secret.empty()) {
    return not_supported("application traffic secrets were not captured");
  }
  if (state->key_updated) return not_supported("a KeyUpdate already changed the traffic keys");
  Result<Suite> suite = negotiated_suite(ssl);
  if (!suite) return suite.error();
  if (state->client_secret.size() != hash_length(*suite) ||
      state->server_secret.size() != hash_length(*suite)) {
    return not_supported("captured secrets do not fit the cipher suite");
  }
  return success();
}

Result<void> check_buffers(const SSL* ssl) {
  if (int n = SSL_pending(ssl); n > 0) {
    return try_again("OpenSSL holds " + std::to_string(n) +
                     " decrypted bytes: relay them before hand-over");
  }
  if (SSL_has_pending(ssl)) return try_again("OpenSSL holds part of a record");
  BIO* rbio = SSL_get_rbio(ssl);
  if (rbio && BIO_ctrl_pending(rbio) > 0) {
    return try_again("the read BIO holds bytes the kernel would never see");
  }
  BIO* wbio = SSL_get_wbio(ssl);
  if (wbio && (BIO_ctrl_pending(wbio) > 0 || BIO_ctrl_wpending(wbio) > 0)) {
    return try_again("records are still waiting in the write BIO: flush them first");
  }
  if (SSL_want(ssl) == SSL_WRITING) return try_again("OpenSSL has a record half written");
  return success();
}

// Freeing the SSL must not close the socket the channel now owns.
void release_socket_bios(SSL* ssl) {
  for (BIO* bio : {SSL_get_rbio(ssl), SSL_get_wbio(ssl)}) {
    if (bio && BIO_method_type(bio) == BIO_TYPE_SOCKET) BIO_set_close(bio, BIO_NOCLOSE);
  }
}

}  // namespace

bool KernelTlsSupport::supports(Suite suite) const {
  switch (suite) {
    case Suite::aes_128_gcm_sha256: return aes_128_gcm;
    case Suite::aes_256_gcm_sha384: return aes_256_gcm;
    case Suite::chacha20_poly1305_sha256: return chacha20_poly1305;
  }
  return false;
}

KernelTlsSupport probe_kernel_tls() {
  KernelTlsSupport support;
  std::optional<Result<void>> rekey;
  for (Suite suite : all_suites) {
    std::string why = probe_suite(suite, support.ulp, rekey);
    bool works = why.empty();
    if (suite == Suite::aes_128_gcm_sha256) support.aes_128_gcm = works;
    if (suite == Suite::aes_256_gcm_sha384) support.aes_256_gcm = works;
    if (suite == Suite::chacha20_poly1305_sha256) support.chacha20_poly1305 = works;
    if (!works) support.reason += (support.reason.empty() ? "" : "; ") + why;
    if (!support.ulp) break;  // the same sentence for every suite
  }
  support.rekey = rekey && rekey->ok();
  if (rekey && !rekey->ok()) support.rekey_reason = rekey->error().message();
  return support;
}

CryptoInfo::CryptoInfo(Suite suite, const TrafficKeys& keys, std::uint64_t sequence) {
  std::span<const std::uint8_t> iv = keys.iv.bytes();
  auto fill_gcm = [&](auto& info, std::uint16_t cipher) {
    info.info = {TLS_1_3_VERSION, cipher};
    copy_into(info.key, keys.key.bytes());
    copy_into(info.salt, iv.first(4));  // RFC 8446 5.3: the kernel splits the IV as salt + iv
    copy_into(info.iv, iv.subspan(4));
    big_endian(info.rec_seq, sequence);
    size_ = sizeof info;
  };
  switch (suite) {
    case Suite::aes_128_gcm_sha256: fill_gcm(info_.aes_128_gcm, TLS_CIPHER_AES_GCM_128); break;
    case Suite::aes_256_gcm_sha384: fill_gcm(info_.aes_256_gcm, TLS_CIPHER_AES_GCM_256); break;
    case Suite::chacha20_poly1305_sha256: {
      auto& info = info_.chacha20_poly1305;
      info.info = {TLS_1_3_VERSION, TLS_CIPHER_CHACHA20_POLY1305};
      copy_into(info.key, keys.key.bytes());
      copy_into(info.iv, iv);
      big_endian(info.rec_seq, sequence);
      size_ = sizeof info;
      break;
    }
  }
}

CryptoInfo::~CryptoInfo() { OPENSSL_cleanse(&info_, sizeof info_); }

std::string ulp_errno_sentence(int err) {
  switch (err) {
    case ENOENT:
      return "the kernel has no TLS upper-layer protocol (built without CONFIG_TLS, or the tls "
             "module cannot be loaded)";
    case ENOPROTOOPT: return "the kernel does not know TCP_ULP (Linux 4.13 or later is needed)";
    case EEXIST: return "the socket already carries an upper-layer protocol";
    case ENOTCONN: return "the socket is not an established TCP connection";
    case EPERM: return "not permitted to attach the kernel TLS layer";
    default: return "the kernel refused to attach its TLS layer";
  }
}

std::string key_errno_sentence(int err, int direction, Suite suite) {
  std::string what = std::string(direction_name(direction)) + " keys for " +
                     std::string(to_string(suite));
  switch (err) {
    case ENOPROTOOPT:
      return "the kernel's TLS layer has no " + std::string(direction_name(direction)) +
             " offload (receive needs Linux 4.17 or later)";
    case EINVAL:
      return "the kernel's TLS layer does not take TLS 1.3 " + std::string(to_string(suite)) +
             " (TLS 1.3 needs Linux 5.1, ChaCha20-Poly1305 5.11)";
    case ENOENT:
    case ENOPKG:
      return "the kernel has no " + std::string(kernel_aead(suite)) +
             " AEAD (its crypto module is missing or cannot be loaded)";
    case EBUSY:
      return "the kernel already has " + std::string(direction_name(direction)) +
             " keys on this socket and cannot re-key it";
    case ENOMEM: return "the kernel ran out of memory installing " + what;
    default: return "the kernel refused the " + what;
  }
}

Result<void> attach_tls_ulp(int fd) {
  if (::setsockopt(fd, SOL_TCP, TCP_ULP, "tls", sizeof "tls") != 0) {
    int err = errno;
    return errno_error(ulp_errno_sentence(err), err);
  }
  return success();
}

Result<void> install_keys(int fd, int direction, Suite suite, std::span<const std::uint8_t> secret,
                          std::uint64_t sequence) {
  Result<TrafficKeys> keys = traffic_keys(suite, secret);
  if (!keys) return keys.error();
  CryptoInfo info(suite, *keys, sequence);
  if (::setsockopt(fd, SOL_TLS, direction, info.data(), info.size()) != 0) {
    int err = errno;
    return errno_error(key_errno_sentence(err, direction, suite), err);
  }
  return success();
}

Result<void> check_ready(const SSL* ssl) {
  if (Result<void> r = check_session(ssl); !r) return r;
  return check_buffers(ssl);
}

Result<std::unique_ptr<Channel>> hand_over(SslPtr ssl, UniqueFd fd, bool can_rekey) {
  release_socket_bios(ssl.get());  // fd has one owner, whatever happens below
  if (Result<void> r = check_ready(ssl.get()); !r) return r.error();
  int ssl_fd = SSL_get_fd(ssl.get());
  if (ssl_fd >= 0 && ssl_fd != fd.get()) return not_supported("socket is not the one under the SSL");
  Suite suite = *negotiated_suite(ssl.get());
  const OffloadState& state = *offload_state(ssl.get());
  bool is_server = SSL_is_server(ssl.get()) == 1;
  const SecretBytes& tx = is_server ? state.server_secret : state.client_secret;
  const SecretBytes& rx = is_server ? state.client_secret : state.server_secret;

  if (Result<void> r = attach_tls_ulp(fd.get()); !r) return r.error();
  if (Result<void> r = install_keys(fd.get(), TLS_TX, suite, tx.bytes(), state.records_sent); !r) {
    return r.error();
  }
  if (Result<void> r = install_keys(fd.get(), TLS_RX, suite, rx.bytes(), state.records_received);
      !r) {
    return r.error();
  }
  auto channel = std::make_unique<KernelChannel>(std::move(fd), suite, rx, tx, is_server, can_rekey);
  ssl.reset();  // wipes the captured secrets with the rest of OpenSSL's state
  return std::unique_ptr<Channel>(std::move(channel));
}

}  // namespace ttygate::ktls
