// SPDX-License-Identifier: Apache-2.0
// LineFollow: the bridge's RelayFilter. The pty master is in packet mode (PtyLink::
// report_termios_changes): each read starts with a status byte, TIOCPKT_DATA (0) before data,
// else flags. On an RFC 2217 session, TIOCPKT_IOCTL (the software called tcsetattr) makes it
// read the slave's settings and send what changed since it last sent as RFC 2217 commands;
// TIOCPKT_FLUSHREAD/FLUSHWRITE (tcflush) become PURGE-DATA. Data is IAC-escaped out, and the
// gateway's Telnet is decoded in: replies dropped, data passed. Its opening (WILL/DO BINARY,
// WILL/DO SUPPRESS-GO-AHEAD, DO COM-PORT-OPTION) is met by ours, sent at once, which under RFC
// 1143 both sides take as the answers; other negotiations from the gateway are not expected.
//
// What a pty can't carry, it can't follow: the kernel forces CS8 and clears PARENB on a pty
// slave (so 7E1 is invisible here), has no modem lines, and a tcsendbreak on it does nothing the
// master can see. Speed, stop bits and flow control (CRTSCTS, IXON) follow. docs/line-control.md.
//
// Parking, so that 7E1 software opens the link every time: Debian's glibc reads the settings
// back after TCSETS and, when nothing at all changed while the request asked for a data size or
// parity the result lacks, fails tcsetattr with EINVAL. On a pty the result always lacks CS7 and
// PARENB, so a program that sets the same 7E1 again (its second open) failed. After each change
// the software makes, the bridge "parks" the slave: CLOCAL cleared and HUPCL flipped, two bits a
// pty ignores. Serial software sets CLOCAL, so its next tcsetattr changes something and passes;
// flipping HUPCL makes each park differ from the one before, so a park that lands between
// glibc's TCSETS and its read-back still leaves a difference. A park waits while another report
// is pending (POLLPRI on the master: a newer change, or the flush software makes after its
// tcsetattr) and happens with the next packet, so writing never undoes a newer change.
//
// On a raw session (the port has line_control = "none") it only strips the status bytes.
#pragma once

#include <termios.h>

#include <optional>
#include <string>

#include "common/telnet.hpp"
#include "tools/ttygate-client/relay.hpp"

namespace ttygate::client {

class LineFollow final : public RelayFilter {
 public:
  // master, slave: the pty's two sides (the master in packet mode, the slave for tcgetattr and
  // the park). baseline: the slave's settings at start, which are not forwarded (the gateway's
  // configuration stands until the software changes something).
  LineFollow(int master, int slave, const termios& baseline);

  // Per connection: true on an RFC 2217 session, false on a raw one.
  void set_rfc2217(bool on);

  void opening(std::vector<std::byte>& to_gateway) override;
  void outgoing(std::span<const std::byte> local, std::vector<std::byte>& to_gateway) override;
  std::optional<std::string> incoming(std::span<const std::byte> net, std::vector<std::byte>& to_local) override;

  // How many termios changes were forwarded (for tests and the log).
  unsigned changes_sent() const { return changes_sent_; }
  // How many times the slave was parked (for tests).
  unsigned parks() const { return parks_; }

 private:
  void settings_changed(std::vector<std::byte>& out);
  void send_changes(const termios& now, std::vector<std::byte>& out);
  void park(const termios& now);
  void park_if_owed();

  int master_, slave_;
  termios baseline_;
  termios sent_;   // what the gateway was last told (baseline_ until the first change)
  bool rfc2217_ = false;
  telnet::Decoder decoder_;
  std::vector<telnet::Event> events_;
  termios parked_{};        // the slave's settings right after our last park
  bool park_owed_ = false;  // a park was skipped for a report still unread
  unsigned changes_sent_ = 0, parks_ = 0;
};

}  // namespace ttygate::client
