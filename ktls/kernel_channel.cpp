// SPDX-License-Identifier: Apache-2.0
#include "ktls/kernel_channel.hpp"

#include <linux/tls.h>

#include <array>
#include <cerrno>
#include <optional>


namespace ttygate::ktls {
namespace {

constexpr std::uint8_t alert_close_notify = 0;
constexpr std::uint8_t alert_level_warning = 1;

Error protocol_error(std::string why) {
  return Error(std::make_error_code(std::errc::protocol_error), std::move(why));
}

std::uint8_t byte_at(std::span<const std::byte> bytes, std::size_t i) {
  return std::to_integer<std::uint8_t>(bytes[i]);
}

RecordVerdict failed(std::string why) { return {RecordVerdict::failed, false, protocol_error(std::move(why))}; }

RecordVerdict classify_alert(std::span<const std::byte> payload) {
  if (payload.size() != 2) return failed("malformed alert record");
  std::uint8_t description = byte_at(payload, 1);
  if (description == alert_close_notify) return {RecordVerdict::closed};
  return failed("peer sent alert " + alert_name(description));
}

// A handshake record after the handshake holds whole messages: type(1) length(3) body.
RecordVerdict classify_handshake(std::span<const std::byte> payload, bool is_server) {
  std::size_t offset = 0;
  std::optional<RecordVerdict> verdict;
  while (offset < payload.size()) {
    if (payload.size() - offset < 4) return failed("truncated handshake message");
    std::uint8_t type = byte_at(payload, offset);
    std::size_t length = std::size_t{byte_at(payload, offset + 1)} << 16 |
                         std::size_t{byte_at(payload, offset + 2)} << 8 | byte_at(payload, offset + 3);
    if (payload.size() - offset - 4 < length) return failed("truncated handshake message");
    std::span<const std::byte> body = payload.subspan(offset + 4, length);
    offset += 4 + length;
    if (type == handshake_new_session_ticket && !is_server) {
      if (!verdict) verdict = RecordVerdict{RecordVerdict::ignore};
      continue;
    }
    // A KeyUpdate must be the last message under the old key (RFC 8446 5.1).
    if (type != handshake_key_update || length != 1 || byte_at(body, 0) > 1 || verdict ||
        offset != payload.size()) {
      return failed("unexpected handshake message " + std::to_string(type) + " after hand-over");
    }
    return {RecordVerdict::key_update, byte_at(body, 0) == 1};
  }
  return verdict ? *verdict : failed("empty handshake record");
}

IoStatus receive_failure(int err) {
  switch (err) {
    case EBADMSG:
      return IoStatus::failure(errno_error("a record failed authentication (corrupted or forged in "
                                           "transit)", err));
    case EMSGSIZE: return IoStatus::failure(errno_error("peer sent an oversized record", err));
    case EIO: return IoStatus::failure(errno_error("kernel could not deliver a TLS record", err));
    case EKEYEXPIRED:
      return IoStatus::failure(errno_error("the kernel holds records under a receive key this side "
                                           "never derived (a KeyUpdate was missed)", err));
    default: return IoStatus::failure(errno_error("receive", err));
  }
}

}  // namespace

std::string alert_name(std::uint8_t description) {
  switch (description) {
    case 0: return "close_notify";
    case 10: return "unexpected_message";
    case 20: return "bad_record_mac";
    case 22: return "record_overflow";
    case 40: return "handshake_failure";
    case 42: return "bad_certificate";
    case 43: return "unsupported_certificate";
    case 44: return "certificate_revoked";
    case 45: return "certificate_expired";
    case 46: return "certificate_unknown";
    case 47: return "illegal_parameter";
    case 48: return "unknown_ca";
    case 49: return "access_denied";
    case 50: return "decode_error";
    case 51: return "decrypt_error";
    case 70: return "protocol_version";
    case 71: return "insufficient_security";
    case 80: return "internal_error";
    case 86: return "inappropriate_fallback";
    case 90: return "user_canceled";
    case 109: return "missing_extension";
    case 110: return "unsupported_extension";
    case 112: return "unrecognized_name";
    case 113: return "bad_certificate_status_response";
    case 115: return "unknown_psk_identity";
    case 116: return "certificate_required";
    case 120: return "no_application_protocol";
    default: return "alert " + std::to_string(description);
  }
}

RecordVerdict classify_record(std::uint8_t type, std::span<const std::byte> payload, bool is_server) {
  switch (type) {
    case record_application_data: return {RecordVerdict::data};
    case record_alert: return classify_alert(payload);
    case record_handshake: return classify_handshake(payload, is_server);
    default: return failed("unexpected record type " + std::to_string(type) + " after hand-over");
  }
}

KernelChannel::KernelChannel(std::unique_ptr<RecordSocket> socket, Suite suite,
                             SecretBytes rx_secret, SecretBytes tx_secret, bool is_server,
                             bool can_rekey)
    : socket_(std::move(socket)),
      suite_(suite),
      rx_secret_(std::move(rx_secret)),
      tx_secret_(std::move(tx_secret)),
      is_server_(is_server),
      can_rekey_(can_rekey) {}

IoStatus KernelChannel::fail(Error error) {
  failure_ = error;
  return IoStatus::failure(std::move(error));
}

IoStatus KernelChannel::read(std::span<std::byte> buffer) {
  if (failure_) return IoStatus::failure(*failure_);
  if (buffer.size() < min_read_buffer) {
    return IoStatus::failure(Error(std::make_error_code(std::errc::invalid_argument),
                                   "read buffer smaller than a control record"));
  }
  // An owed KeyUpdate goes out as soon as the socket takes it, whoever calls first.
  if (std::optional<IoStatus> st = send_owed_update(); st && st->kind == IoStatus::failed) return *st;
  for (;;) {
    std::uint8_t type;
    ssize_t n = socket_->receive(buffer, type);
    if (n == -EAGAIN || n == -EWOULDBLOCK) {
      may_hold_record_ = false;
      return IoStatus::wait_for(owe_update_ ? POLLIN | POLLOUT : POLLIN);
    }
    if (n < 0) return fail(receive_failure(static_cast<int>(-n)).error);
    if (n == 0) {
      // TCP ended without the peer's close_notify: orderly for the relay, but said.
      IoStatus end = IoStatus::end();
      end.error = Error(std::make_error_code(std::errc::connection_reset),
                        "the connection ended without close_notify");
      return end;
    }
    std::size_t got = static_cast<std::size_t>(n);
    RecordVerdict verdict = classify_record(type, buffer.first(got), is_server_);
    switch (verdict.kind) {
      case RecordVerdict::data:
        updates_without_data_ = 0;
        // recvmsg stops short of the buffer when the next record is not data: it may already
        // be decrypted and kept by the kernel, where poll() can't see it (a KeyUpdate).
        may_hold_record_ = can_rekey_ && got < buffer.size();
        return IoStatus::transferred(got);
      case RecordVerdict::closed: return IoStatus::end();
      case RecordVerdict::failed: return fail(std::move(verdict.error));
      case RecordVerdict::ignore: continue;
      case RecordVerdict::key_update: {
        if (std::optional<IoStatus> ended = on_key_update(verdict.update_requested)) return *ended;
        continue;
      }
    }
  }
}

IoStatus KernelChannel::write(std::span<const std::byte> data) {
  if (sent_close_notify_) {
    return IoStatus::failure(Error(std::make_error_code(std::errc::broken_pipe),
                                   "write after close_notify"));
  }
  if (failure_) return IoStatus::failure(*failure_);
  if (data.empty()) return IoStatus::transferred(0);
  // RFC 8446 4.6.3: the owed KeyUpdate goes before the next application data.
  if (std::optional<IoStatus> st = send_owed_update()) return *st;
  ssize_t n = socket_->send(data);
  if (n >= 0) return IoStatus::transferred(static_cast<std::size_t>(n));
  if (n == -EAGAIN || n == -EWOULDBLOCK) return IoStatus::wait_for(POLLOUT);
  return fail(errno_error("send", static_cast<int>(-n)));
}

void KernelChannel::close_notify() {
  if (sent_close_notify_) return;
  sent_close_notify_ = true;
  const std::array<std::byte, 2> alert{std::byte{alert_level_warning}, std::byte{alert_close_notify}};
  socket_->send_record(record_alert, alert);
}

KeyUpdateStart KernelChannel::update_keys() {
  if (failure_) return {KeyUpdateStart::failed, *failure_};
  if (!can_rekey_) return {KeyUpdateStart::unsupported, {}};
  owe_update_ = true;
  // One request at a time: until the peer's KeyUpdate arrives, ours only moves our send key.
  owe_requested_ = owe_requested_ || !awaiting_answer_;
  if (std::optional<IoStatus> st = send_owed_update(); st && st->kind == IoStatus::failed) {
    return {KeyUpdateStart::failed, st->error};
  }
  return {};
}

std::optional<IoStatus> KernelChannel::send_owed_update() {
  if (!owe_update_) return std::nullopt;
  Result<SecretBytes> next_tx = next_traffic_secret(suite_, tx_secret_.bytes());
  if (!next_tx) return fail(next_tx.error());
  const std::array<std::byte, 5> key_update{std::byte{handshake_key_update}, std::byte{0}, std::byte{0},
                                            std::byte{1}, static_cast<std::byte>(owe_requested_ ? 1 : 0)};
  ssize_t n = socket_->send_record(record_handshake, key_update);
  if (n == -EAGAIN || n == -EWOULDBLOCK) return IoStatus::wait_for(POLLOUT);
  if (n < 0) return fail(errno_error("sending our KeyUpdate", static_cast<int>(-n)));
  if (n != static_cast<ssize_t>(key_update.size())) {
    return fail(Error(std::make_error_code(std::errc::io_error), "the kernel sent part of our KeyUpdate"));
  }
  // The KeyUpdate went out under the old key; everything after it must use the next one.
  if (Result<void> r = socket_->install(TLS_TX, suite_, next_tx->bytes()); !r) {
    return fail(Error(r.error().code(), "our KeyUpdate was sent but " + r.error().context()));
  }
  tx_secret_ = std::move(next_tx).value();
  if (owe_requested_) awaiting_answer_ = true;
  owe_update_ = false;
  owe_requested_ = false;
  ++sent_;
  return std::nullopt;
}

// The peer moved its sending key forward (RFC 8446 4.6.3). The kernel parks decryption until
// the next receive key is installed, which happens here before anything else is read. Linux 6.1
// cannot take a second TLS_RX (EBUSY): every following record would fail authentication, so the
// session ends cleanly instead and the client resumes.
std::optional<IoStatus> KernelChannel::on_key_update(bool update_requested) {
  if (++updates_without_data_ > max_key_updates_without_data) {
    return fail(protocol_error("peer sent more than " + std::to_string(max_key_updates_without_data) +
                               " KeyUpdates with no application data between them"));
  }
  Result<SecretBytes> next_rx = next_traffic_secret(suite_, rx_secret_.bytes());
  if (!next_rx) return fail(next_rx.error());
  if (Result<void> r = socket_->install(TLS_RX, suite_, next_rx->bytes()); !r) {
    Error why(r.error().code(), "peer sent KeyUpdate but " + r.error().context());
    if (r.error().code() == std::error_code(EBUSY, std::system_category())) return end_without_rekey(why);
    return fail(std::move(why));
  }
  rx_secret_ = std::move(next_rx).value();
  ++received_;
  awaiting_answer_ = false;  // any KeyUpdate of the peer's after our request answers it
  if (!update_requested) return std::nullopt;
  // Requests that arrive while one is owed share it.
  owe_update_ = true;
  if (std::optional<IoStatus> st = send_owed_update(); st && st->kind == IoStatus::failed) return st;
  return std::nullopt;
}

IoStatus KernelChannel::end_without_rekey(Error reason) {
  close_notify();
  IoStatus status = IoStatus::end();
  status.error = std::move(reason);
  return status;
}

}  // namespace ttygate::ktls
