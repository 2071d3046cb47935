// SPDX-License-Identifier: Apache-2.0
#include "common/rfc2217.hpp"

namespace ttygate::rfc2217 {

int value_length(Command command) {
  switch (command) {
    case Command::signature: return -1;
    case Command::set_baudrate: return 4;
    case Command::flowcontrol_suspend:
    case Command::flowcontrol_resume: return 0;
    default: return 1;
  }
}

const char* name(Command command) {
  static constexpr const char* kNames[] = {
      "SIGNATURE", "SET-BAUDRATE", "SET-DATASIZE", "SET-PARITY", "SET-STOPSIZE", "SET-CONTROL",
      "NOTIFY-LINESTATE", "NOTIFY-MODEMSTATE", "FLOWCONTROL-SUSPEND", "FLOWCONTROL-RESUME",
      "SET-LINESTATE-MASK", "SET-MODEMSTATE-MASK", "PURGE-DATA"};
  auto index = static_cast<std::size_t>(command);
  return index < std::size(kNames) ? kNames[index] : "?";
}

std::optional<Message> parse(std::span<const std::uint8_t> payload, bool from_server, std::string* why) {
  if (payload.empty()) {
    *why = "an empty COM-PORT-OPTION subnegotiation";
    return std::nullopt;
  }
  unsigned code = payload[0];
  if (from_server) code = code >= kServerOffset ? code - kServerOffset : 255;
  if (code > static_cast<unsigned>(Command::purge_data)) {
    *why = "unknown COM-PORT-OPTION command " + std::to_string(payload[0]);
    return std::nullopt;
  }
  Message message;
  message.command = static_cast<Command>(code);
  auto value = payload.subspan(1);
  int length = value_length(message.command);
  if (length >= 0 && value.size() != static_cast<std::size_t>(length)) {
    *why = std::string(name(message.command)) + " with " + std::to_string(value.size()) + " value bytes, expected " +
           std::to_string(length);
    return std::nullopt;
  }
  if (length < 0) message.text.assign(value.begin(), value.end());
  for (std::uint8_t byte : value.first(length < 0 ? 0 : value.size())) message.value = message.value << 8 | byte;
  return message;
}

std::vector<std::uint8_t> build(const Message& message, bool from_server) {
  // Sized once and filled by index: growing it byte by byte trips g++ 12's -Wstringop-overflow
  // and -Warray-bounds in Release builds.
  const int length = value_length(message.command);
  const std::size_t size = 1 + (length < 0 ? message.text.size() : static_cast<std::size_t>(length));
  std::vector<std::uint8_t> payload(size);
  payload[0] = static_cast<std::uint8_t>(static_cast<unsigned>(message.command) + (from_server ? kServerOffset : 0));
  if (length < 0) {
    std::size_t at = 1;
    for (auto byte : message.text) payload[at++] = static_cast<std::uint8_t>(byte);
  }
  for (int i = 0; i < length; ++i)
    payload[1 + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(message.value >> (8 * (length - 1 - i)));
  return payload;
}

}  // namespace ttygate::rfc2217
