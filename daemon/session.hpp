// Session: one client connection, from accept to close.
//
//   handshaking → relaying → closed
//
// During the handshake the SSL object drives the socket directly (socket BIO, read-ahead off)
// and the loop only tells it when the socket is ready. The client's pin is checked by the
// gateway inside the handshake; a refused client gets an alert and never reaches the relay.
// Once established, the record layer moves into a Channel (user space or kernel) and the
// session relays: peer → device for control sessions (monitor input is read and dropped, and
// counted), device → peer for every session, with a bounded output queue.
//
// Handlers are small state transitions; a session that closes stays allocated until the loop
// has finished the current batch (the gateway reaps it through Loop::defer).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/openssl.hpp"
#include "common/unique_fd.hpp"
#include "daemon/client_store.hpp"
#include "daemon/listener.hpp"
#include "daemon/loop.hpp"
#include "ktls/channel.hpp"
#include "ktls/pairing_protocol.hpp"
#include "ktls/pin.hpp"

namespace ttygate::daemon {

class Gateway;
class Relay;

class Session {
 public:
  // pairing: an unknown client's handshake finished during a pairing window; it waits for the
  // verdict and reaches neither the relay nor the device (docs/pairing.md).
  enum class State { handshaking, pairing, relaying, closed };

  Session(Gateway& gateway, Relay& relay, std::uint64_t id, UniqueFd fd, Peer peer, SslPtr ssl);
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;
  ~Session();

  void start(std::chrono::milliseconds handshake_timeout);
  // Sends close_notify when established, releases the socket, detaches. Idempotent.
  void close(std::string_view reason);

  // Called by the gateway's pin policy during the handshake once the client is known.
  // Called by the gateway's pin policy when an unknown client may become a pairing candidate.
  void set_candidate(const ktls::Pin& pin) {
    pin_ = pin;
    candidate_ = true;
  }
  bool candidate() const { return candidate_; }
  // The handshake's SSL while the session still holds it (handshaking, pairing), else null.
  SSL* ssl() const { return ssl_.get(); }
  // A candidate in "code" or "passcode" mode: run the gateway's half of the pairing exchange on
  // this connection. Every line read is the exchange's, never the device's; a byte that is not
  // the next expected message, before the verdict, refuses the candidate ("protocol").
  void start_exchange(std::unique_ptr<ktls::pairing::GatewayExchange> exchange);
  // Pairing succeeded: tell the client "TTYGATE PAIRED <role>\n", then relay as a known client.
  void paired(Role role);
  void set_client(const ktls::Pin& pin, Role role) {
    pin_ = pin;
    role_ = role;
  }

  // From the relay.
  void from_device(std::span<const std::byte> data);
  void resume_input();

  std::uint64_t id() const { return id_; }
  State state() const { return state_; }
  bool relaying() const { return state_ == State::relaying; }
  Role role() const { return role_; }
  const ktls::Pin& pin() const { return pin_; }
  const Peer& peer() const { return peer_; }
  Relay& relay() const { return relay_; }
  ktls::Offload offload() const;
  std::uint64_t bytes_in() const { return bytes_in_; }
  std::uint64_t bytes_out() const { return bytes_out_; }
  std::uint64_t bytes_dropped() const { return bytes_dropped_; }
  std::size_t queued() const { return out_.size() - out_done_; }
  // The handshake resumed an earlier session (a ticket, no certificates exchanged).
  bool resumed() const { return resumed_; }
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
  void pump_input();
  void flush_output();
  void wait_output(short events);
  std::string who() const;
  void count_traffic(std::size_t bytes);
  void arm_key_age_timer();
  void update_keys(const char* why);
  void arm_idle_timer(std::chrono::nanoseconds after);
  void on_idle_timer();

  Gateway& gateway_;
  Relay& relay_;
  const std::uint64_t id_;
  Peer peer_;
  State state_ = State::handshaking;
  // Handshake phase: the socket and the SSL object; then both belong to channel_.
  UniqueFd fd_;
  SslPtr ssl_;
  std::unique_ptr<ktls::Channel> channel_;
  ktls::Pin pin_{};
  Role role_ = Role::monitor;
  bool counted_as_handshake_ = true;  // in the gateway's concurrent-handshake count
  Op handshake_timer_;
  Op input_wait_;
  Op output_wait_;
  Op key_age_timer_;
  Op idle_timer_;
  std::uint64_t key_bytes_ = 0;
  std::uint64_t key_updates_ = 0;  // payload under the current traffic keys, both directions
  std::chrono::steady_clock::time_point last_payload_{};
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
};

}  // namespace ttygate::daemon
