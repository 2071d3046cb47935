#include "daemon/session.hpp"

#include <openssl/err.h>

#include <ctime>

#include "common/log.hpp"
#include "daemon/gateway.hpp"
#include "daemon/relay.hpp"
#include "ktls/offload.hpp"
#include "ktls/tls_context.hpp"
#include "ktls/user_channel.hpp"

namespace ttygate::daemon {
namespace {
// Reads per wake-up before yielding to other sessions (fairness under a flood).
constexpr int kReadsPerWake = 16;
}  // namespace

Session::Session(Gateway& gateway, Relay& relay, std::uint64_t id, UniqueFd fd, Peer peer, SslPtr ssl)
    : gateway_(gateway), relay_(relay), id_(id), peer_(std::move(peer)), fd_(std::move(fd)), ssl_(std::move(ssl)) {
  SSL_set_app_data(ssl_.get(), this);
}

Session::~Session() = default;

std::string Session::who() const { return "Session " + std::to_string(id_) + " (" + peer_.text + ")"; }

ktls::Offload Session::offload() const { return channel_ ? channel_->offload() : ktls::Offload::user; }

void Session::start(std::chrono::milliseconds handshake_timeout) {
  handshake_timer_.set(gateway_.loop(), gateway_.loop().timeout(handshake_timeout, [this](int) {
    close("handshake timed out");
  }));
  step_handshake();
}

void Session::step_handshake() {
  ERR_clear_error();
  int rc = SSL_do_handshake(ssl_.get());
  if (rc == 1) return on_established();
  int err = SSL_get_error(ssl_.get(), rc);
  if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
    short events = err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT;
    input_wait_.set(gateway_.loop(), gateway_.loop().poll(fd_.get(), events, [this](int res) {
      if (res < 0) return close("socket error during handshake");
      step_handshake();
    }));
    return;
  }
  close("handshake failed: " + ktls::handshake_failure_reason(ssl_.get()));
}

void Session::leave_handshake() {
  handshake_timer_.reset();
  if (counted_as_handshake_) gateway_.handshake_finished(peer_);
  counted_as_handshake_ = false;
}

void Session::on_established() {
  leave_handshake();
  resumed_ = SSL_session_reused(ssl_.get()) == 1;
  auto pin = ktls::peer_pin(ssl_.get());
  if (candidate_) return enter_pairing(pin);
  // The pin was admitted inside the handshake; check it is still the same, still known client.
  if (!pin || *pin != pin_ || !gateway_.confirm(*this)) return close("client no longer admitted");
  if (auto channel = make_channel(); channel) {
    channel_ = std::move(*channel);
  } else {
    return close("kernel TLS hand-over failed: " + channel.error().message());
  }
  state_ = State::relaying;
  since_ = std::time(nullptr);
  last_payload_ = std::chrono::steady_clock::now();
  arm_key_age_timer();
  if (auto idle = gateway_.config().keepalive.session_idle; idle.count() > 0) arm_idle_timer(idle);
  if (!greeting_.empty()) from_device(std::as_bytes(std::span(greeting_)));  // before any device output
  relay_.attach(*this);
  gateway_.session_relaying(*this);
  log::info(who() + ": " + gateway_.client_name(pin_) + " relaying on port " + relay_.port().name + " as " +
            std::string(to_string(role_)) + ", TLS in " + std::string(ktls::to_string(channel_->offload())) +
            " space" + (resumed_ ? ", resumed" : ""));
  pump_input();
}

