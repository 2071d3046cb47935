// SPDX-License-Identifier: Apache-2.0
// Serial port set-up: open a tty exclusively, non-blocking, and apply the configured line
// settings in raw mode (no echo, no line discipline, no signals, no CR/LF translation), so the
// bytes on the wire are exactly the bytes relayed.
#pragma once

#include <termios.h>

#include <span>

#include "common/baud.hpp"
#include "common/result.hpp"
#include "common/unique_fd.hpp"
#include "daemon/config.hpp"

namespace ttygate::daemon {

// The rate table (common/baud.hpp): what the config accepts.
using ttygate::baud_constant;
using ttygate::baud_rate_of;
using ttygate::supported_baud_rates;

// Applies line settings to a termios structure in raw mode. Pure: testable without a tty.
void apply_line_settings(termios& tio, const PortConfig& port);

// Opens the device (O_RDWR|O_NOCTTY|O_NONBLOCK|O_CLOEXEC), takes it exclusively (TIOCEXCL),
// and applies the settings. Errors name the device.
Result<UniqueFd> open_serial_port(const PortConfig& port);

}  // namespace ttygate::daemon
