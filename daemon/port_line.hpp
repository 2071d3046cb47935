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
// One slow timer polls the modem lines while at least one RFC 2217 session has a non-zero
// modem-state mask and the driver has modem lines, and the driver's error counters
// (daemon/line_events.hpp) while at least one session's line-state mask asks for an event
// (break, framing, parity, overrun) and the driver has counters; otherwise nothing runs. Each
// session is told only what its own mask asks for. Lives on the loop, owned by the Relay, which
// hands it the tty when it opens and takes it back when the device is lost.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "common/rfc2217.hpp"
#include "daemon/client_store.hpp"
#include "daemon/config.hpp"
#include "daemon/line_control.hpp"
#include "daemon/line_events.hpp"
#include "daemon/loop.hpp"

namespace ttygate::daemon {

class PortLine {
 public:
  // One period for both: the modem lines and the error counters are read in the same round.
  static constexpr std::chrono::milliseconds kPollPeriod{200};

  // An RFC 2217 session on this port.
  class Listener {
   public:
    // A server message for the peer: a change another session made, or a modem-state or
    // line-state notification already masked with this listener's mask.
    virtual void line_notice(const rfc2217::Message& message) = 0;
    virtual std::uint8_t modem_mask() const = 0;
    virtual std::uint8_t linestate_mask() const = 0;

   protected:
    ~Listener() = default;
  };

  PortLine(Loop& loop, const PortConfig& port) : loop_(loop), port_(port) {}
  PortLine(const PortLine&) = delete;
  PortLine& operator=(const PortLine&) = delete;

  // The tty's error counters are its TIOCGICOUNT unless `counters` is given (tests).
  void adopt(int tty, std::unique_ptr<LineCounters> counters = nullptr);
  void lose();

  void subscribe(Listener& listener);
  void unsubscribe(Listener& listener);
  // A listener's modem or line-state mask changed: start or stop polling.
  void masks_changed();
  // One round of the timer: what changed goes to the listeners whose masks ask for it. Public so
  // tests can run a round without waiting for the timer.
  void poll();
  bool polling_modem() const { return polling_modem_; }
  bool polling_line_errors() const { return polling_errors_; }

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
  void poll_errors();
  void set_polling(bool& polling, bool wanted, const char* started, const char* stopped);

  Loop& loop_;
  const PortConfig& port_;
  std::optional<LineControl> line_;
  bool break_on_ = false;
  std::uint8_t last_modem_ = 0;
  std::vector<Listener*> listeners_;
  std::unique_ptr<LineCounters> counters_;  // null when the driver has none (a pty)
  LineCounts last_counts_;
  Op poll_timer_;
  bool polling_modem_ = false;   // as last logged
  bool polling_errors_ = false;  // as last logged
};

}  // namespace ttygate::daemon
