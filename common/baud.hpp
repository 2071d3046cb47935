// SPDX-License-Identifier: Apache-2.0
// Baud rates and their termios speed constants: the one table the gateway (config, serial
// port, RFC 2217) and the client (the bridge following its pty) share.
#pragma once

#include <termios.h>

#include <span>

namespace ttygate {

// termios speed constant for a baud rate; B0 when unsupported.
speed_t baud_constant(unsigned baud);
// The rate of a termios speed constant; 0 when unknown.
unsigned baud_rate_of(speed_t speed);
// Every rate baud_constant() knows, ascending.
std::span<const unsigned> supported_baud_rates();

}  // namespace ttygate
