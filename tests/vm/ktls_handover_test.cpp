// SPDX-License-Identifier: Apache-2.0
// Guest test: ttygate's kernel TLS hand-over against real kernel TLS (run by tests/vm/run).
//
// For each TLS 1.3 suite the kernel offers, a server built from ttygate's ktls/ code (context
// prepared with prepare_for_offload, OpenSSL handshake on a loopback socket, hand_over, then
// only the KernelChannel) talks to two kinds of real peer:
//   - an in-process OpenSSL client (its own thread) behind a small TCP proxy: data sent right
//     after its Finished, both directions byte-exact including a few MiB, close_notify both
//     ways, and a record with one byte flipped in transit, which must end the session with
//     nothing delivered;
//   - the openssl s_client command with a client certificate.
// Offload is proven per socket (getsockopt SOL_TLS returns the installed cipher) and per kernel
// (/proc/net/tls_stat). Each check prints one "VMTEST PASS|FAIL <name>" line; exit 1 on failure.
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/tls.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/ec.h>
#include <openssl/pem.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <future>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "ktls/kernel_channel.hpp"
#include "ktls/offload.hpp"
#include "ktls/secrets.hpp"

#ifndef SOL_TLS
#define SOL_TLS 282
#endif

using namespace ttygate;
using namespace ttygate::ktls;

namespace {

constexpr int timeout_ms = 30000;  // TCG is slow; a hung peer must still end the test
constexpr std::size_t big_size = 4 << 20;

int failures = 0;

// detail: shown on failure, or when it is a measurement worth reading on success.
void report(bool ok, const std::string& name, std::string detail = {}) {
  for (char& c : detail) c = c == '\n' ? ' ' : c;
  std::printf("VMTEST %s %s%s%s\n", ok ? "PASS" : "FAIL", name.c_str(), detail.empty() ? "" : ": ",
              detail.c_str());
  std::fflush(stdout);
  if (!ok) ++failures;
}

// ------------------------------------------------------------------ certificates and contexts

struct Credentials {
  EvpPkeyPtr key;
  X509Ptr cert;
};

Credentials make_credentials(const char* cn) {
  Credentials c{EvpPkeyPtr(EVP_EC_gen("P-256")), X509Ptr(X509_new())};
  X509* x = c.cert.get();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
  X509_gmtime_adj(X509_getm_notBefore(x), -60);
  X509_gmtime_adj(X509_getm_notAfter(x), 3600);
  X509_set_pubkey(x, c.key.get());
  X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn), -1, -1, 0);
  X509_set_issuer_name(x, X509_get_subject_name(x));
  X509_sign(x, c.key.get(), EVP_sha256());
  return c;
}

// Who is trusted is the pin module's business; here both sides only insist on a certificate.
int accept_any(int, X509_STORE_CTX*) { return 1; }

SslCtxPtr make_context(bool server, const Credentials& creds, std::string_view suite) {
  SslCtxPtr ctx(SSL_CTX_new(server ? TLS_server_method() : TLS_client_method()));
  SSL_CTX_use_certificate(ctx.get(), creds.cert.get());
  SSL_CTX_use_PrivateKey(ctx.get(), creds.key.get());
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_3_VERSION);
  SSL_CTX_set_ciphersuites(ctx.get(), std::string(suite).c_str());
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER | (server ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0),
                     accept_any);
  if (server) {
    SSL_CTX_set_num_tickets(ctx.get(), 2);  // their records count in the TX sequence
    if (!prepare_for_offload(ctx.get()).ok()) return nullptr;
  }
  return ctx;
}

// ------------------------------------------------------------------ sockets

UniqueFd listen_loopback(std::uint16_t& port) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd.get(), 4) != 0 ||
      ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    return UniqueFd();
  }
  port = ntohs(a.sin_port);
  return fd;
}

UniqueFd connect_loopback(std::uint16_t port) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return UniqueFd();
  return fd;
}

