// SPDX-License-Identifier: Apache-2.0
// Session: one client connection, from accept to close.
//
//   handshaking ──pin known──▶ relaying ──▶ closed
//        │                        ▲
//        └─unknown pin, window open─▶ pairing ──accepted──┘   (refused, left: closed)
//
// During the handshake the SSL object drives the socket directly (daemon/handshake: socket BIO,
// read-ahead off) and the loop only tells it when the socket is ready. The client's pin is
// checked by the host's policy inside the handshake; a refused client gets an alert and never
// reaches the relay. A pairing candidate runs its pairing exchange on the same SSL until the
// verdict. Once established, the record layer moves into a Channel (user space or kernel) and
// the session relays: peer → device for control sessions (monitor input is read and dropped,
// and counted), device → peer for every session, with a bounded output queue.
//
// Everything the session needs of the gateway goes through SessionHost, and of the device
// through Relay, so tests drive it with a fake host, a socketpair and a pty. Handlers are small
// state transitions; a session that closes stays allocated until the loop has finished the
// current batch (the host reaps it through Loop::defer).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/coarse_clock.hpp"
#include "common/openssl.hpp"
#include "common/unique_fd.hpp"
#include "daemon/client_store.hpp"
#include "daemon/com_port.hpp"
#include "daemon/config.hpp"
#include "daemon/handshake.hpp"
#include "daemon/listener.hpp"
#include "daemon/loop.hpp"
#include "daemon/relay.hpp"
#include "daemon/session_tally.hpp"
#include "ktls/channel.hpp"
#include "ktls/pairing_protocol.hpp"
#include "ktls/pin.hpp"

namespace ttygate::daemon {

class Session;

// What a session needs of its gateway: the loop, the settings, the policy verdicts after the
// handshake, the pairing hooks, and to be told of its life's turns.
class SessionHost {
 public:
  virtual Loop& loop() = 0;
  virtual const Config& config() const = 0;
  virtual const ktls::KernelTlsSupport& kernel_tls() const = 0;
  // One TLS record of plaintext, shared by every session (all run on one thread).
  virtual std::span<std::byte> scratch() = 0;
  // Relaying sessions per port and per client: a session is counted exactly while it relays.
  virtual SessionTally& tally() = 0;
  // Right after the handshake: is the client still admitted, with the role it was admitted
  // with, and can the port take it? The host logs why not.
  virtual bool admit_established(const Session& session) = 0;
  virtual std::string client_name(const ktls::Pin& pin) const = 0;
  virtual void handshake_finished(const Peer& peer) = 0;
  // A connection closed before its handshake was done (failed, timed out, evicted): one line,
  // which a host facing floods logs at a bounded rate.
  virtual void handshake_closed(const Session& session, std::string_view reason);
  virtual void session_relaying(const Session& session) = 0;
  // The session closed; free it after the current batch.
  virtual void session_closed(Session& session) = 0;
  // An unknown client finished its handshake during a pairing window, and how its pairing
  // exchange ended (docs/pairing.md).
  virtual void pairing_candidate(Session& session) = 0;
  virtual void pairing_exchange_ended(Session& session, const ktls::pairing::Step& step) = 0;

 protected:
  ~SessionHost() = default;
};

class Session final : public RelaySubscriber, private ComPortOutput {
 public:
  // pairing: an unknown client's handshake finished during a pairing window; it waits for the
  // verdict and reaches neither the relay nor the device (docs/pairing.md).
  enum class State { handshaking, pairing, relaying, closed };

  Session(SessionHost& host, Relay& relay, std::uint64_t id, Handshake handshake, Peer peer);
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;
  ~Session();

  // hello_timeout: the shorter deadline for the whole ClientHello (0: none but the handshake's).
  void start(std::chrono::milliseconds handshake_timeout,
             std::chrono::milliseconds hello_timeout = std::chrono::milliseconds::zero());
  // Sends close_notify when established, releases the socket, detaches. Idempotent.
  void close(std::string_view reason) override;

  // Called by the host's pin policy when an unknown client may become a pairing candidate.
  void set_candidate(const ktls::Pin& pin) {
    pin_ = pin;
    candidate_ = true;
  }
  bool candidate() const { return candidate_; }
  // The handshake's SSL while the session still holds it (handshaking, pairing), else null.
  SSL* ssl() const { return handshake_ ? handshake_->ssl() : nullptr; }
  // A candidate in "code" or "passcode" mode: run the gateway's half of the pairing exchange on
  // this connection. Every line read is the exchange's, never the device's; a byte that is not
  // the next expected message, before the verdict, refuses the candidate ("protocol").
  void start_exchange(std::unique_ptr<ktls::pairing::GatewayExchange> exchange);
  // Pairing succeeded: tell the client "TTYGATE PAIRED <role>\n", then relay as a known client.
  void paired(Role role);
  // Called by the host's pin policy during the handshake once the client is known.
  void set_client(const ktls::Pin& pin, Role role) {
    pin_ = pin;
    role_ = role;
  }

