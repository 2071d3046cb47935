// SPDX-License-Identifier: Apache-2.0
#include "daemon/gpio_line.hpp"

#include <fcntl.h>
#include <sys/ioctl.h>

#include <cerrno>
#include <cstring>

namespace ttygate::daemon::gpio {
namespace {

constexpr char kConsumer[] = "ttygated-pairing";

}  // namespace

std::string chip_path(const std::string& chip) {
  if (chip.find('/') != std::string::npos) return chip;
  std::string path = "/dev/";
  path.append(chip);
  return path;
}

gpio_v2_line_request edge_request(unsigned line, bool active_low, std::chrono::milliseconds debounce) {
  gpio_v2_line_request request{};
  request.offsets[0] = line;
  request.num_lines = 1;
  static_assert(sizeof kConsumer <= sizeof request.consumer);
  std::memcpy(request.consumer, kConsumer, sizeof kConsumer);
  request.config.flags = GPIO_V2_LINE_FLAG_INPUT | GPIO_V2_LINE_FLAG_EDGE_RISING;
  if (active_low) request.config.flags |= GPIO_V2_LINE_FLAG_ACTIVE_LOW;
  if (debounce.count() > 0) {
    auto& attribute = request.config.attrs[0];
    attribute.attr.id = GPIO_V2_LINE_ATTR_ID_DEBOUNCE;
    attribute.attr.debounce_period_us = static_cast<__u32>(std::chrono::microseconds(debounce).count());
    attribute.mask = 1;  // bit 0: the request's first (only) line
    request.config.num_attrs = 1;
  }
  return request;
}

unsigned count_rising_edges(std::span<const std::byte> bytes) {
  unsigned rising = 0;
  for (std::size_t at = 0; at + sizeof(gpio_v2_line_event) <= bytes.size(); at += sizeof(gpio_v2_line_event)) {
    gpio_v2_line_event event;
    std::memcpy(&event, bytes.data() + at, sizeof event);  // the buffer need not be aligned
    rising += event.id == GPIO_V2_LINE_EVENT_RISING_EDGE;
  }
  return rising;
}

Result<UniqueFd> request_edges(const std::string& chip, const gpio_v2_line_request& request) {
  std::string path = chip_path(chip);
  UniqueFd chip_fd(::open(path.c_str(), O_RDWR | O_CLOEXEC));
  if (!chip_fd) return errno_error("opening GPIO chip " + path);
  gpio_v2_line_request made = request;
  if (::ioctl(chip_fd.get(), GPIO_V2_GET_LINE_IOCTL, &made) < 0)
    return errno_error("requesting edge events on " + path + " line " + std::to_string(request.offsets[0]));
  // The line fd outlives the chip fd; the kernel opens it O_CLOEXEC.
  UniqueFd line(made.fd);
  int flags = ::fcntl(line.get(), F_GETFL);
  if (flags < 0 || ::fcntl(line.get(), F_SETFL, flags | O_NONBLOCK) < 0)
    return errno_error("preparing " + path + " line " + std::to_string(request.offsets[0]));
  return line;
}

}  // namespace ttygate::daemon::gpio
