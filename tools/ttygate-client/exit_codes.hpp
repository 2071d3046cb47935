// SPDX-License-Identifier: Apache-2.0
// Exit codes of ttygate-client: the contract scripts rely on (docs/ttygate-client.md).
#pragma once

namespace ttygate::client {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;         // network, TLS, files: the message says which
inline constexpr int kExitUsage = 2;           // bad command line
inline constexpr int kExitKeyMismatch = 3;     // the gateway's key is not the pinned one
inline constexpr int kExitPairingRefused = 4;  // the gateway ended pairing without accepting us
inline constexpr int kExitWrongPasscode = 5;   // the setup code did not verify (wrong, or a man in the middle)

}  // namespace ttygate::client
