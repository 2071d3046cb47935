// SPDX-License-Identifier: Apache-2.0
#include "tools/ttygate-client/line_follow.hpp"

#include <poll.h>
#include <sys/ioctl.h>

#include <algorithm>

#include "common/baud.hpp"
#include "common/rfc2217.hpp"

namespace ttygate::client {
namespace {

using rfc2217::Command;

void append(std::vector<std::byte>& out, const std::vector<std::uint8_t>& bytes) {
  for (std::uint8_t b : bytes) out.push_back(static_cast<std::byte>(b));
}

void command(std::vector<std::byte>& out, Command c, std::uint32_t value) {
  std::vector<std::uint8_t> bytes;
  telnet::subnegotiation(telnet::kComPort, rfc2217::build(rfc2217::Message{c, value, {}}, false), bytes);
  append(out, bytes);
}

std::uint8_t parity_of(tcflag_t c) {
  if (!(c & PARENB)) return rfc2217::parity::none;
  if (c & CMSPAR) return (c & PARODD) ? rfc2217::parity::mark : rfc2217::parity::space;
  return (c & PARODD) ? rfc2217::parity::odd : rfc2217::parity::even;
}

std::uint8_t flow_of(const termios& t) {
  if (t.c_cflag & CRTSCTS) return rfc2217::control::flow_hardware;
  return (t.c_iflag & IXON) ? rfc2217::control::flow_xonxoff : rfc2217::control::flow_none;
}

bool same_settings(const termios& a, const termios& b) {
  return a.c_iflag == b.c_iflag && a.c_oflag == b.c_oflag && a.c_cflag == b.c_cflag && a.c_lflag == b.c_lflag &&
         cfgetispeed(&a) == cfgetispeed(&b) && cfgetospeed(&a) == cfgetospeed(&b) &&
         std::equal(std::begin(a.c_cc), std::end(a.c_cc), std::begin(b.c_cc));
}

unsigned data_bits_of(tcflag_t c) {
  switch (c & CSIZE) {
    case CS5: return 5;
    case CS6: return 6;
    case CS7: return 7;
    default: return 8;
  }
}

}  // namespace

LineFollow::LineFollow(int master, int slave, const termios& baseline)
    : master_(master), slave_(slave), baseline_(baseline), sent_(baseline) {}

void LineFollow::set_rfc2217(bool on) { rfc2217_ = on; }

// A new connection: a fresh Telnet stream, our side of the negotiation, and every setting the
// software has changed so far (the device may have been reopened with its configured ones).
void LineFollow::opening(std::vector<std::byte>& to_gateway) {
  if (!rfc2217_) return;
  decoder_ = telnet::Decoder{};
  std::vector<std::uint8_t> bytes;
  for (std::uint8_t option : {telnet::kBinary, telnet::kSuppressGoAhead}) {
    telnet::negotiation(telnet::kWill, option, bytes);
    telnet::negotiation(telnet::kDo, option, bytes);
  }
  telnet::negotiation(telnet::kWill, telnet::kComPort, bytes);
  append(to_gateway, bytes);
  termios now{};
  if (::tcgetattr(slave_, &now) == 0) {
    sent_ = baseline_;
    send_changes(now, to_gateway);
  }
}

void LineFollow::send_changes(const termios& now, std::vector<std::byte>& out) {
  const unsigned before = changes_sent_;
  if (cfgetospeed(&now) != cfgetospeed(&sent_))
    if (unsigned baud = baud_rate_of(cfgetospeed(&now)); baud != 0) {
      command(out, Command::set_baudrate, baud);
      ++changes_sent_;
    }
  if ((now.c_cflag & CSIZE) != (sent_.c_cflag & CSIZE)) {
    command(out, Command::set_datasize, data_bits_of(now.c_cflag));
    ++changes_sent_;
  }
  if (parity_of(now.c_cflag) != parity_of(sent_.c_cflag)) {
    command(out, Command::set_parity, parity_of(now.c_cflag));
    ++changes_sent_;
  }
  if ((now.c_cflag & CSTOPB) != (sent_.c_cflag & CSTOPB)) {
    command(out, Command::set_stopsize, (now.c_cflag & CSTOPB) ? rfc2217::stopsize::two : rfc2217::stopsize::one);
    ++changes_sent_;
  }
  if (flow_of(now) != flow_of(sent_)) {
    command(out, Command::set_control, flow_of(now));
    ++changes_sent_;
  }
  if (changes_sent_ != before) sent_ = now;
}

// The software (or our own park) called tcsetattr: forward what changed, then park.
void LineFollow::settings_changed(std::vector<std::byte>& out) {
  termios now{};
  if (::tcgetattr(slave_, &now) != 0 || same_settings(now, parked_)) return;  // our park's own report
  if (rfc2217_) send_changes(now, out);
  park(now);
}

// line_follow.hpp says why. Only CLOCAL and HUPCL differ from what the software set, and
// send_changes() looks at neither.
void LineFollow::park(const termios& now) {
  park_owed_ = true;
  pollfd newer{master_, POLLPRI, 0};
  if (::poll(&newer, 1, 0) > 0) return;  // another report (a change, a flush) first: park after it
  termios parked = now;
  parked.c_cflag = (parked.c_cflag & ~static_cast<tcflag_t>(CLOCAL)) ^ static_cast<tcflag_t>(HUPCL);
  if (::tcsetattr(slave_, TCSANOW, &parked) != 0 || ::tcgetattr(slave_, &parked_) != 0) return;
  park_owed_ = false;
  ++parks_;
}

// A park skipped for a report that was not a change (serial software flushes right after its
// tcsetattr: pyserial does on every open) is owed: it happens with the next packet, read back
// fresh so nothing newer is undone.
void LineFollow::park_if_owed() {
  if (termios now{}; park_owed_ && ::tcgetattr(slave_, &now) == 0) park(now);
}

void LineFollow::outgoing(std::span<const std::byte> local, std::vector<std::byte>& to_gateway) {
  if (local.empty()) return;
  const auto status = static_cast<std::uint8_t>(local[0]);
  auto data = local.subspan(1);
  if (status == TIOCPKT_DATA) {
    park_if_owed();
    if (!rfc2217_) {
      to_gateway.insert(to_gateway.end(), data.begin(), data.end());
      return;
    }
    std::vector<std::uint8_t> escaped;
    telnet::escape(std::span(reinterpret_cast<const std::uint8_t*>(data.data()), data.size()), escaped);
    return append(to_gateway, escaped);
  }
  if (status & TIOCPKT_IOCTL)
    settings_changed(to_gateway);
  else
    park_if_owed();
  if (!rfc2217_) return;  // a raw session carries bytes only
  if (status & TIOCPKT_FLUSHREAD) command(to_gateway, Command::purge_data, rfc2217::purge::receive);
  if (status & TIOCPKT_FLUSHWRITE) command(to_gateway, Command::purge_data, rfc2217::purge::transmit);
}

std::optional<std::string> LineFollow::incoming(std::span<const std::byte> net, std::vector<std::byte>& to_local) {
  if (!rfc2217_) {
    to_local.insert(to_local.end(), net.begin(), net.end());
    return std::nullopt;
  }
  events_.clear();
  if (auto why = decoder_.feed(std::span(reinterpret_cast<const std::uint8_t*>(net.data()), net.size()), events_))
    return "the gateway's Telnet stream is malformed: " + *why;
  for (const telnet::Event& e : events_)
    if (e.kind == telnet::Event::Kind::data)
      for (std::uint8_t b : e.bytes) to_local.push_back(static_cast<std::byte>(b));
  return std::nullopt;
}

}  // namespace ttygate::client
