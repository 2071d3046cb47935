// SPDX-License-Identifier: Apache-2.0
// Passcode: the gateway's setup code (8 digits, printed once for its label) and the verifier
// file that stands for it in the state directory.
//
// The code itself is never stored: `ttygated --new-passcode` draws it, prints it, and keeps only
// what SPAKE2+'s verifier needs (salt, PBKDF2 iterations, w0, L; see ktls/spake2plus.hpp). The
// file is still a secret: with it, all 10^8 codes can be tried offline at the cost of the PBKDF2
// work each, so it is written 0600 and refused when group or others may read or write it.
//
// File format (version 1; written only by this code, anything else in it is an error):
//   ttygate-passcode-verifier 1
//   salt <64 lowercase hex: 32 bytes>
//   iterations <decimal, no sign or leading zeros, 1000..10000000>
//   w0 <64 lowercase hex: a scalar below the order of P-256>
//   L <130 lowercase hex: an uncompressed P-256 point>
// exactly these five lines, in this order, each ending in '\n'. A malformed file is refused with
// "<file>:<line>: <problem>" (errc::invalid_argument) and left as it is.
// Plain functions, no state; the file functions do blocking I/O (start-up and offline use only).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "common/result.hpp"
#include "ktls/pairing_protocol.hpp"

namespace ttygate::daemon {

using PasscodeVerifier = ktls::pairing::PasscodeVerifier;  // salt, iterations, spake2plus::Verifier

inline constexpr std::size_t kPasscodeDigits = 8;
inline constexpr std::size_t kPasscodeSaltBytes = 32;
// PBKDF2 iterations for new codes. Matter's setup codes allow 1000..100000; we take the top:
// the code has only 10^8 values, so the PBKDF2 work is what an offline guess costs someone with
// a copy of the verifier file (online, each guess costs a whole pairing attempt anyway). One
// derivation runs at --new-passcode on the gateway and one per pairing attempt on the client:
// 0.08 s on an x86-64 server core, and a Raspberry Pi class core, several times slower at
// SHA-256, still stays well under the seconds a person spends typing the code.
inline constexpr std::uint32_t kPasscodeIterations = 100'000;
// What a verifier file may hold: a later version may raise the constant above, and clients
// refuse more than ten million (a gateway asking that much would stall them).
inline constexpr std::uint32_t kMinPasscodeIterations = 1'000;
inline constexpr std::uint32_t kMaxPasscodeIterations = 10'000'000;

// 8 decimal digits, uniform from the system RNG (RAND_priv_bytes, rejection sampling), never an
// invalid code (drawn again). Fails only when the RNG does.
Result<std::string> generate_passcode();
// Exactly 8 ASCII digits and not one of Matter's invalid codes: 00000000, 11111111, ...,
// 99999999, 12345678, 87654321 (guessed first by anyone).
bool valid_passcode(std::string_view code);
// "1234-5678": the form printed for people; clients take either form.
std::string format_passcode(std::string_view code);

// <state_dir>/passcode.verifier
std::filesystem::path passcode_verifier_path(const std::filesystem::path& state_dir);

// What the gateway stores for a code: derive_secrets then make_verifier. Fails on an invalid code.
Result<PasscodeVerifier> make_passcode_verifier(std::string_view code, std::span<const std::uint8_t> salt,
                                                std::uint32_t iterations);

// Draws a new code with a fresh salt and stores its verifier (0600, atomically). Without
// replace an existing file is errc::file_exists and stays as it is. Returns the code, which
// exists nowhere else: show it once.
Result<std::string> create_passcode(const std::filesystem::path& state_dir, bool replace);

// The stored verifier; nullopt when there is no file. Errors name the file (and line).
Result<std::optional<PasscodeVerifier>> load_passcode_verifier(const std::filesystem::path& state_dir);

// The file's text, and its strict parser (source only names the text in messages).
std::string format_passcode_verifier(const PasscodeVerifier& verifier);
Result<PasscodeVerifier> parse_passcode_verifier(std::string_view text, const std::filesystem::path& source);

}  // namespace ttygate::daemon
