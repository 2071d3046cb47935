// SPDX-License-Identifier: Apache-2.0
// The measuring client's connections: plain TCP or pinned mutual TLS 1.3, configured exactly
// like every peer under test (TLS_AES_128_GCM_SHA256, group P-256, ECDSA P-256 with SHA-256).
//
// The client offers nothing else, so a peer that cannot restrict its own suite or group (socat
// 1.7.4) still negotiates the same parameters. The server is pinned to the public key of a given
// certificate; no CA is involved. Resumption: each connection keeps the newest ticket the server
// sent it (a real client remembers one per server); keep_ticket() moves it to the context's pool.
#pragma once

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <deque>
#include <stdexcept>
#include <string>

#include "common/openssl.hpp"
#include "ktls/pin.hpp"

namespace ttygate::bench {

struct ClientOptions {
  std::string host = "127.0.0.1";
  std::string port;
  std::string cert, key, server_cert;
  std::string groups = "P-256";  // key exchange groups offered, OpenSSL list syntax
  bool plain = false;
};

inline std::string openssl_reason() {
  char buf[256] = "no OpenSSL error";
  if (unsigned long e = ERR_get_error()) ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  return buf;
}

// Why an SSL call that returned r failed, in words: the OpenSSL error, or the socket's errno, or
// the peer closing the connection (which OpenSSL reports as SSL_ERROR_SYSCALL with no error).
inline std::string ssl_failure(SSL* ssl, int r) {
  int saved = errno;
  switch (SSL_get_error(ssl, r)) {
    case SSL_ERROR_SSL:
      return openssl_reason();
    case SSL_ERROR_ZERO_RETURN:
      return "peer sent close_notify";
    case SSL_ERROR_SYSCALL:
      if (ERR_peek_error()) return openssl_reason();
      ERR_clear_error();
      if (r == 0 || saved == 0) return "peer closed the connection";
      return std::string("socket: ") + strerror(saved);
    default:
      ERR_clear_error();
      return "SSL error " + std::to_string(SSL_get_error(ssl, r));
  }
}

// The newest ticket a connection received, owned by the SSL object (freed with it).
inline int held_ticket_index() {
  static const int index = SSL_get_ex_new_index(
      0, nullptr, nullptr, nullptr, [](void*, void* p, CRYPTO_EX_DATA*, int, long, void*) {
        if (p) SSL_SESSION_free(static_cast<SSL_SESSION*>(p));
      });
  return index;
}

class ClientContext {
 public:
  explicit ClientContext(const ClientOptions& o) : opts_(o) {
    if (o.plain) return;
    ctx_.reset(SSL_CTX_new(TLS_client_method()));
    SSL_CTX* c = ctx_.get();
    bool ok = c && SSL_CTX_set_min_proto_version(c, TLS1_3_VERSION) &&
              SSL_CTX_set_max_proto_version(c, TLS1_3_VERSION) &&
              SSL_CTX_set_ciphersuites(c, "TLS_AES_128_GCM_SHA256") &&
              SSL_CTX_set1_groups_list(c, o.groups.c_str()) && SSL_CTX_set1_sigalgs_list(c, "ECDSA+SHA256") &&
              SSL_CTX_use_certificate_chain_file(c, o.cert.c_str()) == 1 &&
              SSL_CTX_use_PrivateKey_file(c, o.key.c_str(), SSL_FILETYPE_PEM) == 1;
    if (!ok) throw std::runtime_error("client TLS context: " + openssl_reason());
    // Peers' certificates are self-signed envelopes: accept the chain, check the pin afterwards.
    SSL_CTX_set_verify(c, SSL_VERIFY_PEER, [](int, X509_STORE_CTX*) { return 1; });
    SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    held_ticket_index();
    SSL_CTX_sess_set_new_cb(c, [](SSL* ssl, SSL_SESSION* s) {
      // The server may send several tickets (two after a full handshake): the connection keeps
      // the newest, as a real client would, and frees the one it replaces.
      if (auto* old = static_cast<SSL_SESSION*>(SSL_get_ex_data(ssl, held_ticket_index()))) SSL_SESSION_free(old);
      SSL_set_ex_data(ssl, held_ticket_index(), s);
      return 1;  // we own the reference now
    });
    if (!o.server_cert.empty()) load_pin(o.server_cert);
  }
  ~ClientContext() {
    for (auto* s : sessions_) SSL_SESSION_free(s);
  }
  ClientContext(const ClientContext&) = delete;
  ClientContext& operator=(const ClientContext&) = delete;

  const ClientOptions& options() const { return opts_; }
  SSL_CTX* ctx() const { return ctx_.get(); }
  // Tickets may be single-use (OpenSSL's anti-replay): each connection takes one from the
  // pool and puts back the newest it received (keep_ticket).
  bool has_session() const { return !sessions_.empty(); }
  std::size_t sessions() const { return sessions_.size(); }
  static bool got_ticket(SSL* ssl) { return SSL_get_ex_data(ssl, held_ticket_index()) != nullptr; }
  // Moves the connection's newest ticket, if any, into the pool.
  void keep_ticket(SSL* ssl) {
    auto* s = static_cast<SSL_SESSION*>(SSL_get_ex_data(ssl, held_ticket_index()));
    if (!s) return;
    SSL_set_ex_data(ssl, held_ticket_index(), nullptr);
    keep_session(s);
  }
  SSL_SESSION* take_session() {
    if (sessions_.empty()) return nullptr;
    SSL_SESSION* s = sessions_.front();
    sessions_.pop_front();
    return s;
  }
  void keep_session(SSL_SESSION* s) {
    sessions_.push_back(s);
    if (sessions_.size() > 8192) {
      SSL_SESSION_free(sessions_.front());
      sessions_.pop_front();
    }
  }
  // Empty when the server's key is the pinned one (or nothing is pinned), else why not.
  std::string check_pin(SSL* ssl) const {
    if (!has_pin_) return {};
    X509* peer = SSL_get0_peer_certificate(ssl);
    if (!peer) return "server sent no certificate";
    auto p = ktls::pin_of(peer);
    if (!p || *p != pin_) return "server key does not match the pinned certificate";
    return {};
  }

