// SPDX-License-Identifier: Apache-2.0
// KernelChannel: a session's record layer after hand-over, run by the kernel's TLS ULP.
//
// Application data is plain send/recv on the socket. Every other record the peer sends surfaces
// through recvmsg with a TLS_GET_RECORD_TYPE control message, one record per call, and is
// decided by classify_record(): close_notify ends the session, any other alert fails it (named).
// A record that fails authentication (EBADMSG) fails the session and delivers nothing.
//
// KeyUpdate (RFC 8446 4.6.3) on a kernel that can re-key (Linux 6.14 and later):
//   - the peer's: the kernel hands over the KeyUpdate record and parks decryption (reads fail
//     with EKEYEXPIRED) until the next receive key is installed; read() derives it (7.2) and
//     installs TLS_RX at once, so no record is lost, repeated or read under the wrong key. If the
//     peer set update_requested, we owe a KeyUpdate of our own before our next application data.
//   - ours (update_keys(), at the session's byte or age limit), and the one we owe: the
//     KeyUpdate record goes out under the old send key (sendmsg, record type 22) after every
//     byte the kernel took before it (writes are synchronous sends, nothing is queued above the
//     socket), and TLS_TX takes the next key only once the whole record went out. Sent at once
//     when the socket takes it, else before the next payload byte (write() returns wait POLLOUT
//     until it is out). Requests that arrive while one is owed share it (RFC 8446 4.6.3: "a
//     single update"). Ours asks for the peer's (update_requested) unless an earlier request is
//     still unanswered: then it only moves our send key. We never wait for the answer, and TX
//     never pauses for it: OpenSSL answers with its next write, which may never come.
//   - the kernel may hold a KeyUpdate record it already decrypted behind the data a read
//     returned (recvmsg stops at a change of record type and keeps the next record), and from
//     then on poll() never reports the socket readable (Linux 6.14+ masks POLLIN while a
//     re-key is pending). So after a short data read, has_buffered_input() says "read again
//     before polling", and the record is taken on that read; else the session stalls.
//   - bounds: more than max_key_updates_without_data peer KeyUpdates in a row with no
//     application data between them fail the session (an update_requested storm would
//     otherwise cost two key installs per 22-byte record).
// On a kernel that cannot (6.1: a second TLS_RX is EBUSY) a peer's KeyUpdate ends the session
// in order (close_notify, with the reason) and update_keys() is unsupported: the client resumes.
// Every other failure (EINVAL, EBADMSG, a record under a key we don't have) fails the session
// with an error naming it, and read and write keep failing with it.
//
// Single-threaded like every Channel. Holds the current traffic secrets of both directions and
// nothing else; the socket calls go through a RecordSocket, so tests drive this without a kernel.
#pragma once

#include <memory>
#include <optional>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "common/unique_fd.hpp"
#include "ktls/channel.hpp"
#include "ktls/key_schedule.hpp"
#include "ktls/record_socket.hpp"

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
  // Peer KeyUpdates in a row, with no application data between them, before the session fails.
  static constexpr int max_key_updates_without_data = 8;

  // can_rekey: the start-up probe found that this kernel re-keys in place (KernelTlsSupport).
  KernelChannel(std::unique_ptr<RecordSocket> socket, Suite suite, SecretBytes rx_secret,
                SecretBytes tx_secret, bool is_server, bool can_rekey);
  KernelChannel(UniqueFd fd, Suite suite, SecretBytes rx_secret, SecretBytes tx_secret,
                bool is_server, bool can_rekey = false)
      : KernelChannel(kernel_record_socket(std::move(fd)), suite, std::move(rx_secret),
                      std::move(tx_secret), is_server, can_rekey) {}

  Offload offload() const override { return Offload::kernel; }
  int fd() const override { return socket_->fd(); }
  IoStatus read(std::span<std::byte> buffer) override;
  IoStatus write(std::span<const std::byte> data) override;
  // After a short data read on a kernel that re-keys: the kernel may hold a decrypted
  // KeyUpdate that poll() will never report. Cleared once a read finds nothing (EAGAIN).
  bool has_buffered_input() const override { return may_hold_record_; }
  void close_notify() override;
  KeyUpdateStart update_keys() override;
  bool updates_keys_in_place() const override { return can_rekey_; }

  Suite suite() const { return suite_; }
  // KeyUpdates so far: the peer's we followed, and our own that went out.
  std::uint64_t key_updates_received() const { return received_; }
  std::uint64_t key_updates_sent() const { return sent_; }
  // A KeyUpdate of ours waits for room in the socket.
  bool key_update_owed() const { return owe_update_; }
  // Our last update_requested has not been answered by a KeyUpdate of the peer yet.
  bool awaiting_answer() const { return awaiting_answer_; }

 private:
  // Nothing when reading may go on; else how the read ends.
  std::optional<IoStatus> on_key_update(bool update_requested);
  // Sends the owed KeyUpdate and installs the next send key. Nothing when done (or nothing was
  // owed); wait when the socket is full; failed.
  std::optional<IoStatus> send_owed_update();
  IoStatus fail(Error error);
  IoStatus end_without_rekey(Error reason);

  std::unique_ptr<RecordSocket> socket_;
  Suite suite_;
  SecretBytes rx_secret_;
  SecretBytes tx_secret_;
  bool is_server_;
  bool can_rekey_;
  bool sent_close_notify_ = false;
  bool owe_update_ = false;         // a KeyUpdate of ours must go out before the next payload
  bool owe_requested_ = false;      // ... with update_requested (ours, not an answer)
  bool awaiting_answer_ = false;    // our update_requested went out; no KeyUpdate read since
  bool may_hold_record_ = false;    // see has_buffered_input()
  int updates_without_data_ = 0;    // peer KeyUpdates since its last application data
  std::uint64_t received_ = 0;
  std::uint64_t sent_ = 0;
  std::optional<Error> failure_;    // once failed, every call says why
};

}  // namespace ttygate::ktls
