// SPDX-License-Identifier: Apache-2.0
// GpioLine: one GPIO input line watched for edges through the kernel's GPIO character-device
// uAPI v2 (linux/gpio.h, GPIO_V2_GET_LINE_IOCTL), without libgpiod.
//
// Why no library: libgpiod's 1.x API (Debian 12 ships 1.6) and its 2.x API (every Yocto series
// since scarthgap ships 2.1 or newer) are incompatible, and the button needs one ioctl and a
// read(). uAPI v2 is in every kernel since 5.10 and in every libc's kernel headers the project
// builds against; it carries edge detection and the debounce period in the one request, so the
// kernel (or its software debouncer, when the chip cannot) filters contact bounce before an edge
// is queued.
//
// The request and the parsing of what the line fd yields are pure functions, tested without a
// chip; request_edges() is the only syscall wrapper. Single-threaded.
#pragma once

#include <linux/gpio.h>

#include <chrono>
#include <cstddef>
#include <span>
#include <string>

#include "common/result.hpp"
#include "common/unique_fd.hpp"

namespace ttygate::daemon::gpio {

// "gpiochip0" names /dev/gpiochip0; anything with a '/' is a path already.
std::string chip_path(const std::string& chip);

// The request for rising edges of `line`'s active level (with active_low, the line going low),
// debounced by the kernel for `debounce` (0: none). Consumer label "ttygated-pairing".
gpio_v2_line_request edge_request(unsigned line, bool active_low, std::chrono::milliseconds debounce);

// Rising edges among the events in `bytes` as read() from a line fd: whole gpio_v2_line_event
// records (the kernel never returns a partial one; trailing bytes that are not a whole record
// are ignored).
unsigned count_rising_edges(std::span<const std::byte> bytes);

// Opens the chip and makes the request; the line fd is O_CLOEXEC and O_NONBLOCK. Errors name the
// chip and the line.
Result<UniqueFd> request_edges(const std::string& chip, const gpio_v2_line_request& request);

}  // namespace ttygate::daemon::gpio
