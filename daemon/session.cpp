// SPDX-License-Identifier: Apache-2.0
#include "daemon/session.hpp"

#include <openssl/err.h>

#include <cerrno>
#include <ctime>

#include "common/log.hpp"
#include "ktls/offload.hpp"
#include "ktls/tls_context.hpp"

namespace ttygate::daemon {
namespace {
// Reads per wake-up before yielding to other sessions (fairness under a flood).
constexpr int kReadsPerWake = 16;

// An orderly end: the peer's close_notify, or this side's (with why, e.g. a KeyUpdate this
// kernel can't follow).
std::string ended(const ktls::IoStatus& st) {
  return st.error.code() ? "session ended: " + st.error.message() : "peer closed the session";
}
}  // namespace

Session::Session(SessionHost& host, Relay& relay, std::uint64_t id, Handshake handshake, Peer peer)
    : host_(host), relay_(relay), id_(id), peer_(std::move(peer)), handshake_(std::move(handshake)) {
  handshake_->set_app_data(this);
}

Session::~Session() = default;

std::string Session::who() const { return "Session " + std::to_string(id_) + " (" + peer_.text + ")"; }

ktls::Offload Session::offload() const { return channel_ ? channel_->offload() : ktls::Offload::user; }

std::string_view Session::rekey() const {
  return !channel_ ? "" : channel_->updates_keys_in_place() ? "keyupdate" : "resume";
}

void Session::start(std::chrono::milliseconds handshake_timeout, std::chrono::milliseconds hello_timeout) {
  handshake_timer_.set(host_.loop(), host_.loop().timeout(handshake_timeout, [this](int) {
    close("handshake timed out");
  }));
  if (hello_timeout.count() > 0 && hello_timeout < handshake_timeout)
    hello_timer_.set(host_.loop(), host_.loop().timeout(hello_timeout, [this](int) {
      close("handshake timed out before a whole ClientHello arrived (limits.hello_timeout_ms)");
    }));
  step_handshake();
}

void SessionHost::handshake_closed(const Session& session, std::string_view reason) {
  log::info("Session " + std::to_string(session.id()) + " (" + session.peer().text + "): closed: " + std::string(reason));
}

void Session::step_handshake() {
  Handshake::Step step = handshake_->step();
  if (hello_timer_.armed() && handshake_->hello_received()) hello_timer_.reset();
  switch (step.kind) {
    case Handshake::Step::done:
      return on_established();
    case Handshake::Step::want:
      input_wait_.set(host_.loop(), host_.loop().poll(handshake_->fd(), step.events, [this](int res) {
        if (res < 0) return close("socket error during handshake");
        step_handshake();
      }));
      return;
    case Handshake::Step::failed:
      return close(step.reason);
  }
}

void Session::leave_handshake() {
  handshake_timer_.reset();
  hello_timer_.reset();
  if (counted_as_handshake_) host_.handshake_finished(peer_);
  counted_as_handshake_ = false;
}

void Session::on_established() {
  leave_handshake();
  resumed_ = handshake_->resumed();
  auto pin = ktls::peer_pin(handshake_->ssl());
  if (candidate_) return enter_pairing(pin);
  // The pin was admitted inside the handshake; check it is still the same, still known client.
  if (!pin || *pin != pin_) return close("client presented another key than the one admitted");
  if (!host_.admit_established(*this)) return close("client no longer admitted");
  wants_rfc2217_ = ktls::selected_alpn(handshake_->ssl()) == ktls::kAlpnRfc2217;
  std::string stayed;
  auto channel = handshake_->into_channel(host_.kernel_tls(), &stayed);
  handshake_.reset();
  if (!channel) return close("kernel TLS hand-over failed: " + channel.error().message());
  if (!stayed.empty()) log::debug(who() + ": staying in user space: " + stayed);
  channel_ = std::move(*channel);
  // The loop receives for a user-space channel when it has its buffer ring (else, or when OpenSSL
  // can't make the BIO, the channel reads its socket after a poll, as always).
  if (host_.loop().receives_into_ring()) channel_->receive_from_loop();
  state_ = State::relaying;
  relaying_count_ = host_.tally().count(relay_, pin_);
  since_ = std::time(nullptr);
  last_payload_ = CoarseClock::now();
  arm_key_age_timer();
  if (auto idle = host_.config().keepalive.session_idle; idle.count() > 0) arm_idle_timer(idle);
  // Attached before anything that can close the session (the greeting's write, the Telnet
  // negotiation): close() detaches a relaying session, so a close can never leave it attached.
  relay_.attach(*this);
  if (!greeting_.empty()) from_device(std::as_bytes(std::span(greeting_)));  // before any device output
  if (wants_rfc2217_ && relaying()) start_com_port();
  if (!relaying()) return;  // closed on the way in: the host was told, nothing more to do
  host_.session_relaying(*this);
  log::info(who() + ": " + host_.client_name(pin_) + " relaying on port " + relay_.port().name + " as " +
            std::string(to_string(role_)) + ", TLS in " + std::string(ktls::to_string(channel_->offload())) +
            " space" + (com_ ? ", RFC 2217 line control" : "") + (resumed_ ? ", resumed" : ""),
            {log::port(relay_.port().name), log::client(ktls::fingerprint(pin_)), log::peer(peer_.text),
             log::session(id_)});
  pump_input();
}

// Waiting to read, a user-space channel has the loop receive into the shared buffer ring: one
// io_uring recv brings the bytes, with no poll before it and no read(2) after. The buffer is
// only lent for the handler: what the session did not read by then is copied (settle_input).
// A ring that was empty (-ENOBUFS) took nothing from the socket: poll this once, as before.
void Session::wait_input(short events) {
  if (events == POLLIN && channel_->takes_loop_input()) {
    input_wait_.set(host_.loop(), host_.loop().receive(channel_->fd(), [this](int res, std::span<const std::byte> data) {
      if (res == -ENOBUFS) return poll_input(POLLIN);
      channel_->lend_input(res, data);
      pump_input();
      channel_->settle_input();
    }));
    return;
  }
  poll_input(events);
}

void Session::poll_input(short events) {
  input_wait_.set(host_.loop(), host_.loop().poll(channel_->fd(), events, [this](int res) {
    if (res < 0) return close("socket error");
    pump_input();
  }));
}

void Session::pump_input() {
  std::span<std::byte> buffer = host_.scratch();
  for (int i = 0; i < kReadsPerWake && relaying(); ++i) {
    if (input_blocked_) return;  // resume_input() restarts us
    ktls::IoStatus st = channel_->read(buffer);
    switch (st.kind) {
      case ktls::IoStatus::done: {
        bytes_in_ += st.bytes;
        if (com_) {
          if (!feed_com_port(buffer.first(st.bytes))) return;
        } else if (role_ != Role::control) {
          bytes_dropped_ += st.bytes;
        } else if (!relay_.to_device(buffer.first(st.bytes), *this)) {
          input_blocked_ = true;
        }
        // After the bytes are delivered: a key limit may close the session (detaching it from
        // the relay), and a closed session must never be handed to the relay again.
        count_traffic(st.bytes);
        // Nothing decrypted left over: let poll say when the socket has more, rather than
        // spending a read() on EAGAIN for every frame. (Poll completes at once if it has.)
        if (relaying() && !input_blocked_ && !channel_->has_buffered_input()) return wait_input(POLLIN);
        break;
      }
      case ktls::IoStatus::wait:
        return wait_input(st.events);
      case ktls::IoStatus::closed:
        return close(ended(st));
      case ktls::IoStatus::failed:
        return close(st.error.message());
    }
  }
  // Still readable after a full share: come back after the others had their turn.
  if (relaying() && !input_blocked_) input_turn_.set(host_.loop(), host_.loop().defer([this] { pump_input(); }));
}

void Session::resume_input() {
  if (!input_blocked_) return;
  input_blocked_ = false;
  pump_input();
}

void Session::from_device(std::span<const std::byte> data) {
  if (!com_) return queue_output(data);
  com_scratch_.clear();
  com_->to_peer(std::span(reinterpret_cast<const std::uint8_t*>(data.data()), data.size()), com_scratch_);
  queue_output(std::as_bytes(std::span(com_scratch_)));
}

void Session::queue_output(std::span<const std::byte> data) {
  if (queued() == 0) {
    out_.clear();
    out_done_ = 0;
  }
  if (queued() + data.size() > host_.config().limits.session_buffer)
    return close("too slow: more than " + std::to_string(host_.config().limits.session_buffer) +
                 " bytes of device output queued");
  out_.insert(out_.end(), data.begin(), data.end());
  if (!output_wait_.armed() && !output_suspended_) flush_output();
}

// The port's line is one per device: the session subscribes to its notices for as long as it
// relays, and answers the client's Telnet negotiation from the start.
void Session::start_com_port() {
  com_ = std::make_unique<ComPort>(relay_.line(), static_cast<ComPortOutput&>(*this), role_);
  com_->start();
}

// False when the input was malformed and the session closed. Nothing of such input reaches the
// device; monitor sessions' data is dropped as in a raw session, their queries answered.
bool Session::feed_com_port(std::span<const std::byte> in) {
  std::vector<std::uint8_t> data;
  if (auto why = com_->from_peer(std::span(reinterpret_cast<const std::uint8_t*>(in.data()), in.size()), data)) {
    close(*why);
    return false;
  }
  if (!relaying()) return false;
  if (role_ != Role::control) {
    bytes_dropped_ += data.size();
  } else if (!data.empty() && !relay_.to_device(std::as_bytes(std::span(data)), *this)) {
    input_blocked_ = true;
  }
  return true;
}

void Session::send_to_peer(std::span<const std::uint8_t> bytes) {
  if (relaying()) queue_output(std::as_bytes(bytes));
}

void Session::suspend_output(bool suspended) {
  output_suspended_ = suspended;
  if (!suspended && queued() > 0 && !output_wait_.armed()) flush_output();
}

void Session::flush_output() {
  if (output_suspended_) return;  // FLOWCONTROL-RESUME flushes
  while (queued() > 0) {
    ktls::IoStatus st = channel_->write(std::span(out_).subspan(out_done_));
    if (st.kind == ktls::IoStatus::done) {
      out_done_ += st.bytes;
      bytes_out_ += st.bytes;
      count_traffic(st.bytes);
      if (!relaying()) return;
      continue;
    }
    if (st.kind == ktls::IoStatus::wait) return wait_output(st.events);
    return close(st.kind == ktls::IoStatus::closed ? ended(st) : st.error.message());
  }
  out_.clear();
  out_done_ = 0;
  if (out_.capacity() > 64 * 1024) out_.shrink_to_fit();  // a burst is over: give memory back
}

void Session::wait_output(short events) {
  output_wait_.set(host_.loop(), host_.loop().poll(channel_->fd(), events, [this](int res) {
    if (res < 0) return close("socket error");
    flush_output();
  }));
}

// Keys are replaced after rekey_after_bytes of payload or rekey_after of time, whichever first.
void Session::count_traffic(std::size_t bytes) {
  last_payload_ = CoarseClock::now();
  key_bytes_ += bytes;
  if (key_bytes_ >= host_.config().tls.rekey_after_bytes) update_keys("byte limit");
}

void Session::arm_key_age_timer() {
  key_age_timer_.set(host_.loop(), host_.loop().timeout(host_.config().tls.rekey_after, [this](int) {
    update_keys("age limit");
  }));
}

void Session::update_keys(const char* why) {
  ktls::KeyUpdateStart start = channel_->update_keys();
  if (start.kind == ktls::KeyUpdateStart::unsupported)
    return close(std::string("traffic keys reached their ") + why + " and this record layer can't update them; the client resumes");
  if (start.kind == ktls::KeyUpdateStart::failed)
    return close(std::string("updating the traffic keys at their ") + why + " failed: " + start.error.message());
  key_bytes_ = 0;
  arm_key_age_timer();
  log::debug(who() + ": traffic keys updated (" + why + ")");
  ++key_updates_;
}

void Session::arm_idle_timer(std::chrono::nanoseconds after) {
  idle_timer_.set(host_.loop(), host_.loop().timeout(after, [this](int) { on_idle_timer(); }));
}

// One timer per idle period, not one per byte: on expiry it checks when payload last moved.
void Session::on_idle_timer() {
  const auto idle = host_.config().keepalive.session_idle;
  const auto quiet = CoarseClock::now() - last_payload_;
  if (quiet >= idle) return close("idle for " + std::to_string(idle.count()) + " s");
  arm_idle_timer(idle - quiet);
}

// The candidate keeps its SSL (the exporter comes from it). Without an exchange ("button",
// "auto") it is not read from: whatever it sends before the verdict waits in the socket, and
// only the peer leaving is watched for. With one, start_exchange() takes over the socket.
void Session::enter_pairing(const std::optional<ktls::Pin>& pin) {
  if (!pin || *pin != pin_) return close("pairing candidate presented another key");
  state_ = State::pairing;
  pairing_wait_.set(host_.loop(), host_.loop().poll(handshake_->fd(), POLLRDHUP, [this](int) {
    close("pairing candidate left");
  }));
  host_.pairing_candidate(*this);
}

// The exchange gets the handshake's time limit to finish; waiting for a person afterwards is
// bounded by the pairing window.
void Session::start_exchange(std::unique_ptr<ktls::pairing::GatewayExchange> exchange) {
  if (state_ != State::pairing) return;
  exchange_ = std::move(exchange);
  pairing_wait_.reset();
  handshake_timer_.set(host_.loop(), host_.loop().timeout(host_.config().limits.handshake_timeout, [this](int) {
    if (!exchange_->finished()) end_exchange(ktls::pairing::Step{ktls::pairing::Step::failed, {}, {}, "protocol",
                                                                  "the pairing exchange timed out"});
  }));
  if (send_exchange(exchange_->opening())) read_exchange();
}

// Read-ahead is off, so each read takes at most one record: nothing past the exchange is ever
// consumed by OpenSSL on our behalf, and a later kernel hand-over stays exact.
void Session::read_exchange() {
  while (state_ == State::pairing) {
    char buffer[ktls::pairing::kMaxLine];
    ERR_clear_error();
    int n = SSL_read(handshake_->ssl(), buffer, sizeof buffer);
    if (n > 0) {
      exchange_in_.append(buffer, static_cast<std::size_t>(n));
      if (!feed_exchange()) return;
      continue;
    }
    int err = SSL_get_error(handshake_->ssl(), n);
    if (err != SSL_ERROR_WANT_READ && exchange_->awaits_proof()) {
      end_exchange({ktls::pairing::Step::failed, {}, {}, "wrong-passcode",
                    "the candidate left instead of proving the setup code"});
      return;
    }
    if (err != SSL_ERROR_WANT_READ) return close("pairing candidate left");
    pairing_wait_.set(host_.loop(), host_.loop().poll(handshake_->fd(), POLLIN, [this](int res) {
      if (res < 0) return close("socket error during pairing");
      read_exchange();
    }));
    return;
  }
}

// Hands every whole line to the exchange. False once the session is no longer in it.
bool Session::feed_exchange() {
  using ktls::pairing::Step;
  for (std::size_t end; (end = exchange_in_.find('\n')) != std::string::npos;) {
    std::string line = exchange_in_.substr(0, end);
    exchange_in_.erase(0, end + 1);
    Step step = exchange_->receive(line);
    if (!step.send.empty() && !send_exchange(step.send)) return false;
    if (step.kind != Step::more && !end_exchange(std::move(step))) return false;
  }
  if (exchange_in_.empty()) return true;
  if (exchange_->finished())
    return end_exchange(Step{Step::failed, {}, {}, "protocol", "bytes after the pairing exchange"});
  if (exchange_in_.size() >= ktls::pairing::kMaxLine)
    return end_exchange(Step{Step::failed, {}, {}, "protocol", "a pairing message longer than the protocol allows"});
  return true;
}

// A message of a few hundred bytes into a socket that has sent only the handshake: a full send
// buffer here means a peer that does not read, which refuses it like any other protocol error.
bool Session::send_exchange(const std::string& line) {
  ERR_clear_error();
  if (SSL_write(handshake_->ssl(), line.data(), static_cast<int>(line.size())) == static_cast<int>(line.size())) return true;
  using ktls::pairing::Step;
  return end_exchange(Step{Step::failed, {}, {}, "protocol", "could not send a pairing message"});
}

// An outcome goes to the gateway, which may accept (the session relays), refuse (it closes) or
// wait for a person. True while the session still runs the exchange.
bool Session::end_exchange(ktls::pairing::Step step) {
  using ktls::pairing::Step;
  if (step.kind != Step::failed && !exchange_in_.empty())
    step = Step{Step::failed, {}, {}, "protocol", "bytes after the pairing exchange"};
  if (step.kind != Step::more) handshake_timer_.reset();
  host_.pairing_exchange_ended(*this, step);
  return state_ == State::pairing;
}

void Session::paired(Role role) {
  if (state_ != State::pairing) return;
  pairing_wait_.reset();
  exchange_.reset();
  candidate_ = false;
  role_ = role;
  greeting_ = "TTYGATE PAIRED " + std::string(to_string(role)) + "\n";
  on_established();  // from here on exactly like a known client's handshake
}

void Session::close(std::string_view reason) {
  if (state_ == State::closed) return;
  bool was_relaying = relaying();
  bool was_handshaking = state_ == State::handshaking;
  if (state_ == State::pairing) {
    pairing_wait_.reset();
    handshake_->shutdown();  // close_notify, best effort: the socket is non-blocking
  }
  leave_handshake();
  state_ = State::closed;
  relaying_count_.release();
  input_wait_.reset();
  output_wait_.reset();
  key_age_timer_.reset();
  idle_timer_.reset();
  input_turn_.reset();
  if (com_) relay_.line().unsubscribe(*com_);
  if (was_relaying) {
    relay_.detach(*this);
    channel_->close_notify();
  }
  if (key_updates_ > 0) log::info(who() + ": traffic keys were updated " + std::to_string(key_updates_) + " times");
  if (was_handshaking) {
    host_.handshake_closed(*this, reason);
    return host_.session_closed(*this);
  }
  log::info(who() + ": closed: " + std::string(reason) +
            (was_relaying ? " (in " + std::to_string(bytes_in_) + " B, out " + std::to_string(bytes_out_) + " B" +
                                (bytes_dropped_ ? ", " + std::to_string(bytes_dropped_) + " B of monitor input dropped"
                                                : "") +
                                ")"
                          : ""),
            {log::port(relay_.port().name), log::client(was_relaying ? ktls::fingerprint(pin_) : ""),
             log::peer(peer_.text), log::session(id_)});
  host_.session_closed(*this);
}

}  // namespace ttygate::daemon
