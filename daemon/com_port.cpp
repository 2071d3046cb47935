// SPDX-License-Identifier: Apache-2.0
#include "daemon/com_port.hpp"

namespace ttygate::daemon {
namespace {

using rfc2217::Command;
using rfc2217::Message;

bool accepted(std::uint8_t option) {
  return option == telnet::kBinary || option == telnet::kSuppressGoAhead || option == telnet::kComPort;
}

}  // namespace

ComPort::ComPort(PortLine& line, ComPortOutput& output, Role role) : line_(line), output_(output), role_(role) {
  line_.subscribe(*this);
}

ComPort::~ComPort() { line_.unsubscribe(*this); }

void ComPort::ask(std::uint8_t verb, std::uint8_t option) {
  std::vector<std::uint8_t> bytes;
  telnet::negotiation(verb, option, bytes);
  output_.send_to_peer(bytes);
}

void ComPort::start() {
  for (std::uint8_t option : {telnet::kBinary, telnet::kSuppressGoAhead}) {
    options_[option].us = Q::want_yes;
    ask(telnet::kWill, option);
    options_[option].them = Q::want_yes;
    ask(telnet::kDo, option);
  }
  options_[telnet::kComPort].them = Q::want_yes;
  ask(telnet::kDo, telnet::kComPort);
}

std::optional<std::string> ComPort::from_peer(std::span<const std::uint8_t> in, std::vector<std::uint8_t>& to_device) {
  events_.clear();
  if (auto why = decoder_.feed(in, events_)) return "malformed Telnet: " + *why;
  // Replies go out as each request is met, but device data only once the whole input is known
  // to be well-formed: a bad sequence never lets any of its read reach the tty.
  const std::size_t before = to_device.size();
  for (const telnet::Event& event : events_) {
    switch (event.kind) {
      case telnet::Event::Kind::data:
        to_device.insert(to_device.end(), event.bytes.begin(), event.bytes.end());
        break;
      case telnet::Event::Kind::negotiation:
        negotiate(event.verb, event.option);
        break;
      case telnet::Event::Kind::subnegotiation:
        if (auto why = subnegotiation(event)) {
          to_device.resize(before);
          return why;
        }
        break;
      case telnet::Event::Kind::command:
        break;  // NOP, AYT, ...: nothing to do for a serial line
    }
  }
  return std::nullopt;
}

// RFC 1143 (the Q method, without queues): answer only what changes an option's state.
void ComPort::negotiate(std::uint8_t verb, std::uint8_t option) {
  OptionState& o = options_[option];
  const bool ours = verb == telnet::kDo || verb == telnet::kDont;  // about what we do
  Q& q = ours ? o.us : o.them;
  const bool positive = verb == telnet::kDo || verb == telnet::kWill;
  const std::uint8_t yes = ours ? telnet::kWill : telnet::kDo, no = ours ? telnet::kWont : telnet::kDont;
  if (positive) {
    if (q == Q::yes) return;
    if (q == Q::want_yes) {
      q = Q::yes;
    } else if (accepted(option)) {
      q = Q::yes;
      ask(yes, option);
    } else {
      ask(no, option);
    }
  } else {
    if (q == Q::no) return;
    if (q == Q::yes) ask(no, option);
    q = Q::no;
  }
  if (option == telnet::kComPort && !ours && o.them == Q::yes && !notified_modem_) {
    notified_modem_ = true;  // the client can read CTS, DSR, RI and CD from the start
    send(Message{Command::notify_modemstate, static_cast<std::uint8_t>(line_.modem_state() & modem_mask_), {}});
  }
}

std::optional<std::string> ComPort::subnegotiation(const telnet::Event& event) {
  if (event.option != telnet::kComPort) return std::nullopt;  // another option's: not ours, ignored
  std::string why;
  auto message = rfc2217::parse(event.bytes, false, &why);
  if (!message) return "malformed RFC 2217: " + why;
  switch (message->command) {
    case Command::signature: {
      static constexpr std::string_view kSignature = "ttygate " TTYGATE_VERSION;
      send(Message{Command::signature, 0, std::vector<std::uint8_t>(kSignature.begin(), kSignature.end())});
      return std::nullopt;
    }
    case Command::flowcontrol_suspend:
    case Command::flowcontrol_resume:
      output_.suspend_output(message->command == Command::flowcontrol_suspend);
      return std::nullopt;
    case Command::set_linestate_mask:
      linestate_mask_ = static_cast<std::uint8_t>(message->value);
      line_.masks_changed();
      send(*message);
      return std::nullopt;
    case Command::set_modemstate_mask:
      modem_mask_ = static_cast<std::uint8_t>(message->value);
      line_.masks_changed();
      send(*message);
      return std::nullopt;
    case Command::notify_linestate:
      // Events go out as the polling finds them; between them there is nothing to report.
      send(Message{Command::notify_linestate, 0, {}});
      return std::nullopt;
    case Command::purge_data:
      if (role_ == Role::control && (message->value == rfc2217::purge::transmit || message->value == rfc2217::purge::both))
        output_.discard_to_device();
      break;
    default:
      break;
  }
  send(line_.request(*message, role_, *this));
  return std::nullopt;
}

void ComPort::send(const Message& message) {
  std::vector<std::uint8_t> bytes;
  telnet::subnegotiation(telnet::kComPort, rfc2217::build(message, true), bytes);
  output_.send_to_peer(bytes);
}

void ComPort::line_notice(const Message& message) { send(message); }

}  // namespace ttygate::daemon
