// Pairing, the client's half (docs/ttygate-client.md, the gateway's side in daemon/pairing.hpp).
//
// After a handshake admitted during the gateway's pairing window, both ends derive the same
// 6-digit code from the TLS exporter (label "EXPORTER-ttygate-pairing", no context, 4 bytes,
// big-endian, mod 10^6): a person compares the two, which a man in the middle cannot make equal
// on both of his connections. The gateway sends nothing until its verdict: exactly one line
// "TTYGATE PAIRED <role>\n" on success, close_notify (or a closed connection) otherwise.
#pragma once

#include <chrono>
#include <string>

#include <openssl/ssl.h>

#include "common/result.hpp"
#include "ktls/channel.hpp"
#include "ktls/exporter.hpp"

namespace ttygate::client {

// The code (ktls::pairing_code) and the gateway's CN (ktls::peer_common_name, only a suggestion
// for a name) come from ktls/exporter.hpp, the same derivation the gateway uses.
using ktls::pairing_code;
using ktls::peer_common_name;

struct Verdict {
  enum Kind { accepted, refused } kind = refused;
  std::string role;  // accepted: "control" or "monitor"
};

// Waits for the verdict line. A close (orderly or not) is a refusal; a timeout, interruption or
// anything but the verdict line is an error.
Result<Verdict> await_verdict(ktls::Channel& channel, std::chrono::milliseconds timeout, int interrupt_fd);

}  // namespace ttygate::client