// The kernel takes the session when it can take the negotiated suite and OpenSSL holds nothing
// back (read-ahead is off, so after the client's Finished it has read nothing more); otherwise
// the session stays in user space, which is always correct, only slower.
Result<std::unique_ptr<ktls::Channel>> Session::make_channel() {
  const ktls::KernelTlsSupport& kernel = gateway_.kernel_tls();
  const SSL_CIPHER* cipher = SSL_get_current_cipher(ssl_.get());
  auto suite = cipher ? ktls::suite_from_id(SSL_CIPHER_get_protocol_id(cipher)) : std::nullopt;
  if (suite && kernel.supports(*suite)) {
    if (auto ready = ktls::check_ready(ssl_.get()); ready) return ktls::hand_over(std::move(ssl_), std::move(fd_));
    else
      log::debug(who() + ": staying in user space: " + ready.error().message());
  }
  // Read-ahead was off so the kernel could take over at the record boundary; in user space for
  // good, one read() may now take several records (and a whole small record in one go).
  SSL_set_read_ahead(ssl_.get(), 1);
  return std::unique_ptr<ktls::Channel>(std::make_unique<ktls::UserChannel>(std::move(ssl_), std::move(fd_)));
}

void Session::wait_input(short events) {
  input_wait_.set(gateway_.loop(), gateway_.loop().poll(channel_->fd(), events, [this](int res) {
    if (res < 0) return close("socket error");
    pump_input();
  }));
}

void Session::pump_input() {
  std::span<std::byte> buffer = gateway_.scratch();
  for (int i = 0; i < kReadsPerWake && relaying(); ++i) {
    if (input_blocked_) return;  // resume_input() restarts us
    ktls::IoStatus st = channel_->read(buffer);
    switch (st.kind) {
      case ktls::IoStatus::done: {
        bytes_in_ += st.bytes;
        count_traffic(st.bytes);
        if (role_ != Role::control) {
          bytes_dropped_ += st.bytes;
        } else if (!relay_.to_device(buffer.first(st.bytes), *this)) {
          input_blocked_ = true;
        }
        // Nothing decrypted left over: let poll say when the socket has more, rather than
        // spending a read() on EAGAIN for every frame. (Poll completes at once if it has.)
        if (relaying() && !input_blocked_ && !channel_->has_buffered_input()) return wait_input(POLLIN);
        break;
      }
      case ktls::IoStatus::wait:
        return wait_input(st.events);
      case ktls::IoStatus::closed:
        return close("peer closed the session");
      case ktls::IoStatus::failed:
        return close(st.error.message());
    }
  }
  // Still readable after a full share: come back after the others had their turn.
  if (relaying() && !input_blocked_)
    gateway_.loop().defer([this, id = id_] {
      if (gateway_.session(id) == this && relaying()) pump_input();
    });
}

void Session::resume_input() {
  if (!input_blocked_) return;
  input_blocked_ = false;
  pump_input();
}

void Session::from_device(std::span<const std::byte> data) {
  if (queued() == 0) {
    out_.clear();
    out_done_ = 0;
  }
  if (queued() + data.size() > gateway_.config().limits.session_buffer)
    return close("too slow: more than " + std::to_string(gateway_.config().limits.session_buffer) +
                 " bytes of device output queued");
  out_.insert(out_.end(), data.begin(), data.end());
  if (!output_wait_.armed()) flush_output();
}

void Session::flush_output() {
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
    return close(st.kind == ktls::IoStatus::closed ? "peer closed the session" : st.error.message());
  }
  out_.clear();
  out_done_ = 0;
  if (out_.capacity() > 64 * 1024) out_.shrink_to_fit();  // a burst is over: give memory back
}

void Session::wait_output(short events) {
  output_wait_.set(gateway_.loop(), gateway_.loop().poll(channel_->fd(), events, [this](int res) {
    if (res < 0) return close("socket error");
    flush_output();
  }));
}

// Keys are replaced after rekey_after_bytes of payload or rekey_after of time, whichever first.
void Session::count_traffic(std::size_t bytes) {
  last_payload_ = std::chrono::steady_clock::now();
  key_bytes_ += bytes;
  if (key_bytes_ >= gateway_.config().tls.rekey_after_bytes) update_keys("byte limit");
}

void Session::arm_key_age_timer() {
  key_age_timer_.set(gateway_.loop(), gateway_.loop().timeout(gateway_.config().tls.rekey_after, [this](int) {
    update_keys("age limit");
  }));
}

