// SPDX-License-Identifier: Apache-2.0
#include "common/telnet.hpp"

namespace ttygate::telnet {
namespace {

// NOP, DM, BRK, IP, AO, AYT, EC, EL, GA: commands without an argument.
bool bare_command(std::uint8_t byte) { return byte >= kNop && byte < kSb; }

}  // namespace

std::optional<std::string> Decoder::fail(std::string why) {
  state_ = State::failed;
  return why + " at byte " + std::to_string(offset_);
}

void Decoder::add_data(std::uint8_t byte, std::vector<Event>& out) {
  if (out.empty() || out.back().kind != Event::Kind::data) out.push_back(Event{});
  out.back().bytes.push_back(byte);
}

std::optional<std::string> Decoder::feed(std::span<const std::uint8_t> in, std::vector<Event>& out) {
  if (state_ == State::failed) return "the stream was already malformed";
  for (std::uint8_t byte : in) {
    switch (state_) {
      case State::data:
        if (byte == kIac) state_ = State::iac;
        else add_data(byte, out);
        break;
      case State::iac:
        if (byte == kIac) {
          add_data(byte, out);
          state_ = State::data;
        } else if (byte >= kWill) {
          verb_ = byte;
          state_ = State::verb;
        } else if (byte == kSb) {
          state_ = State::sb_option;
        } else if (bare_command(byte)) {
          out.push_back(Event{Event::Kind::command, byte, 0, {}});
          state_ = State::data;
        } else if (byte == kSe) {
          return fail("IAC SE outside a subnegotiation");
        } else {
          return fail("IAC followed by " + std::to_string(byte) + ", which is no Telnet command");
        }
        break;
      case State::verb:
        out.push_back(Event{Event::Kind::negotiation, verb_, byte, {}});
        state_ = State::data;
        break;
      case State::sb_option:
        sub_ = Event{Event::Kind::subnegotiation, 0, byte, {}};
        state_ = State::sb;
        break;
      case State::sb:
        if (byte == kIac) state_ = State::sb_iac;
        else if (sub_.bytes.size() + 1 >= kMaxSubnegotiation) return fail("a subnegotiation longer than " + std::to_string(kMaxSubnegotiation) + " bytes");
        else sub_.bytes.push_back(byte);
        break;
      case State::sb_iac:
        if (byte == kSe) {
          out.push_back(std::move(sub_));
          sub_ = Event{};
          state_ = State::data;
        } else if (byte == kIac) {
          if (sub_.bytes.size() + 1 >= kMaxSubnegotiation) return fail("a subnegotiation longer than " + std::to_string(kMaxSubnegotiation) + " bytes");
          sub_.bytes.push_back(byte);
          state_ = State::sb;
        } else {
          return fail("IAC followed by " + std::to_string(byte) + " inside a subnegotiation");
        }
        break;
      case State::failed:
        return "the stream was already malformed";
    }
    ++offset_;
  }
  return std::nullopt;
}

void escape(std::span<const std::uint8_t> data, std::vector<std::uint8_t>& out) {
  out.reserve(out.size() + data.size());
  for (std::uint8_t byte : data) {
    out.push_back(byte);
    if (byte == kIac) out.push_back(kIac);
  }
}

void negotiation(std::uint8_t verb, std::uint8_t option, std::vector<std::uint8_t>& out) {
  out.insert(out.end(), {kIac, verb, option});
}

void subnegotiation(std::uint8_t option, std::span<const std::uint8_t> payload, std::vector<std::uint8_t>& out) {
  out.insert(out.end(), {kIac, kSb, option});
  escape(payload, out);
  out.insert(out.end(), {kIac, kSe});
}

}  // namespace ttygate::telnet
