// SPDX-License-Identifier: Apache-2.0
// Offload: moving a finished TLS 1.3 session from OpenSSL into the kernel's TLS layer.
//
// OpenSSL 3.0 runs the handshake; the kernel then protects every record, both directions, so
// the relay moves plaintext with plain send/recv (and io_uring) and no copy through user space
// crypto. The hand-over is a one-way door: once TCP_ULP "tls" is attached the socket cannot go
// back to OpenSSL, so everything that can be checked is checked before (check_ready), and any
// failure after that point closes the connection.
//
// Contract for the session code (see hand_over):
//   1. Make the SSL_CTX with prepare_for_offload() (secrets.hpp); keep read-ahead off. During
//      the handshake OpenSSL must read from the socket itself (SSL_set_fd or a socket BIO): a
//      memory BIO that was fed more bytes than OpenSSL consumed makes hand-over impossible.
//   2. After SSL_do_handshake() returned 1, relay anything SSL_read already returned, and flush
//      every pending write. check_ready() says whether OpenSSL still holds bytes; when it does,
//      keep going in user space (a UserChannel) or retry once they are drained.
//   3. hand_over(ssl, fd): on success the Channel owns the socket and the SSL is gone.
//
// Threading: everything here is synchronous and touches only its arguments; the probe opens
// and closes a few loopback sockets.
#pragma once

#include <linux/tls.h>
#include <sys/socket.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "common/openssl.hpp"
#include "common/result.hpp"
#include "common/unique_fd.hpp"
#include "ktls/channel.hpp"
#include "ktls/key_schedule.hpp"

namespace ttygate::ktls {

// What the running kernel can offload. A suite counts only if both TLS_TX and TLS_RX installed.
struct KernelTlsSupport {
  bool ulp = false;  // TCP_ULP "tls" can be attached
  bool aes_128_gcm = false;
  bool aes_256_gcm = false;
  bool chacha20_poly1305 = false;
  // TLS 1.3 re-keying (Linux 6.14): a second TLS_TX on the same socket replaces the key. False
  // when it answers EBUSY (6.1): a KeyUpdate then ends the session and the client resumes.
  bool rekey = false;
  std::string rekey_reason;  // why not, when rekey is false and a suite works
  std::string reason;  // empty when everything works; else sentences saying what is missing

  bool supports(Suite suite) const;
  bool any() const { return aes_128_gcm || aes_256_gcm || chacha20_poly1305; }
};

// Start-up probe: attaches the TLS layer to loopback TCP pairs and installs throwaway keys for
// each suite (this also makes the kernel load the tls and AEAD modules), then installs the send
// key a second time to learn whether the kernel re-keys (0) or not (EBUSY). A few milliseconds;
// call once and keep the answer.
KernelTlsSupport probe_kernel_tls();

// The key block one setsockopt(SOL_TLS, TLS_TX or TLS_RX) takes. Wiped on destruction.
class CryptoInfo {
 public:
  CryptoInfo(Suite suite, const TrafficKeys& keys, std::uint64_t sequence);
  CryptoInfo(const CryptoInfo&) = delete;
  CryptoInfo& operator=(const CryptoInfo&) = delete;
  ~CryptoInfo();

  const void* data() const { return &info_; }
  socklen_t size() const { return size_; }
  const tls_crypto_info& header() const { return info_.header; }

 private:
  union {
    tls_crypto_info header;
    tls12_crypto_info_aes_gcm_128 aes_128_gcm;
    tls12_crypto_info_aes_gcm_256 aes_256_gcm;
    tls12_crypto_info_chacha20_poly1305 chacha20_poly1305;
  } info_{};
  socklen_t size_ = 0;
};

// Sentences naming what the kernel lacks, for an errno from setsockopt(TCP_ULP "tls") and from
// setsockopt(SOL_TLS, TLS_TX/TLS_RX). Errors carry them as context.
std::string ulp_errno_sentence(int err);
std::string key_errno_sentence(int err, int direction, Suite suite);

// Attaches the TLS layer: setsockopt(TCP_ULP, "tls").
Result<void> attach_tls_ulp(int fd);
// Derives key and IV from secret and installs them for direction (TLS_TX or TLS_RX), the next
// record having number sequence. Used at hand-over and for KeyUpdate.
Result<void> install_keys(int fd, int direction, Suite suite, std::span<const std::uint8_t> secret,
                          std::uint64_t sequence);

// Whether ssl can be handed over now, without touching anything. Fails (errc::not_supported)
// for something that will never work for this session: not TLS 1.3, a suite the kernel path
// does not know, a context not prepared, secrets stale after a KeyUpdate, a closed session. Fails
// (errc::resource_unavailable_try_again) while OpenSSL holds decrypted plaintext, part of a
// record, or unsent records: drain and retry, or stay in user space.
Result<void> check_ready(const SSL* ssl);

// Hands the session on fd (the connected TCP socket under ssl) to the kernel: check_ready,
// derive both directions' keys from the captured secrets, attach the ULP, install TLS_TX and
// TLS_RX with the counted sequence numbers, wipe the keys and free the SSL.
//
// On success the returned Channel (offload() == kernel) owns fd; it keeps only the current
// traffic secrets and the suite, for KeyUpdate. If check_ready fails, nothing was touched but the
// SSL and fd are consumed all the same: call check_ready first to keep a user-space fallback. Any
// later failure leaves a socket that is neither plain nor OpenSSL's: it is closed.
// can_rekey: KernelTlsSupport::rekey, so the channel follows KeyUpdates in place.
Result<std::unique_ptr<Channel>> hand_over(SslPtr ssl, UniqueFd fd, bool can_rekey = false);

}  // namespace ttygate::ktls