UniqueFd accept_with_timeout(int listener) {
  pollfd p{listener, POLLIN, 0};
  if (::poll(&p, 1, timeout_ms) != 1) return UniqueFd();
  return UniqueFd(::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC));
}

// Relays one connection; when armed, flips one byte in the next client->server record.
class TamperingProxy {
 public:
  explicit TamperingProxy(std::uint16_t server_port) : server_port_(server_port) {
    listener_ = listen_loopback(port_);
    thread_ = std::thread([this] { run(); });
  }
  ~TamperingProxy() { thread_.join(); }
  std::uint16_t port() const { return port_; }
  void arm() { armed_ = true; }
  bool tampered() const { return tampered_; }

 private:
  void run() {
    UniqueFd client = accept_with_timeout(listener_.get());
    UniqueFd server = connect_loopback(server_port_);
    if (!client || !server) return;
    pollfd fds[2] = {{client.get(), POLLIN, 0}, {server.get(), POLLIN, 0}};
    bool open[2] = {true, true};
    std::vector<unsigned char> buf(65536);
    while ((open[0] || open[1]) && ::poll(fds, 2, timeout_ms) > 0) {
      for (int i = 0; i < 2; ++i) {
        if (!open[i] || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        ssize_t n = ::read(fds[i].fd, buf.data(), buf.size());
        int to = fds[1 - i].fd;
        if (n <= 0) {
          open[i] = false;
          fds[i].events = 0;
          ::shutdown(to, SHUT_WR);
          continue;
        }
        if (i == 0) scan(buf.data(), static_cast<std::size_t>(n));
        for (ssize_t off = 0, w; off < n; off += w) {
          if ((w = ::write(to, buf.data() + off, static_cast<std::size_t>(n - off))) <= 0) return;
        }
      }
    }
  }
  // Follows the TLS record framing of the client's stream.
  void scan(unsigned char* data, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
      if (body_left_ == 0) {
        header_[header_got_++] = data[i];
        if (header_got_ == 5) {
          body_left_ = std::size_t{header_[3]} << 8 | header_[4];
          header_got_ = 0;
          flip_this_ = armed_ && !tampered_;
        }
        continue;
      }
      if (flip_this_ && body_left_ == 1) {  // the last byte of the tag
        data[i] ^= 0x01;
        tampered_ = true;
        flip_this_ = false;
      }
      --body_left_;
    }
  }

  std::uint16_t server_port_;
  std::uint16_t port_ = 0;
  UniqueFd listener_;
  std::atomic<bool> armed_{false};
  std::atomic<bool> tampered_{false};
  unsigned char header_[5]{};
  std::size_t header_got_ = 0;
  std::size_t body_left_ = 0;
  bool flip_this_ = false;
  std::thread thread_;
};

// ------------------------------------------------------------------ data

std::vector<std::byte> pattern(std::size_t size, std::uint64_t seed) {
  std::vector<std::byte> out(size);
  std::uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;
  for (auto& b : out) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    b = static_cast<std::byte>(x);
  }
  return out;
}

