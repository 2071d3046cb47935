// SPDX-License-Identifier: Apache-2.0
#include "daemon/port_line.hpp"

#include <sys/ioctl.h>

#include <algorithm>

#include "common/concat.hpp"
#include "common/log.hpp"
#include "daemon/serial_port.hpp"

namespace ttygate::daemon {
namespace {

using rfc2217::Command;
using rfc2217::Message;
namespace control = rfc2217::control;

constexpr LineParity kParities[] = {LineParity::none, LineParity::odd, LineParity::even, LineParity::mark,
                                    LineParity::space};

std::uint8_t parity_code(LineParity parity) {
  return static_cast<std::uint8_t>(std::find(std::begin(kParities), std::end(kParities), parity) - std::begin(kParities) + 1);
}

std::uint8_t flow_code(Flow flow, bool inbound) {
  std::uint8_t base = inbound ? control::inflow_none : control::flow_none;
  return static_cast<std::uint8_t>(base + (flow == Flow::xonxoff ? 1 : flow == Flow::rtscts ? 2 : 0));
}

// Kernel modem bits to RFC 2217's.
std::uint8_t modem_bits(int lines) {
  return static_cast<std::uint8_t>(((lines & TIOCM_CD) ? rfc2217::modem::cd : 0) |
                                   ((lines & TIOCM_RI) ? rfc2217::modem::ri : 0) |
                                   ((lines & TIOCM_DSR) ? rfc2217::modem::dsr : 0) |
                                   ((lines & TIOCM_CTS) ? rfc2217::modem::cts : 0));
}

}  // namespace

void PortLine::adopt(int tty, std::unique_ptr<LineCounters> counters) {
  line_.emplace(tty);
  break_on_ = false;
  last_modem_ = modem_state();
  counters_ = counters ? std::move(counters) : std::make_unique<TtyCounters>(tty);
  if (!counters_->read()) counters_.reset();  // a pty: EINVAL or ENOTTY, nothing to poll
  masks_changed();
}

void PortLine::lose() {
  line_.reset();
  counters_.reset();
  poll_timer_.reset();
  polling_modem_ = polling_errors_ = false;
}

void PortLine::subscribe(Listener& listener) {
  listeners_.push_back(&listener);
  masks_changed();
}

void PortLine::unsubscribe(Listener& listener) {
  std::erase(listeners_, &listener);
  masks_changed();
}

void PortLine::masks_changed() {
  auto any = [this](auto mask_of) {
    return std::any_of(listeners_.begin(), listeners_.end(), [&](Listener* l) { return mask_of(l) != 0; });
  };
  const bool was_polling_errors = polling_errors_;
  set_polling(polling_modem_, line_ && any([](Listener* l) { return l->modem_mask(); }) && line_->modem_lines(),
              ": polling the modem lines every 200 ms (an RFC 2217 session asked for their changes)",
              ": modem lines no longer polled");
  set_polling(polling_errors_,
              counters_ && any([](Listener* l) { return l->linestate_mask() & rfc2217::linestate::events; }),
              ": polling the line's error counters every 200 ms (an RFC 2217 session asked for line-state events)",
              ": line error counters no longer polled");
  if (polling_errors_ && !was_polling_errors) {
    // Only what happens from now on is news: errors counted before anyone asked are not.
    if (auto now = counters_->read()) last_counts_ = *now;
  }
  if (!polling_modem_ && !polling_errors_) return poll_timer_.reset();
  if (!poll_timer_.armed()) poll_timer_.set(loop_, loop_.timeout(kPollPeriod, [this](int) { poll(); }));
}

// Said once per change, so the log shows when polling runs at all.
void PortLine::set_polling(bool& polling, bool wanted, const char* started, const char* stopped) {
  if (wanted == polling) return;
  polling = wanted;
  log::info(concat({"Port ", port_.name, wanted ? started : stopped}), {log::port(port_.name)});
}

void PortLine::poll() {
  if (polling_modem_) poll_modem();
  if (polling_errors_) poll_errors();
  masks_changed();
}

void PortLine::poll_modem() {
  std::uint8_t now = modem_state();
  std::uint8_t changed = now ^ last_modem_;
  std::uint8_t deltas = static_cast<std::uint8_t>(((changed & rfc2217::modem::cd) ? rfc2217::modem::delta_cd : 0) |
                                                  ((changed & rfc2217::modem::dsr) ? rfc2217::modem::delta_dsr : 0) |
                                                  ((changed & rfc2217::modem::cts) ? rfc2217::modem::delta_cts : 0) |
                                                  ((last_modem_ & ~now & rfc2217::modem::ri) ? rfc2217::modem::trailing_ri : 0));
  last_modem_ = now;
  if (deltas != 0) {
    auto listeners = listeners_;  // a notice may close (and unsubscribe) a session
    for (Listener* l : listeners)
      if (std::uint8_t mask = l->modem_mask(); deltas & mask)
        l->line_notice(Message{Command::notify_modemstate, static_cast<std::uint8_t>((now | deltas) & mask), {}});
  }
}

void PortLine::poll_errors() {
  auto now = counters_->read();
  if (!now) return;  // the device is going away: the Relay will lose() it
  const std::uint8_t events = grown_events(last_counts_, *now);
  last_counts_ = *now;
  if (events == 0) return;
  auto listeners = listeners_;  // a notice may close (and unsubscribe) a session
  for (Listener* l : listeners)
    if (auto bits = static_cast<std::uint8_t>(events & l->linestate_mask()); bits != 0)
      l->line_notice(Message{Command::notify_linestate, bits, {}});
}

std::uint8_t PortLine::modem_state() const {
  if (!line_) return 0;
  auto lines = line_->modem_lines();
  return lines ? modem_bits(*lines) : 0;
}

LineSettings PortLine::current() const {
  if (line_)
    if (auto now = line_->read()) return *now;
  return settings_of(port_);
}

bool PortLine::baud_allowed(unsigned baud) const {
  if (baud_constant(baud) == B0) return false;
  return port_.allowed_bauds.empty() ||
         std::find(port_.allowed_bauds.begin(), port_.allowed_bauds.end(), baud) != port_.allowed_bauds.end();
}

Message PortLine::request(const Message& message, Role role, Listener& from) {
  const bool may_set = role == Role::control && line_.has_value();
  switch (message.command) {
    case Command::set_control: {
      Message reply{Command::set_control, control_request(static_cast<std::uint8_t>(message.value), may_set), {}};
      if (may_set && reply.value == message.value && message.value != control::flow_request &&
          message.value != control::inflow_request && message.value != control::break_request &&
          message.value != control::dtr_request && message.value != control::rts_request)
        tell_others(reply, from);
      return reply;
    }
    case Command::purge_data:
      // Monitors purge only their own queue (the session does that); the tty is everyone's.
      if (may_set && message.value >= rfc2217::purge::receive && message.value <= rfc2217::purge::both) {
        static constexpr int kQueues[] = {TCIFLUSH, TCOFLUSH, TCIOFLUSH};
        if (auto flushed = line_->flush(kQueues[message.value - 1]); !flushed)
          log::warning("Port " + port_.name + ": " + flushed.error().message());
      }
      return message;
    case Command::notify_modemstate:
      return Message{Command::notify_modemstate, static_cast<std::uint8_t>(modem_state() & from.modem_mask()), {}};
    default:
      return settings_request(message, may_set, from);
  }
}

// Baud, data size, parity, stop size: value 0 asks; anything else asks for a change, which is
// made only when it is allowed and possible, and answered with what the tty then has.
Message PortLine::settings_request(const Message& message, bool may_set, Listener& from) {
  const LineSettings before = current();
  LineSettings wanted = before;
  const std::uint32_t v = message.value;
  bool valid = false;
  switch (message.command) {
    case Command::set_baudrate: valid = baud_allowed(v); wanted.baud = v; break;
    case Command::set_datasize: valid = v >= 5 && v <= 8; wanted.data_bits = v; break;
    case Command::set_parity: valid = v >= 1 && v <= 5; if (valid) wanted.parity = kParities[v - 1]; break;
    case Command::set_stopsize: valid = v == 1 || v == 2; wanted.stop_bits = v; break;
    default: break;
  }
  if (v != 0 && valid && may_set && wanted != before) change(wanted);
  const LineSettings after = current();
  Message reply{message.command, 0, {}};
  switch (message.command) {
    case Command::set_baudrate: reply.value = after.baud; break;
    case Command::set_datasize: reply.value = after.data_bits; break;
    case Command::set_parity: reply.value = parity_code(after.parity); break;
    case Command::set_stopsize: reply.value = after.stop_bits; break;
    default: break;
  }
  if (after != before) tell_others(reply, from);
  return reply;
}

void PortLine::change(LineSettings wanted) {
  auto applied = line_->apply(wanted);
  if (!applied)
    log::notice("Port " + port_.name + ": the device refused new line settings (" + applied.error().message() +
                "); answering with those in effect");
}

std::uint8_t PortLine::control_request(std::uint8_t value, bool may_set) {
  const LineSettings before = current();
  switch (value) {
    case control::flow_none:
    case control::flow_xonxoff:
    case control::flow_hardware:
      if (may_set) {
        LineSettings wanted = before;
        wanted.flow = value == control::flow_none ? Flow::none : value == control::flow_xonxoff ? Flow::xonxoff : Flow::rtscts;
        if (wanted != before) change(wanted);
      }
      [[fallthrough]];
    case control::flow_request:
    case control::flow_dcd:
    case control::flow_dsr:
      return flow_code(current().flow, false);
    case control::inflow_request:
    case control::inflow_none:
    case control::inflow_xonxoff:
    case control::inflow_hardware:
    case control::inflow_dtr:
      // Linux couples both directions: the inbound setting follows the outbound one.
      return flow_code(before.flow, true);
    case control::break_on:
    case control::break_off:
      if (may_set && line_->set_break(value == control::break_on)) break_on_ = value == control::break_on;
      [[fallthrough]];
    case control::break_request:
      return break_on_ ? control::break_on : control::break_off;
    case control::dtr_request:
    case control::dtr_on:
    case control::dtr_off:
      return modem_line(TIOCM_DTR, value == control::dtr_request || !may_set ? std::nullopt
                                                                              : std::optional(value == control::dtr_on))
                 ? control::dtr_on
                 : control::dtr_off;
    case control::rts_request:
    case control::rts_on:
    case control::rts_off:
      return modem_line(TIOCM_RTS, value == control::rts_request || !may_set ? std::nullopt
                                                                              : std::optional(value == control::rts_on))
                 ? control::rts_on
                 : control::rts_off;
    default:
      return flow_code(before.flow, false);  // unknown: answered with the flow in effect
  }
}

// DTR or RTS after an optional change, as the driver reports it; off where there are no lines.
std::uint8_t PortLine::modem_line(int bit, std::optional<bool> set) {
  if (!line_) return 0;
  if (set) (void)line_->set_modem_lines(bit, *set);
  auto lines = line_->modem_lines();
  return lines && (*lines & bit) ? 1 : 0;
}

void PortLine::tell_others(const Message& message, const Listener& from) {
  auto listeners = listeners_;
  for (Listener* l : listeners)
    if (l != &from) l->line_notice(message);
}

}  // namespace ttygate::daemon
