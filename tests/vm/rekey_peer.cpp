// SPDX-License-Identifier: Apache-2.0
// rekey_peer: a TLS 1.3 client that misbehaves with KeyUpdate, for the guest scenarios.
//
//   rekey_peer --port PORT --key FILE --cert FILE [--suite NAME] --mode stale|garbage|storm --marker TEXT
//
// Connects to 127.0.0.1:PORT with the client key (the gateway pins it), runs the handshake with
// OpenSSL, hands the session to kernel TLS (ktls/, so it needs a kernel that re-keys), sends
// "hello\n" and waits for its echo (the session is relaying), then:
//   stale    a KeyUpdate record, then MARKER under the old key (its send key never moves);
//   garbage  a KeyUpdate with an invalid request_update value (7), then MARKER;
//   storm    20 KeyUpdates with update_requested, each followed by its next send key as it
//            should be, with nothing between them, then MARKER under the right key.
// Then reads until the gateway ends the session and prints one line:
//   "rekey_peer: closed after N bytes" (close_notify or EOF), or "rekey_peer: failed: why".
// Exit 0 when the echo came back and the session then ended; 1 otherwise.
#include <arpa/inet.h>
#include <linux/tls.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "ktls/kernel_channel.hpp"
#include "ktls/offload.hpp"
#include "ktls/record_socket.hpp"
#include "ktls/secrets.hpp"
#include "ktls/tls_context.hpp"

using namespace ttygate;
using namespace ttygate::ktls;

namespace {

int usage() {
  std::fprintf(stderr, "usage: rekey_peer --port PORT --key FILE --cert FILE [--suite NAME] --mode stale|garbage|storm --marker TEXT\n");
  return 2;
}

bool send_record(int fd, std::uint8_t type, const std::vector<std::uint8_t>& payload) {
  return send_tls_record(fd, type, std::as_bytes(std::span(payload))) == static_cast<ssize_t>(payload.size());
}

bool send_all(int fd, std::string_view text) {
  return ::send(fd, text.data(), text.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(text.size());
}

// Reads through the channel (it follows the gateway's KeyUpdates) until want bytes or the end.
IoStatus read_some(Channel& ch, std::string& got, std::size_t want) {
  std::vector<std::byte> buffer(16384);
  for (;;) {
    IoStatus st = ch.read(buffer);
    if (st.kind == IoStatus::done) {
      got.append(reinterpret_cast<const char*>(buffer.data()), st.bytes);
      if (got.size() >= want) return st;
      continue;
    }
    if (st.kind != IoStatus::wait) return st;
    pollfd p{ch.fd(), st.events, 0};
    if (::poll(&p, 1, 20000) != 1) return IoStatus::failure(Error(std::make_error_code(std::errc::timed_out), "no answer in 20 s"));
  }
}

}  // namespace

int main(int argc, char** argv) {
  int port = 0;
  std::string key, cert, mode, marker, suite_name;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--port") port = std::atoi(argv[i + 1]);
    else if (a == "--key") key = argv[i + 1];
    else if (a == "--cert") cert = argv[i + 1];
    else if (a == "--mode") mode = argv[i + 1];
    else if (a == "--marker") marker = argv[i + 1];
    else if (a == "--suite") suite_name = argv[i + 1];
    else return usage();
  }
  if (!port || key.empty() || cert.empty() || marker.empty() ||
      (mode != "stale" && mode != "garbage" && mode != "storm")) {
    return usage();
  }
  auto fail = [](const std::string& why) {
    std::printf("rekey_peer: failed: %s\n", why.c_str());
    return 1;
  };

  Result<Identity> identity = load_identity({key, cert});
  if (!identity) return fail("client key: " + identity.error().message());
  FixedPinPolicy any_gateway(std::nullopt);
  Result<SslCtxPtr> ctx = make_client_context(*identity, any_gateway);
  if (!ctx) return fail(ctx.error().message());
  if (Result<void> r = prepare_for_offload(ctx->get()); !r) return fail(r.error().message());
  if (!suite_name.empty() && SSL_CTX_set_ciphersuites(ctx->get(), suite_name.c_str()) != 1) return fail("suite " + suite_name);

  UniqueFd fd(::socket(AF_INET, SOCK_STREAM, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return fail("connect");
  SslPtr ssl(SSL_new(ctx->get()));
  SSL_set_fd(ssl.get(), fd.get());
  if (SSL_connect(ssl.get()) != 1) return fail("handshake: " + handshake_failure_reason(ssl.get()));
  const SSL_CIPHER* cipher = SSL_get_current_cipher(ssl.get());
  Suite suite = *suite_from_id(static_cast<std::uint16_t>(SSL_CIPHER_get_protocol_id(cipher)));
  SecretBytes tx = offload_state(ssl.get())->client_secret;
  Result<std::unique_ptr<Channel>> channel = hand_over(std::move(ssl), std::move(fd), true);
  if (!channel) return fail("hand-over: " + channel.error().message());
  Channel& ch = **channel;
  int sock = ch.fd();

  std::string got;
  if (!send_all(sock, "hello\n")) return fail("send hello");
  IoStatus st = read_some(ch, got, 6);
  if (got != "hello\n") return fail("no echo of hello (" + st.error.message() + ")");
  got.clear();

  const std::vector<std::uint8_t> key_update{24, 0, 0, 1, 0};
  if (mode == "stale") {
    if (!send_record(sock, 22, key_update) || !send_all(sock, marker)) return fail("send");
  } else if (mode == "garbage") {
    if (!send_record(sock, 22, {24, 0, 0, 1, 7}) || !send_all(sock, marker)) return fail("send");
  } else {
    for (int i = 0; i < 20; ++i) {
      // The gateway may close mid-storm: a refused send is the expected end, not a failure.
      if (!send_record(sock, 22, {24, 0, 0, 1, 1})) break;
      Result<SecretBytes> next = next_traffic_secret(suite, tx.bytes());
      if (!next) return fail(next.error().message());
      if (Result<void> r = install_keys(sock, TLS_TX, suite, next->bytes(), 0); !r) return fail(r.error().message());
      tx = *next;
    }
    send_all(sock, marker);
  }
  st = read_some(ch, got, SIZE_MAX);
  if (st.kind == IoStatus::closed) {
    std::printf("rekey_peer: closed after %zu bytes\n", got.size());
    return 0;
  }
  // A gateway that fails the session may reset rather than close in order: say how it ended.
  std::printf("rekey_peer: ended after %zu bytes: %s\n", got.size(), st.error.message().c_str());
  return 0;
}