void Session::update_keys(const char* why) {
  if (!channel_->update_keys())
    return close(std::string("traffic keys reached their ") + why + " and this record layer can't update them; the client resumes");
  key_bytes_ = 0;
  arm_key_age_timer();
  log::debug(who() + ": traffic keys updated (" + why + ")");
  ++key_updates_;
}

void Session::arm_idle_timer(std::chrono::nanoseconds after) {
  idle_timer_.set(gateway_.loop(), gateway_.loop().timeout(after, [this](int) { on_idle_timer(); }));
}

// One timer per idle period, not one per byte: on expiry it checks when payload last moved.
void Session::on_idle_timer() {
  const auto idle = gateway_.config().keepalive.session_idle;
  const auto quiet = std::chrono::steady_clock::now() - last_payload_;
  if (quiet >= idle) return close("idle for " + std::to_string(idle.count()) + " s");
  arm_idle_timer(idle - quiet);
}

// The candidate keeps its SSL (the exporter comes from it). Without an exchange ("button",
// "auto") it is not read from: whatever it sends before the verdict waits in the socket, and
// only the peer leaving is watched for. With one, start_exchange() takes over the socket.
void Session::enter_pairing(const std::optional<ktls::Pin>& pin) {
  if (!pin || *pin != pin_) return close("pairing candidate presented another key");
  state_ = State::pairing;
  pairing_wait_.set(gateway_.loop(), gateway_.loop().poll(fd_.get(), POLLRDHUP, [this](int) {
    close("pairing candidate left");
  }));
  gateway_.pairing_candidate(*this);
}

// The exchange gets the handshake's time limit to finish; waiting for a person afterwards is
// bounded by the pairing window.
void Session::start_exchange(std::unique_ptr<ktls::pairing::GatewayExchange> exchange) {
  if (state_ != State::pairing) return;
  exchange_ = std::move(exchange);
  pairing_wait_.reset();
  handshake_timer_.set(gateway_.loop(), gateway_.loop().timeout(gateway_.config().limits.handshake_timeout, [this](int) {
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
    int n = SSL_read(ssl_.get(), buffer, sizeof buffer);
    if (n > 0) {
      exchange_in_.append(buffer, static_cast<std::size_t>(n));
      if (!feed_exchange()) return;
      continue;
    }
    int err = SSL_get_error(ssl_.get(), n);
    if (err != SSL_ERROR_WANT_READ && exchange_->awaits_proof()) {
      end_exchange({ktls::pairing::Step::failed, {}, {}, "wrong-passcode",
                    "the candidate left instead of proving the setup code"});
      return;
    }
    if (err != SSL_ERROR_WANT_READ) return close("pairing candidate left");
    pairing_wait_.set(gateway_.loop(), gateway_.loop().poll(fd_.get(), POLLIN, [this](int res) {
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
  if (SSL_write(ssl_.get(), line.data(), static_cast<int>(line.size())) == static_cast<int>(line.size())) return true;
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
  gateway_.pairing_exchange_ended(*this, step);
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
  if (state_ == State::pairing) {
    pairing_wait_.reset();
    SSL_shutdown(ssl_.get());  // close_notify, best effort: the socket is non-blocking
  }
  leave_handshake();
  state_ = State::closed;
  input_wait_.reset();
  output_wait_.reset();
  key_age_timer_.reset();
  idle_timer_.reset();
  if (was_relaying) {
    relay_.detach(*this);
    channel_->close_notify();
  }
  if (key_updates_ > 0) log::info(who() + ": traffic keys were updated " + std::to_string(key_updates_) + " times");
  log::info(who() + ": closed: " + std::string(reason) +
            (was_relaying ? " (in " + std::to_string(bytes_in_) + " B, out " + std::to_string(bytes_out_) + " B" +
                                (bytes_dropped_ ? ", " + std::to_string(bytes_dropped_) + " B of monitor input dropped"
                                                : "") +
                                ")"
                          : ""));
  gateway_.reap(*this);
}

}  // namespace ttygate::daemon