 private:
  void load_pin(const std::string& path) {
    FILE* f = std::fopen(path.c_str(), "r");
    if (!f) throw std::runtime_error("cannot open " + path);
    X509Ptr cert(PEM_read_X509(f, nullptr, nullptr, nullptr));
    std::fclose(f);
    if (!cert) throw std::runtime_error("no certificate in " + path);
    auto p = ktls::pin_of(cert.get());
    if (!p) throw std::runtime_error("no usable key in " + path);
    pin_ = *p;
    has_pin_ = true;
  }

  ClientOptions opts_;
  SslCtxPtr ctx_;
  std::deque<SSL_SESSION*> sessions_;
  ktls::Pin pin_{};
  bool has_pin_ = false;
};

// The source address of the next loopback connection: 127.1.0.1, 127.1.0.2, ... Many clients
// are many hosts, and every system should see them so: ttygated limits handshakes per source
// address (limits.max_handshakes_per_source, limits.handshakes_per_source_per_minute).
inline in_addr next_loopback_source() {
  static std::uint32_t next = 0;
  std::uint32_t host = next++ % 0xfffe + 1;  // 1..0xfffe: never .0.0 or .255.255
  in_addr a{};
  a.s_addr = htonl((127u << 24) | (1u << 16) | host);
  return a;
}

// A TCP socket to the system under test, TCP_NODELAY set (frames are small and interactive).
inline int tcp_socket(const ClientOptions& o, bool nonblocking) {
  addrinfo hints{}, *res = nullptr;
  hints.ai_socktype = SOCK_STREAM;
  if (getaddrinfo(o.host.c_str(), o.port.c_str(), &hints, &res) != 0 || !res)
    throw std::runtime_error("cannot resolve " + o.host + ":" + o.port);
  int type = SOCK_STREAM | SOCK_CLOEXEC | (nonblocking ? SOCK_NONBLOCK : 0);
  int fd = socket(res->ai_family, type, 0);
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (res->ai_family == AF_INET &&
      (ntohl(reinterpret_cast<sockaddr_in*>(res->ai_addr)->sin_addr.s_addr) >> 24) == 127) {
    sockaddr_in source{};
    source.sin_family = AF_INET;
    source.sin_addr = next_loopback_source();
    if (bind(fd, reinterpret_cast<sockaddr*>(&source), sizeof source) != 0) {
      close(fd);
      return -1;
    }
  }
  int rc = connect(fd, res->ai_addr, res->ai_addrlen);
  freeaddrinfo(res);
  if (rc != 0 && !(nonblocking && errno == EINPROGRESS)) {
    close(fd);
    return -1;
  }
  return fd;
}

// One blocking connection: reads and writes whole buffers. Plain or TLS, same calls.
class Stream {
 public:
  explicit Stream(ClientContext& c) : ctx_(c) {
    fd_ = tcp_socket(c.options(), false);
    if (fd_ < 0) throw std::runtime_error("connect " + c.options().port + ": " + strerror(errno));
    timeval tv{15, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (c.options().plain) return;
    ssl_.reset(SSL_new(c.ctx()));
    SSL_set_fd(ssl_.get(), fd_);
    SSL_set_msg_callback(ssl_.get(), count_record);
    SSL_set_msg_callback_arg(ssl_.get(), &records_);
    if (int r = SSL_connect(ssl_.get()); r != 1) throw std::runtime_error("handshake: " + ssl_failure(ssl_.get(), r));
    std::string why = c.check_pin(ssl_.get());
    if (!why.empty()) throw std::runtime_error(why);
  }
  ~Stream() {
    if (ssl_) SSL_shutdown(ssl_.get());
    ssl_.reset();
    close(fd_);
  }
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  // TLS records (each with its 5-byte header) this client received and sent so far.
  struct Records {
    std::uint64_t in = 0, out = 0;
  };
  Records records() const { return records_; }

  // Fewer bytes than asked only at end of stream or error.
  std::size_t read_some(unsigned char* p, std::size_t n) {
    if (!ssl_) {
      ssize_t r = recv(fd_, p, n, 0);
      return r > 0 ? static_cast<std::size_t>(r) : 0;
    }
    int r = SSL_read(ssl_.get(), p, static_cast<int>(n));
    return r > 0 ? static_cast<std::size_t>(r) : 0;
  }
  bool read_full(unsigned char* p, std::size_t n) {
    for (std::size_t got = 0; got < n;) {
      std::size_t r = read_some(p + got, n - got);
      if (r == 0) return false;
      got += r;
    }
    return true;
  }
  bool write_full(const unsigned char* p, std::size_t n) {
    for (std::size_t put = 0; put < n;) {
      ssize_t r = ssl_ ? SSL_write(ssl_.get(), p + put, static_cast<int>(n - put))
                       : send(fd_, p + put, n - put, MSG_NOSIGNAL);
      if (r <= 0) return false;
      put += static_cast<std::size_t>(r);
    }
    return true;
  }

 private:
  ClientContext& ctx_;
  int fd_ = -1;
  SslPtr ssl_;
  Records records_;

  static void count_record(int write_p, int, int content_type, const void*, std::size_t, SSL*, void* arg) {
    if (content_type != SSL3_RT_HEADER) return;
    auto* r = static_cast<Records*>(arg);
    ++(write_p ? r->out : r->in);
  }
};

}  // namespace ttygate::bench