std::span<const std::byte> as_bytes(std::string_view s) {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

// ------------------------------------------------------------------ server side: the Channel

bool wait_for(int fd, short events) {
  pollfd p{fd, events, 0};
  return ::poll(&p, 1, timeout_ms) == 1;
}

// Reads exactly want.size() bytes; anything else (more, less, closed, failed) is an error.
std::string read_exact(Channel& ch, std::span<const std::byte> want) {
  std::vector<std::byte> got;
  std::vector<std::byte> scratch(16384);
  while (got.size() < want.size()) {
    std::size_t room = std::max(KernelChannel::min_read_buffer,
                                std::min(scratch.size(), want.size() - got.size()));
    IoStatus s = ch.read(std::span(scratch).first(room));
    if (s.kind == IoStatus::wait && wait_for(ch.fd(), s.events)) continue;
    if (s.kind == IoStatus::wait) return "timed out after " + std::to_string(got.size()) + " bytes";
    if (s.kind == IoStatus::closed) return "closed after " + std::to_string(got.size()) + " bytes";
    if (s.kind == IoStatus::failed) return "failed: " + s.error.message();
    got.insert(got.end(), scratch.begin(), scratch.begin() + static_cast<long>(s.bytes));
  }
  if (got.size() != want.size()) return "read " + std::to_string(got.size()) + " bytes, more than sent";
  if (std::memcmp(got.data(), want.data(), want.size()) != 0) return "bytes differ";
  return {};
}

std::string write_all(Channel& ch, std::span<const std::byte> data) {
  while (!data.empty()) {
    IoStatus s = ch.write(data);
    if (s.kind == IoStatus::wait && wait_for(ch.fd(), s.events)) continue;
    if (s.kind != IoStatus::done) return "write stopped: " + s.error.message();
    data = data.subspan(s.bytes);
  }
  return {};
}

// The next read must end the session: closed (want_closed) or failed, with no bytes.
IoStatus read_end(Channel& ch, std::size_t& delivered) {
  std::vector<std::byte> scratch(16384);
  for (;;) {
    IoStatus s = ch.read(scratch);
    if (s.kind == IoStatus::wait && wait_for(ch.fd(), s.events)) continue;
    if (s.kind != IoStatus::done) return s;
    delivered += s.bytes;
  }
}

std::string cipher_installed(int fd, int direction, std::uint16_t cipher) {
  tls_crypto_info info{};  // header only: the kernel then returns no key material
  socklen_t len = sizeof info;
  if (::getsockopt(fd, SOL_TLS, direction, &info, &len) != 0) {
    return std::string("getsockopt: ") + std::strerror(errno);
  }
  if (info.version != TLS_1_3_VERSION || info.cipher_type != cipher) {
    return "version " + std::to_string(info.version) + " cipher " + std::to_string(info.cipher_type);
  }
  return {};
}

std::map<std::string, long> tls_stat() {
  std::map<std::string, long> out;
  std::ifstream in("/proc/net/tls_stat");
  std::string name;
  long value;
  while (in >> name >> value) out[name] = value;
  return out;
}

std::uint16_t kernel_cipher(Suite suite) {
  switch (suite) {
    case Suite::aes_128_gcm_sha256: return TLS_CIPHER_AES_GCM_128;
    case Suite::aes_256_gcm_sha384: return TLS_CIPHER_AES_GCM_256;
    case Suite::chacha20_poly1305_sha256: return TLS_CIPHER_CHACHA20_POLY1305;
  }
  return 0;
}

// Whether the client writes right after its Finished (and so before the hand-over), or only
// once the test lets it, after the hand-over.
enum class ClientSpeaks { first, after_hand_over };

// Accepts and handshakes with OpenSSL; when the client speaks first, waits until its first bytes
// are queued on the socket; hands over.
// Whether this kernel re-keys kernel TLS (the start-up probe), given to every hand-over.
bool kernel_rekeys = false;

std::unique_ptr<Channel> accept_and_hand_over(SSL_CTX* ctx, int listener, const std::string& name,
                                              ClientSpeaks client) {
  UniqueFd fd = accept_with_timeout(listener);
  SslPtr ssl(SSL_new(ctx));
  if (!fd || !ssl || SSL_set_fd(ssl.get(), fd.get()) != 1 || SSL_accept(ssl.get()) != 1) {
    report(false, name + " handshake", "OpenSSL handshake failed");
    return nullptr;
  }
  // Data the client sent right after its Finished must be in the socket before the kernel takes
  // over: it is decrypted by the kernel, never by OpenSSL (read-ahead is off, so OpenSSL left
  // it there). Readable means it has arrived.
  if (client == ClientSpeaks::first && !wait_for(fd.get(), POLLIN)) {
    report(false, name + " client data before the hand-over", "nothing arrived");
    return nullptr;
  }
  Result<void> ready = check_ready(ssl.get());
  report(ready.ok(), name + " ready for hand-over", ready.ok() ? "" : ready.error().message());
  Result<std::unique_ptr<Channel>> ch = hand_over(std::move(ssl), std::move(fd), kernel_rekeys);
  report(ch.ok(), name + " hand_over", ch.ok() ? "" : ch.error().message());
  return ch.ok() ? std::move(ch).value() : nullptr;
}

// ------------------------------------------------------------------ client side: OpenSSL

struct Client {
  SslPtr ssl;
  UniqueFd fd;
  std::string error;  // first failure, empty if none

  bool connect(SSL_CTX* ctx, std::uint16_t port) {
    fd = connect_loopback(port);
    ssl.reset(SSL_new(ctx));
    if (!fd || !ssl || SSL_set_fd(ssl.get(), fd.get()) != 1 || SSL_connect(ssl.get()) != 1) {
      return fail("client handshake failed");
    }
    return true;
  }
  bool fail(std::string why) {
    if (error.empty()) error = std::move(why);
    return false;
  }
  bool write(std::span<const std::byte> data) {
    if (SSL_write(ssl.get(), data.data(), static_cast<int>(data.size())) != static_cast<int>(data.size())) {
      return fail("client write failed");
    }
    return true;
  }
  bool read_exact(std::span<const std::byte> want) {
    std::vector<std::byte> got(want.size());
    std::size_t have = 0;
    while (have < got.size()) {
      int n = SSL_read(ssl.get(), got.data() + have, static_cast<int>(got.size() - have));
      if (n <= 0) return fail("client read ended after " + std::to_string(have) + " bytes");
      have += static_cast<std::size_t>(n);
    }
    return std::memcmp(got.data(), want.data(), want.size()) == 0 || fail("client got other bytes");
  }
};

// ------------------------------------------------------------------ scenarios

void roundtrip(Suite suite, SSL_CTX* server_ctx, SSL_CTX* client_ctx) {
  const std::string name(to_string(suite));
  std::uint16_t port = 0;
  UniqueFd listener = listen_loopback(port);
  TamperingProxy proxy(port);
  const std::string first = "sent right after the client's Finished";
  const std::string hello = "kernel says hello after the tickets";
  const std::vector<std::byte> up = pattern(big_size, 1), down = pattern(big_size, 2);

  Client client;
  std::thread peer([&] {
    bool ok = client.connect(client_ctx, proxy.port()) && client.write(as_bytes(first)) &&
              client.read_exact(as_bytes(hello)) && client.write(up) && client.read_exact(down);
    if (!ok) return;
    SSL_shutdown(client.ssl.get());  // close_notify to the kernel
    char byte;
    int n = SSL_read(client.ssl.get(), &byte, 1);
    if (n != 0 || SSL_get_error(client.ssl.get(), n) != SSL_ERROR_ZERO_RETURN) {
      client.fail("client saw no close_notify from the kernel");
    }
  });

  std::unique_ptr<Channel> ch = accept_and_hand_over(server_ctx, listener.get(), name, ClientSpeaks::first);
  if (ch) {
    report(ch->offload() == Offload::kernel, name + " channel is the kernel's");
    std::string tx = cipher_installed(ch->fd(), TLS_TX, kernel_cipher(suite));
    std::string rx = cipher_installed(ch->fd(), TLS_RX, kernel_cipher(suite));
    report(tx.empty() && rx.empty(), name + " getsockopt SOL_TLS shows TX and RX", tx + rx);
    auto stat = tls_stat();
    report(stat["TlsCurrTxSw"] >= 1 && stat["TlsCurrRxSw"] >= 1, name + " /proc/net/tls_stat",
           "TlsCurrTxSw " + std::to_string(stat["TlsCurrTxSw"]) + " TlsCurrRxSw " +
               std::to_string(stat["TlsCurrRxSw"]));
    std::string r = read_exact(*ch, as_bytes(first));
    report(r.empty(), name + " data sent right after Finished arrives through the kernel", r);
    r = write_all(*ch, as_bytes(hello));
    report(r.empty(), name + " kernel TX continues after the tickets", r);
    r = read_exact(*ch, up);
    report(r.empty(), name + " 4 MiB client to kernel byte-exact", r);
    r = write_all(*ch, down);
    report(r.empty(), name + " 4 MiB kernel to client sent", r);
    std::size_t extra = 0;
    IoStatus end = read_end(*ch, extra);
    bool closed = end.kind == IoStatus::closed && extra == 0;
    report(closed, name + " client close_notify ends the read side",
           closed ? "" : end.error.message());
    ch->close_notify();
  }
  ch.reset();
  peer.join();
  report(client.error.empty(), name + " client saw every byte and the kernel's close_notify",
         client.error);
}

void tampered(Suite suite, SSL_CTX* server_ctx, SSL_CTX* client_ctx) {
  const std::string name(to_string(suite));
  std::uint16_t port = 0;
  UniqueFd listener = listen_loopback(port);
  TamperingProxy proxy(port);
  std::promise<void> handed_over, finished;
  std::shared_future<void> go = handed_over.get_future().share();
  std::shared_future<void> done = finished.get_future().share();

  Client client;
  std::thread peer([&] {
    if (!client.connect(client_ctx, proxy.port())) return;
    go.wait_for(std::chrono::milliseconds(timeout_ms));
    proxy.arm();
    client.write(as_bytes("this record is flipped on the way"));
    done.wait_for(std::chrono::milliseconds(timeout_ms));
  });

  std::unique_ptr<Channel> ch = accept_and_hand_over(server_ctx, listener.get(), name + " tamper",
                                                      ClientSpeaks::after_hand_over);
  handed_over.set_value();
  if (ch) {
    std::size_t delivered = 0;
    IoStatus end = read_end(*ch, delivered);
    bool ebadmsg = end.kind == IoStatus::failed &&
                   end.error.code() == std::error_code(EBADMSG, std::system_category());
    report(ebadmsg && delivered == 0 && proxy.tampered(),
           name + " flipped byte fails the session, nothing delivered",
           end.error.message() + ", " + std::to_string(delivered) + " bytes delivered");
  }
  ch.reset();
  finished.set_value();
  peer.join();
}

// The peer moves its key forward and asks for ours (update_requested). Linux 6.1 cannot take a
// second TLS_RX, so the channel must end the session in order (close_notify, closed with a
// reason) rather than fail on the next record. A kernel that re-keys keeps the session: the
// bytes under the peer's next key arrive exact, and our answer (our KeyUpdate, then our next
// key) lets the peer read what we send after it.
void key_update(Suite suite, SSL_CTX* server_ctx, SSL_CTX* client_ctx) {
  const std::string name = std::string(to_string(suite)) + " KeyUpdate";
  const std::string_view after = "under the next key";
  const std::string_view answer = "answered under ours";
  std::uint16_t port = 0;
  UniqueFd listener = listen_loopback(port);
  TamperingProxy proxy(port);
  std::promise<void> handed_over;
  std::shared_future<void> go = handed_over.get_future().share();

  Client client;
  std::thread peer([&] {
    if (!client.connect(client_ctx, proxy.port())) return;
    go.wait_for(std::chrono::milliseconds(timeout_ms));
    if (SSL_key_update(client.ssl.get(), SSL_KEY_UPDATE_REQUESTED) != 1) {
      client.fail("SSL_key_update failed");
      return;
    }
    client.write(as_bytes(after));
    if (kernel_rekeys) {
      std::string got(answer.size(), '\0');
      std::size_t have = 0;
      while (have < got.size()) {
        int n = SSL_read(client.ssl.get(), got.data() + have, static_cast<int>(got.size() - have));
        if (n <= 0) break;
        have += static_cast<std::size_t>(n);
      }
      if (got.substr(0, have) != answer) client.fail("client read \"" + got.substr(0, have) + "\" after our KeyUpdate");
    }
    char byte;
    int n = SSL_read(client.ssl.get(), &byte, 1);
    if (n != 0 || SSL_get_error(client.ssl.get(), n) != SSL_ERROR_ZERO_RETURN) {
      client.fail("client saw no close_notify after its KeyUpdate");
    }
  });

  std::unique_ptr<Channel> ch =
      accept_and_hand_over(server_ctx, listener.get(), name, ClientSpeaks::after_hand_over);
  handed_over.set_value();
  if (ch && kernel_rekeys) {
    std::string why = read_exact(*ch, as_bytes(after));
    report(why.empty(), name + " re-keys the receive side: the bytes after it arrive exact", why);
    why = write_all(*ch, as_bytes(answer));
    auto* kernel = dynamic_cast<KernelChannel*>(ch.get());
    report(why.empty() && kernel && kernel->key_updates_received() == 1 && kernel->key_updates_sent() == 1,
           name + " answers update_requested with its own KeyUpdate and next send key",
           why + (kernel ? " received " + std::to_string(kernel->key_updates_received()) + " sent " +
                               std::to_string(kernel->key_updates_sent())
                         : ""));
    ch->close_notify();
  } else if (ch) {
    std::size_t delivered = 0;
    IoStatus end = read_end(*ch, delivered);
    bool ended = end.kind == IoStatus::closed && delivered == 0 &&
                 end.error.message().find("KeyUpdate") != std::string::npos;
    report(ended, name + " ends the session in order",
           std::string(ended ? "" : "status " + std::to_string(end.kind) + ", ") +
               end.error.message());
  }
  ch.reset();
  peer.join();
  report(client.error.empty(), name + " client gets close_notify", client.error);
}

// Reaps the child once it exits: its pidfd becomes readable then. False when it is still
// running after timeout_ms (or the kernel has no pidfd_open, which 5.3 and later have).
bool exited_within_timeout(pid_t pid, int& status) {
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  if (!pidfd || !wait_for(pidfd.get(), POLLIN)) return false;
  return ::waitpid(pid, &status, WNOHANG) == pid;
}

bool write_pem(const std::string& path, const Credentials& c, bool key) {
  BioPtr bio(BIO_new_file(path.c_str(), "w"));
  return bio && (key ? PEM_write_bio_PrivateKey(bio.get(), c.key.get(), nullptr, nullptr, 0,
                                                 nullptr, nullptr)
                     : PEM_write_bio_X509(bio.get(), c.cert.get())) == 1;
}

// openssl s_client with a client certificate: stdin goes out right after its handshake.
void with_s_client(Suite suite, SSL_CTX* server_ctx, const Credentials& client_creds) {
  const std::string name = std::string(to_string(suite)) + " s_client";
  const std::string dir = "/tmp", crt = dir + "/vm-client.crt", key = dir + "/vm-client.key";
  if (!write_pem(crt, client_creds, false) || !write_pem(key, client_creds, true)) {
    return report(false, name, "cannot write the client certificate");
  }
  std::uint16_t port = 0;
  UniqueFd listener = listen_loopback(port);
  int in[2], out[2];
  if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0) return report(false, name, "pipe");
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(in[0], 0);
    ::dup2(out[1], 1);
    int err = ::open("/tmp/vm-s_client.err", O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ::dup2(err, 2);
    std::string connect = "127.0.0.1:" + std::to_string(port);
    ::execlp("openssl", "openssl", "s_client", "-connect", connect.c_str(), "-tls1_3",
             "-ciphersuites", std::string(to_string(suite)).c_str(), "-cert", crt.c_str(), "-key",
             key.c_str(), "-quiet", "-no_ign_eof", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  UniqueFd to_peer(in[1]), from_peer(out[0]);
  ::close(in[0]);
  ::close(out[1]);
  const std::string ping = "ping from s_client\n", pong = "pong from the kernel\n";
  (void)!::write(to_peer.get(), ping.data(), ping.size());

  std::unique_ptr<Channel> ch = accept_and_hand_over(server_ctx, listener.get(), name, ClientSpeaks::first);
  if (ch) {
    std::string r = read_exact(*ch, as_bytes(ping));
    report(r.empty(), name + " line sent with the handshake arrives through the kernel", r);
    r = write_all(*ch, as_bytes(pong));
    std::string seen;
    char buf[256];
    while (r.empty() && seen.find(pong) == std::string::npos && wait_for(from_peer.get(), POLLIN)) {
      ssize_t n = ::read(from_peer.get(), buf, sizeof buf);
      if (n <= 0) break;
      seen.append(buf, static_cast<std::size_t>(n));
    }
    bool printed = r.empty() && seen.find(pong) != std::string::npos;
    report(printed, name + " prints the reply",
           printed ? "" : r.empty() ? "s_client printed [" + seen + "]" : r);
    to_peer.reset();  // stdin EOF: s_client sends close_notify
    std::size_t extra = 0;
    IoStatus end = read_end(*ch, extra);
    bool closed = end.kind == IoStatus::closed && extra == 0;
    report(closed, name + " close_notify ends the read side", closed ? "" : end.error.message());
    ch->close_notify();
  }
  ch.reset();
  to_peer.reset();
  int status = 0;
  if (!exited_within_timeout(pid, status)) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
    report(false, name + " exits", "killed after timeout");
  }
}


}  // namespace