  // RelaySubscriber: from the relay.
  void from_device(std::span<const std::byte> data) override;
  void resume_input() override;

  std::uint64_t id() const { return id_; }
  State state() const { return state_; }
  bool relaying() const override { return state_ == State::relaying; }
  Role role() const override { return role_; }
  const ktls::Pin& pin() const { return pin_; }
  const Peer& peer() const { return peer_; }
  Relay& relay() const { return relay_; }
  ktls::Offload offload() const;
  // How traffic keys are replaced: "keyupdate" (in place, user space or a kernel that re-keys),
  // "resume" (a kernel that can't: close_notify, the client resumes); "" before relaying.
  std::string_view rekey() const;
  std::uint64_t bytes_in() const { return bytes_in_; }
  std::uint64_t bytes_out() const { return bytes_out_; }
  std::uint64_t bytes_dropped() const { return bytes_dropped_; }
  std::size_t queued() const { return out_.size() - out_done_; }
  // When the connection was accepted, and whether its whole ClientHello arrived (eviction).
  std::chrono::steady_clock::time_point accepted() const { return accepted_; }
  bool hello_received() const { return handshake_ && handshake_->hello_received(); }
  // The handshake resumed an earlier session (a ticket, no certificates exchanged).
  bool resumed() const { return resumed_; }
  // What the session carries, chosen by ALPN: "raw" (the byte-exact relay) or "rfc2217"
  // (Telnet with RFC 2217 line control, daemon/com_port.hpp).
  std::string_view protocol() const { return com_ ? "rfc2217" : "raw"; }
  // When relaying started, seconds since the epoch (0 before).
  std::int64_t since() const { return since_; }

 private:
  void step_handshake();
  void leave_handshake();
  void on_established();
  void enter_pairing(const std::optional<ktls::Pin>& pin);
  void read_exchange();
  bool feed_exchange();
  bool send_exchange(const std::string& line);
  bool end_exchange(ktls::pairing::Step step);
  Result<std::unique_ptr<ktls::Channel>> make_channel();
  void wait_input(short events);
  void poll_input(short events);
  void pump_input();
  void queue_output(std::span<const std::byte> data);
  void flush_output();
  void start_com_port();
  bool feed_com_port(std::span<const std::byte> in);
  // ComPortOutput
  void send_to_peer(std::span<const std::uint8_t> bytes) override;
  void discard_to_device() override { relay_.discard_pending(); }
  void suspend_output(bool suspended) override;
  void wait_output(short events);
  std::string who() const;
  void count_traffic(std::size_t bytes);
  void arm_key_age_timer();
  void update_keys(const char* why);
  void arm_idle_timer(std::chrono::nanoseconds after);
  void on_idle_timer();

  SessionHost& host_;
  Relay& relay_;
  const std::uint64_t id_;
  Peer peer_;
  State state_ = State::handshaking;
  // Handshake and pairing: the socket and the SSL object; then both belong to channel_.
  std::optional<Handshake> handshake_;
  std::unique_ptr<ktls::Channel> channel_;
  ktls::Pin pin_{};
  Role role_ = Role::monitor;
  bool counted_as_handshake_ = true;  // in the gateway's concurrent-handshake count
  SessionTally::Token relaying_count_;  // held exactly while relaying (the session caps)
  Op handshake_timer_;
  Op hello_timer_;  // until the whole ClientHello arrived
  const std::chrono::steady_clock::time_point accepted_ = std::chrono::steady_clock::now();
  Op input_wait_;
  Op output_wait_;
  Op key_age_timer_;
  Op idle_timer_;
  Op input_turn_;  // more input to read after the other sessions had their turn
  std::uint64_t key_bytes_ = 0;
  std::uint64_t key_updates_ = 0;  // payload under the current traffic keys, both directions
  CoarseClock::time_point last_payload_{};  // stamped per transfer: never a system call
  bool input_blocked_ = false;  // the device queue is full
  std::vector<std::byte> out_;  // device output the peer hasn't taken yet
  std::size_t out_done_ = 0;
  std::uint64_t bytes_in_ = 0;
  std::uint64_t bytes_out_ = 0;
  std::uint64_t bytes_dropped_ = 0;
  bool resumed_ = false;
  std::int64_t since_ = 0;
  bool candidate_ = false;
  std::string greeting_;  // sent before any device output (the pairing verdict)
  Op pairing_wait_;       // a candidate's socket: watched for the peer leaving, or read by the exchange
  std::unique_ptr<ktls::pairing::GatewayExchange> exchange_;
  std::string exchange_in_;  // received, not yet a whole line
  bool wants_rfc2217_ = false;   // the client chose ttygate-rfc2217 (ALPN)
  std::unique_ptr<ComPort> com_;  // while relaying with RFC 2217
  bool output_suspended_ = false;  // FLOWCONTROL-SUSPEND from the peer
  std::vector<std::uint8_t> com_scratch_;
};

}  // namespace ttygate::daemon
