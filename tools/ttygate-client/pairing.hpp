// SPDX-License-Identifier: Apache-2.0
// Pairing, the client's half (docs/pairing.md; the gateway's side is daemon/pairing.hpp, and the
// exchange both run is ktls/pairing_protocol.hpp).
//
// After a handshake admitted during the gateway's pairing window, the gateway speaks first, and
// its first line says how this pairing is confirmed: "commit" (committed codes: the client
// answers with its nonce, the gateway reveals its own, both show the same 6-digit code, a
// person compares them), "passcode" (SPAKE2+ with the setup code printed on the gateway), or
// the verdict itself ("button" and "auto": nothing to exchange). The verdict is one line
// "TTYGATE PAIRED <role>\n" on success, close_notify (or a closed connection) otherwise.
#pragma once

#include <openssl/ssl.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.hpp"
#include "ktls/channel.hpp"
#include "ktls/pairing_protocol.hpp"

namespace ttygate::client {

// The gateway's CN (only a suggestion for a name), as the gateway reads ours.
using ktls::pairing::peer_common_name;

struct Verdict {
  enum Kind {
    accepted,         // `role` is "control" or "monitor"
    refused,          // the gateway closed without accepting us
    wrong_passcode,   // the gateway's SPAKE2+ proof did not verify: a wrong setup code, or a man in the middle
    passcode_needed,  // the gateway pairs by setup code and none was given
  } kind = refused;
  std::string role;
};

struct PairingRequest {
  std::optional<std::string> passcode;              // --passcode
  std::function<void(std::string_view)> show_code;  // committed codes: the code, for the person
  std::chrono::milliseconds timeout{};              // for the whole exchange and the verdict
  int interrupt_fd = -1;                            // readable: give up (a signal)
};

// Runs the exchange the gateway asks for on `channel` (a user-space channel whose SSL is `ssl`)
// and waits for the verdict. A timeout, interruption, or a message that breaks the protocol
// (a tampered reveal among them) is an error; a refusal is a Verdict.
Result<Verdict> pair_over(ktls::Channel& channel, SSL* ssl, const PairingRequest& request);

}  // namespace ttygate::client
