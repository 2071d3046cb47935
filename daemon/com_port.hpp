// SPDX-License-Identifier: Apache-2.0
// ComPort: one session's side of RFC 2217 (a session whose client chose the ALPN protocol
// ttygate-rfc2217): Telnet option negotiation, the COM-PORT-OPTION requests, and IAC escaping
// of the data both ways. The line itself is the port's PortLine; the bytes go through the
// Session (ComPortOutput), so this is tested with a fake output and a pty.
//
// Options: BINARY and SUPPRESS-GO-AHEAD both ways and COM-PORT-OPTION are accepted, everything
// else refused (DONT/WONT), with the RFC 1143 rule of answering only a change of state, so two
// sides never loop. A subnegotiation that is malformed (common/telnet.hpp, common/rfc2217.hpp)
// ends the session: from_peer() returns why and hands nothing of that input to the device.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/rfc2217.hpp"
#include "common/telnet.hpp"
#include "daemon/client_store.hpp"
#include "daemon/port_line.hpp"

namespace ttygate::daemon {

// What ComPort needs of its session.
class ComPortOutput {
 public:
  // Telnet bytes for the peer, already framed and escaped.
  virtual void send_to_peer(std::span<const std::uint8_t> bytes) = 0;
  // PURGE-DATA of the transmit buffer: input queued for the device is dropped. (The receive
  // buffer is the tty's: what is already queued for the peer holds Telnet replies too and is
  // never cut, or a sequence could be split.)
  virtual void discard_to_device() = 0;
  // FLOWCONTROL-SUSPEND / RESUME: stop or restart sending device output to the peer.
  virtual void suspend_output(bool suspended) = 0;

 protected:
  ~ComPortOutput() = default;
};

class ComPort final : public PortLine::Listener {
 public:
  ComPort(PortLine& line, ComPortOutput& output, Role role);
  ComPort(const ComPort&) = delete;
  ComPort& operator=(const ComPort&) = delete;
  ~ComPort();

  // The server's opening: WILL/DO BINARY, WILL/DO SUPPRESS-GO-AHEAD, DO COM-PORT-OPTION.
  void start();
  // Network input: data for the device is appended to `to_device` (only when the whole input
  // was well-formed); requests are answered through the output. Returns why the input is
  // malformed: the session must close.
  std::optional<std::string> from_peer(std::span<const std::uint8_t> in, std::vector<std::uint8_t>& to_device);
  // Device output for the peer, escaped.
  void to_peer(std::span<const std::uint8_t> data, std::vector<std::uint8_t>& out) const { telnet::escape(data, out); }

  // PortLine::Listener
  void line_notice(const rfc2217::Message& message) override;
  std::uint8_t modem_mask() const override { return modem_mask_; }
  std::uint8_t linestate_mask() const override { return linestate_mask_; }

 private:
  enum class Q : std::uint8_t { no, yes, want_yes };
  struct OptionState {
    Q us = Q::no, them = Q::no;
  };
  void negotiate(std::uint8_t verb, std::uint8_t option);
  std::optional<std::string> subnegotiation(const telnet::Event& event);
  void send(const rfc2217::Message& message);
  void ask(std::uint8_t verb, std::uint8_t option);

  PortLine& line_;
  ComPortOutput& output_;
  Role role_;
  telnet::Decoder decoder_;
  std::vector<telnet::Event> events_;
  OptionState options_[256];
  std::uint8_t modem_mask_ = 255;  // RFC 2217's default: a session that set 0 stops the polling
  std::uint8_t linestate_mask_ = 0;  // RFC 2217's default: no line-state events until asked
  bool notified_modem_ = false;
};

}  // namespace ttygate::daemon
