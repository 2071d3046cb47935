// SPDX-License-Identifier: Apache-2.0
// RFC 2217 (Telnet COM-PORT-OPTION) messages: command codes, values, and the payload of one
// subnegotiation parsed or built. Pure; the Telnet framing around it is common/telnet.hpp.
//
// A payload is malformed when its command is unknown or its value has the wrong length (the
// caller closes the session). A well-formed value out of range (data size 9, purge 7) is not
// malformed: it is refused, and the reply carries the value in effect.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace ttygate::rfc2217 {

enum class Command : std::uint8_t {
  signature = 0,
  set_baudrate = 1,
  set_datasize = 2,
  set_parity = 3,
  set_stopsize = 4,
  set_control = 5,
  notify_linestate = 6,
  notify_modemstate = 7,
  flowcontrol_suspend = 8,
  flowcontrol_resume = 9,
  set_linestate_mask = 10,
  set_modemstate_mask = 11,
  purge_data = 12,
};
// A server's reply or notification carries the client's code plus this.
constexpr std::uint8_t kServerOffset = 100;

namespace control {
constexpr std::uint8_t flow_request = 0, flow_none = 1, flow_xonxoff = 2, flow_hardware = 3;
constexpr std::uint8_t break_request = 4, break_on = 5, break_off = 6;
constexpr std::uint8_t dtr_request = 7, dtr_on = 8, dtr_off = 9;
constexpr std::uint8_t rts_request = 10, rts_on = 11, rts_off = 12;
constexpr std::uint8_t inflow_request = 13, inflow_none = 14, inflow_xonxoff = 15, inflow_hardware = 16;
constexpr std::uint8_t flow_dcd = 17, inflow_dtr = 18, flow_dsr = 19;
}  // namespace control

namespace parity {
constexpr std::uint8_t request = 0, none = 1, odd = 2, even = 3, mark = 4, space = 5;
}
namespace stopsize {
constexpr std::uint8_t request = 0, one = 1, two = 2, one_and_half = 3;
}
namespace purge {
constexpr std::uint8_t receive = 1, transmit = 2, both = 3;
}
namespace modem {
constexpr std::uint8_t cd = 0x80, ri = 0x40, dsr = 0x20, cts = 0x10;
constexpr std::uint8_t delta_cd = 0x08, trailing_ri = 0x04, delta_dsr = 0x02, delta_cts = 0x01;
}

// NOTIFY-LINESTATE bits. The gateway reports the four events (`events`); the register states
// (timeout, shift/holding register empty, data ready) are not observable through a tty.
namespace linestate {
constexpr std::uint8_t timeout = 0x80, tsr_empty = 0x40, thr_empty = 0x20;
constexpr std::uint8_t break_detect = 0x10, framing = 0x08, parity = 0x04, overrun = 0x02, data_ready = 0x01;
constexpr std::uint8_t events = break_detect | framing | parity | overrun;
}

struct Message {
  Command command = Command::signature;
  std::uint32_t value = 0;           // the baud rate, or the one value byte
  std::vector<std::uint8_t> text;    // SIGNATURE only
};

// A payload (after the option byte) as sent by a client (`from_server` false, codes 0..12) or a
// server (codes 100..112). nullopt, with why set, when malformed.
std::optional<Message> parse(std::span<const std::uint8_t> payload, bool from_server, std::string* why);
// The payload for `message` in the given direction (without the option byte or framing).
std::vector<std::uint8_t> build(const Message& message, bool from_server);
// The value length each command carries: 4 (baud), 0 (suspend, resume), -1 (signature: any),
// else 1.
int value_length(Command command);
const char* name(Command command);

}  // namespace ttygate::rfc2217
