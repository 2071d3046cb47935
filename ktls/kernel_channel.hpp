// KernelChannel: a session's record layer after hand-over, run by the kernel's TLS ULP.
//
// Application data is plain send/recv on the socket. Every other record the peer sends surfaces
// through recvmsg with a TLS_GET_RECORD_TYPE control message, one record per call, and is
// decided by classify_record(): close_notify ends the session, any other alert fails it (named),
// KeyUpdate moves the receive key forward when the kernel can re-key (it answers a requested
// update with its own KeyUpdate), else the session ends with close_notify and a reason. A record
// that fails authentication (EBADMSG) fails the session and delivers nothing.
//
// Single-threaded like every Channel. Holds the current traffic secrets of both directions (a
// KeyUpdate needs the receive one; an update_requested needs the send one too) and nothing else.
#pragma once

#include <optional>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "common/unique_fd.hpp"
#include "ktls/channel.hpp"
#include "ktls/key_schedule.hpp"

namespace ttygate::ktls {

// TLS content types (RFC 8446 5.1) and the two handshake messages that may follow the handshake.
inline constexpr std::uint8_t record_alert = 21;
inline constexpr std::uint8_t record_handshake = 22;
inline constexpr std::uint8_t record_application_data = 23;
inline constexpr std::uint8_t handshake_new_session_ticket = 4;
inline constexpr std::uint8_t handshake_key_update = 24;

struct RecordVerdict {
  enum Kind { data, closed, key_update, ignore, failed };
  Kind kind = data;
  bool update_requested = false;  // key_update: the peer asks for our KeyUpdate too
  Error error;                    // failed: what was wrong with the record
};

// Decides what one record from the kernel means. type is the TLS_GET_RECORD_TYPE value (data when
// the kernel sent none: it never returns other records without it), payload the bytes recvmsg
// returned. A client ignores NewSessionTicket (ttygate never resumes); a server never gets one.
RecordVerdict classify_record(std::uint8_t type, std::span<const std::byte> payload, bool is_server);

// RFC 8446 6 name of an alert description ("bad_record_mac"), or "alert <n>".
std::string alert_name(std::uint8_t description);

class KernelChannel final : public Channel {
 public:
  // read() needs room for a whole alert or KeyUpdate record.
  static constexpr std::size_t min_read_buffer = 64;

  KernelChannel(UniqueFd fd, Suite suite, SecretBytes rx_secret, SecretBytes tx_secret,
                bool is_server);

  Offload offload() const override { return Offload::kernel; }
  int fd() const override { return fd_.get(); }
  IoStatus read(std::span<std::byte> buffer) override;
  IoStatus write(std::span<const std::byte> data) override;
  bool has_buffered_input() const override { return false; }
  void close_notify() override;
  // Our own KeyUpdate would have to be sent before the kernel accepts the new send key, and a
  // kernel without TLS 1.3 rekey (Linux 6.1) refuses that key only after the record is out: the
  // session would be lost either way. So the gateway-initiated rekey ends the session in order
  // (close_notify) and the client resumes with fresh keys. Peer-initiated updates are handled
  // in read().
  bool update_keys() override { return false; }

  Suite suite() const { return suite_; }

 private:
  // Nothing when reading may go on; else how the read ends.
  std::optional<IoStatus> on_key_update(bool update_requested);
  IoStatus end_without_rekey(Error reason);
  bool send_record(std::uint8_t type, std::span<const std::byte> payload);

  UniqueFd fd_;
  Suite suite_;
  SecretBytes rx_secret_;
  SecretBytes tx_secret_;
  bool is_server_;
  bool sent_close_notify_ = false;
};

}  // namespace ttygate::ktls