int main(int argc, char** argv) {
  // A peer thread may still write after the channel closed its end (6.1: the KeyUpdate ends the
  // session): EPIPE, not a dead test.
  std::signal(SIGPIPE, SIG_IGN);
  bool want_s_client = !(argc > 1 && std::string(argv[1]) == "--no-s_client");
  KernelTlsSupport support = probe_kernel_tls();
  report(support.ulp, "probe: kernel has the TLS ULP", support.reason);
  const Suite suites[] = {Suite::aes_128_gcm_sha256, Suite::aes_256_gcm_sha384,
                          Suite::chacha20_poly1305_sha256};
  for (Suite suite : suites) {
    report(support.supports(suite), std::string("probe: ") + std::string(to_string(suite)),
           support.reason);
  }
  // tests/vm/run says which kernel this is: "new" re-keys (Linux 6.14+), "6.1" answers EBUSY.
  const char* which = std::getenv("VMTEST_KERNEL");
  bool expect_rekey = which && std::string(which) == "new";
  kernel_rekeys = support.rekey;
  report(support.rekey == expect_rekey,
         std::string("probe: re-keying ") + (expect_rekey ? "works" : "is refused with EBUSY"),
         support.rekey ? "the kernel took a second TLS_TX key" : support.rekey_reason);
  if (!expect_rekey && support.rekey_reason.find("Device or resource busy") == std::string::npos) {
    report(false, "probe: re-keying refused with EBUSY", support.rekey_reason);
  }
  Credentials server_creds = make_credentials("ttygate-vm-server");
  Credentials client_creds = make_credentials("ttygate-vm-client");
  for (Suite suite : suites) {
    if (!support.supports(suite)) continue;
    SslCtxPtr server_ctx = make_context(true, server_creds, to_string(suite));
    SslCtxPtr client_ctx = make_context(false, client_creds, to_string(suite));
    if (!server_ctx || !client_ctx) {
      report(false, std::string(to_string(suite)) + " contexts");
      continue;
    }
    auto start = std::chrono::steady_clock::now();
    roundtrip(suite, server_ctx.get(), client_ctx.get());
    tampered(suite, server_ctx.get(), client_ctx.get());
    key_update(suite, server_ctx.get(), client_ctx.get());
    if (want_s_client) with_s_client(suite, server_ctx.get(), client_creds);
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - start);
    std::printf("VMTEST INFO %s scenarios took %lld ms\n", std::string(to_string(suite)).c_str(),
                static_cast<long long>(ms.count()));
  }
  auto stat = tls_stat();
  std::printf("VMTEST INFO tls_stat TlsTxSw %ld TlsRxSw %ld TlsDecryptError %ld\n", stat["TlsTxSw"],
              stat["TlsRxSw"], stat["TlsDecryptError"]);
  return failures == 0 ? 0 : 1;
}
