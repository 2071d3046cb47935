// SPDX-License-Identifier: Apache-2.0
// Telnet framing (RFC 854/855) as RFC 2217 uses it: a pure codec, no I/O, no state beyond the
// bytes of one unfinished sequence, so it is tested byte by byte and shared by the gateway and
// the client.
//
// Decoder turns a byte stream into events in order: runs of data (IAC IAC already folded into
// one 0xFF), option negotiations (WILL/WONT/DO/DONT <option>), subnegotiations (IAC SB <option>
// ... IAC SE, payload unescaped) and bare commands (NOP, BRK, ...). Anything else is malformed
// and the decoder stops for good: an IAC followed by a byte that is no Telnet command, an SE
// outside a subnegotiation, an IAC inside one that is neither IAC nor SE, or a subnegotiation
// longer than kMaxSubnegotiation (a peer can't make us buffer without bound).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace ttygate::telnet {

constexpr std::uint8_t kIac = 255, kDont = 254, kDo = 253, kWont = 252, kWill = 251, kSb = 250, kSe = 240;
constexpr std::uint8_t kNop = 241;
// Options this code knows by name.
constexpr std::uint8_t kBinary = 0, kEcho = 1, kSuppressGoAhead = 3, kComPort = 44;
// Option byte plus RFC 2217 payload: the longest is SIGNATURE text, which we bound here.
constexpr std::size_t kMaxSubnegotiation = 128;

struct Event {
  enum class Kind { data, negotiation, subnegotiation, command };
  Kind kind = Kind::data;
  std::uint8_t verb = 0;    // negotiation: kWill..kDont; command: the command byte
  std::uint8_t option = 0;  // negotiation, subnegotiation
  std::vector<std::uint8_t> bytes;  // data, or the subnegotiation's payload after the option
};

class Decoder {
 public:
  // Appends the events `in` completes to `out`. Returns why the stream is malformed (then and
  // afterwards), with the byte offset in the stream; events before the fault are in `out`.
  std::optional<std::string> feed(std::span<const std::uint8_t> in, std::vector<Event>& out);
  bool failed() const { return state_ == State::failed; }
  // Inside an unfinished sequence (a peer that stops here is not done).
  bool mid_sequence() const { return state_ != State::data; }

 private:
  enum class State { data, iac, verb, sb_option, sb, sb_iac, failed };
  std::optional<std::string> fail(std::string why);
  void add_data(std::uint8_t byte, std::vector<Event>& out);

  State state_ = State::data;
  std::uint8_t verb_ = 0;
  Event sub_;
  std::uint64_t offset_ = 0;
};

// Data with every 0xFF doubled, appended to out.
void escape(std::span<const std::uint8_t> data, std::vector<std::uint8_t>& out);
// IAC <verb> <option>.
void negotiation(std::uint8_t verb, std::uint8_t option, std::vector<std::uint8_t>& out);
// IAC SB <option> <payload, escaped> IAC SE.
void subnegotiation(std::uint8_t option, std::span<const std::uint8_t> payload, std::vector<std::uint8_t>& out);

}  // namespace ttygate::telnet
