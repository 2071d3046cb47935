// SPDX-License-Identifier: Apache-2.0
// PortLine: one port's line as its RFC 2217 sessions see it: the policy on who may change what,
// the changes applied through LineControl, and the notifications.
//
// Policy (docs/line-control.md): a monitor session may query but never set; a control session
// sets baud (within allowed_bauds when configured), data size, parity, stop size, flow control,
// break, DTR and RTS. A refused or impossible value changes nothing and is answered with the
// value in effect, read back from the tty. A change applies to the device for every session on
// the port, and every other RFC 2217 session is told with the same server message, unsolicited.
//
// Modem lines are polled on a slow timer only while at least one RFC 2217 session has a
// non-zero modem-state mask and the driver has modem lines; otherwise nothing runs. Lives on
// the loop, owned by the Relay, which hands it the tty when it opens and takes it back when the
// device is lost.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "common/rfc2217.hpp"
#include "daemon/client_store.hpp"
#include "daemon/config.hpp"
#include "daemon/line_control.hpp"
#include "daemon/loop.hpp"

namespace ttygate::daemon {

class PortLine {
 public:
  static constexpr std::chrono::milliseconds kModemPoll{200};

  // An RFC 2217 session on this port.
  class Listener {
   public:
    // A server message for the peer: a change another session made, or a modem-state change.
    virtual void line_notice(const rfc2217::Message& message) = 0;
    virtual std::uint8_t modem_mask() const = 0;

   protected:
    ~Listener() = default;
  };

  PortLine(Loop& loop, const PortConfig& port) : loop_(loop), port_(port) {}
  PortLine(const PortLine&) = delete;
  PortLine& operator=(const PortLine&) = delete;

  void adopt(int tty);
  void lose();

  void subscribe(Listener& listener);
  void unsubscribe(Listener& listener);
  // A listener's modem mask changed: start or stop polling.
  void masks_changed();

  // A line request from `from` (baud, data size, parity, stop size, control, purge,
  // notify-modemstate): the server's reply, carrying the value in effect.
  rfc2217::Message request(const rfc2217::Message& message, Role role, Listener& from);
  // CD, RI, DSR and CTS as RFC 2217 bits; 0 when the driver has no modem lines.
  std::uint8_t modem_state() const;

 private:
  LineSettings current() const;
  rfc2217::Message settings_request(const rfc2217::Message& message, bool may_set, Listener& from);
  std::uint8_t control_request(std::uint8_t value, bool may_set);
  std::uint8_t modem_line(int bit, std::optional<bool> set);
  void change(LineSettings wanted);
  void tell_others(const rfc2217::Message& message, const Listener& from);
  bool baud_allowed(unsigned baud) const;
  void poll_modem();

  Loop& loop_;
  const PortConfig& port_;
  std::optional<LineControl> line_;
  bool break_on_ = false;
  std::uint8_t last_modem_ = 0;
  std::vector<Listener*> listeners_;
  Op poll_timer_;
  bool polling_ = false;  // as last logged
};

}  // namespace ttygate::daemon
