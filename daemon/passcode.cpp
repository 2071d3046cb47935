// SPDX-License-Identifier: Apache-2.0
// The setup code and its verifier file. See passcode.hpp for the contract and the format.
//
// The parser is strict for the same reason as the client store's: only this code writes the
// file, so anything else in it is damage or tampering, and a verifier nobody made would let
// whoever made it pair. A refused file stays as it was; pairing by setup code then refuses to
// open its window until an administrator replaces it (--new-passcode --force).
#include "daemon/passcode.hpp"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdio>
#include <vector>

#include "common/escape.hpp"
#include "common/files.hpp"
#include "common/hex.hpp"

namespace ttygate::daemon {
namespace {

constexpr std::string_view kFileName = "passcode.verifier";
constexpr std::string_view kHeader = "ttygate-passcode-verifier 1";
constexpr std::string_view kHeaderPrefix = "ttygate-passcode-verifier ";
constexpr std::size_t kMaxFileBytes = 1024;  // a valid file has about 320
constexpr mode_t kFileMode = 0600;
constexpr std::uint32_t kCodes = 100'000'000;
// The largest multiple of 10^8 that fits in 32 bits: draws at or above it are thrown away so
// every code is equally likely.
constexpr std::uint32_t kDrawLimit = 42 * kCodes;

Error error(std::errc code, std::string context) { return Error(std::make_error_code(code), std::move(context)); }

Error at_line(const std::filesystem::path& source, std::size_t line, std::string problem) {
  return error(std::errc::invalid_argument, source.string() + ":" + std::to_string(line) + ": " + std::move(problem));
}

// The file's lines, each without its '\n'; the last must have one.
Result<std::vector<std::string_view>> split_lines(std::string_view text, const std::filesystem::path& source) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    std::size_t newline = text.find('\n');
    if (newline == std::string_view::npos) {
      return at_line(source, lines.size() + 1, "last line does not end with a newline (truncated file?)");
    }
    lines.push_back(text.substr(0, newline));
    text.remove_prefix(newline + 1);
  }
  return lines;
}

// "<key> <value>" with exactly that key; the value, or a problem for the caller to place.
Result<std::string_view> value_of(std::string_view line, std::string_view key, std::string_view expected) {
  if (!line.starts_with(key) || line.size() <= key.size() || line[key.size()] != ' ') {
    return error(std::errc::invalid_argument, "expected \"" + std::string(key) + " " + std::string(expected) +
                                                  "\", got " + shown(line));
  }
  return line.substr(key.size() + 1);
}

// Decimal with no sign and no leading zeros, in the accepted range.
std::optional<std::uint32_t> parse_iterations(std::string_view text) {
  if (text.empty() || text.size() > 10 || text[0] == '0') return std::nullopt;
  if (!std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) return std::nullopt;
  std::uint32_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  if (value < kMinPasscodeIterations || value > kMaxPasscodeIterations) return std::nullopt;
  return value;
}

Result<void> check_header(std::string_view line) {
  if (line == kHeader) return success();
  if (line.starts_with(kHeaderPrefix)) {
    return error(std::errc::invalid_argument, "unsupported format " + shown(line) + " (this ttygate reads version 1)");
  }
  return error(std::errc::invalid_argument, "missing header \"" + std::string(kHeader) + "\", got " + shown(line));
}

// One "<key> <hex>" line of exactly `bytes` bytes.
Result<std::vector<std::uint8_t>> hex_field(std::string_view line, std::string_view key, std::size_t bytes) {
  // Built by appending: g++ 12's -Wrestrict misfires on "literal" + std::string at -O3.
  std::string digits = std::to_string(2 * bytes);
  digits += " lowercase hex digits";
  auto value = value_of(line, key, std::string("<").append(digits).append(">"));
  if (!value) return value.error();
  auto decoded = from_hex(*value, bytes);
  if (!decoded) {
    return error(std::errc::invalid_argument, std::string(key) + " " + shown(*value) + " is not " + digits);
  }
  return std::move(*decoded);
}

}  // namespace

Result<std::string> generate_passcode() {
  for (;;) {
    std::uint8_t bytes[4];
    if (RAND_priv_bytes(bytes, sizeof bytes) != 1) return error(std::errc::io_error, "the system RNG failed");
    std::uint32_t draw = std::uint32_t{bytes[0]} << 24 | std::uint32_t{bytes[1]} << 16 | std::uint32_t{bytes[2]} << 8 | bytes[3];
    OPENSSL_cleanse(bytes, sizeof bytes);
    if (draw >= kDrawLimit) continue;
    char code[kPasscodeDigits + 1];
    std::snprintf(code, sizeof code, "%08u", static_cast<unsigned>(draw % kCodes));
    std::string out(code, kPasscodeDigits);
    OPENSSL_cleanse(code, sizeof code);
    if (valid_passcode(out)) return out;
    OPENSSL_cleanse(out.data(), out.size());
  }
}

bool valid_passcode(std::string_view code) {
  if (code.size() != kPasscodeDigits) return false;
  if (!std::all_of(code.begin(), code.end(), [](char c) { return c >= '0' && c <= '9'; })) return false;
  if (std::all_of(code.begin(), code.end(), [&](char c) { return c == code[0]; })) return false;
  return code != "12345678" && code != "87654321";
}

std::string format_passcode(std::string_view code) {
  if (code.size() != kPasscodeDigits) return std::string(code);
  return std::string(code.substr(0, 4)) + "-" + std::string(code.substr(4));
}

std::filesystem::path passcode_verifier_path(const std::filesystem::path& state_dir) { return state_dir / kFileName; }

Result<PasscodeVerifier> make_passcode_verifier(std::string_view code, std::span<const std::uint8_t> salt,
                                                std::uint32_t iterations) {
  if (!valid_passcode(code)) return error(std::errc::invalid_argument, "not a valid setup code");
  auto secrets = ktls::spake2plus::derive_secrets(code, salt, iterations);
  if (!secrets) return secrets.error();
  auto verifier = ktls::spake2plus::make_verifier(*secrets);
  if (!verifier) return verifier.error();
  return PasscodeVerifier{std::vector<std::uint8_t>(salt.begin(), salt.end()), iterations, *verifier};
}

Result<std::string> create_passcode(const std::filesystem::path& state_dir, bool replace) {
  const std::filesystem::path path = passcode_verifier_path(state_dir);
  std::error_code ec;
  // Checked first only to spare the PBKDF2 work; the write below is what guarantees it.
  if (!replace && std::filesystem::exists(path, ec)) return error(std::errc::file_exists, path.string());
  auto code = generate_passcode();
  if (!code) return code.error();
  std::array<std::uint8_t, kPasscodeSaltBytes> salt{};
  if (RAND_bytes(salt.data(), static_cast<int>(salt.size())) != 1) return error(std::errc::io_error, "the system RNG failed");
  auto verifier = make_passcode_verifier(*code, salt, kPasscodeIterations);
  if (!verifier) return verifier.error();
  auto if_exists = replace ? IfExists::replace : IfExists::fail;
  if (auto written = write_file_atomically(path, format_passcode_verifier(*verifier), kFileMode, if_exists);
      !written) {
    if (written.error().code() == std::errc::file_exists) return error(std::errc::file_exists, path.string());
    return written.error();
  }
  return code;
}

Result<std::optional<PasscodeVerifier>> load_passcode_verifier(const std::filesystem::path& state_dir) {
  const std::filesystem::path path = passcode_verifier_path(state_dir);
  auto contents = read_file(path, kMaxFileBytes, Links::refuse);
  if (!contents) {
    if (contents.error().code() == std::errc::no_such_file_or_directory) return std::optional<PasscodeVerifier>();
    return contents.error();
  }
  if (contents->mode & 077) {
    char mode[16];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(contents->mode));
    return error(std::errc::permission_denied, path.string() + ": mode " + mode +
                                                   " lets others read or replace the setup code's verifier; fix with: chmod 600 " +
                                                   path.string());
  }
  auto parsed = parse_passcode_verifier(contents->bytes, path);
  OPENSSL_cleanse(contents->bytes.data(), contents->bytes.size());
  if (!parsed) return parsed.error();
  return std::optional<PasscodeVerifier>(std::move(*parsed));
}

std::string format_passcode_verifier(const PasscodeVerifier& verifier) {
  return std::string(kHeader) + "\n" +
         "salt " + to_hex(verifier.salt) + "\n" +
         "iterations " + std::to_string(verifier.iterations) + "\n" +
         "w0 " + to_hex(verifier.verifier.w0) + "\n" +
         "L " + to_hex(verifier.verifier.L) + "\n";
}

Result<PasscodeVerifier> parse_passcode_verifier(std::string_view text, const std::filesystem::path& source) {
  auto lines = split_lines(text, source);
  if (!lines) return lines.error();
  static constexpr std::string_view kExpected[] = {"", "salt", "iterations", "w0", "L"};
  auto place = [&](std::size_t line, const Error& problem) { return at_line(source, line, problem.context()); };
  if (lines->empty()) return at_line(source, 1, "empty file (expected \"" + std::string(kHeader) + "\")");
  // The header first: a file of another kind or version is named as such, not as incomplete.
  if (auto header = check_header((*lines)[0]); !header) return place(1, header.error());
  if (lines->size() < 5) return at_line(source, lines->size() + 1, "missing line \"" + std::string(kExpected[lines->size()]) + " ...\"");
  if (lines->size() > 5) return at_line(source, 6, "unexpected line after L: " + shown((*lines)[5]));

  auto salt = hex_field((*lines)[1], "salt", kPasscodeSaltBytes);
  if (!salt) return place(2, salt.error());
  auto iterations_text = value_of((*lines)[2], "iterations", "<decimal>");
  if (!iterations_text) return place(3, iterations_text.error());
  auto iterations = parse_iterations(*iterations_text);
  if (!iterations) {
    return at_line(source, 3, "iterations " + shown(*iterations_text) + " is not a decimal number from " +
                                  std::to_string(kMinPasscodeIterations) + " to " + std::to_string(kMaxPasscodeIterations));
  }
  auto w0 = hex_field((*lines)[3], "w0", ktls::spake2plus::kScalarBytes);
  if (!w0) return place(4, w0.error());
  if (!ktls::spake2plus::valid_scalar(*w0)) return at_line(source, 4, "w0 is not below the order of P-256");
  auto L = hex_field((*lines)[4], "L", ktls::spake2plus::kPointBytes);
  if (!L) return place(5, L.error());
  if (!ktls::spake2plus::valid_point(*L)) return at_line(source, 5, "L is not an uncompressed point on P-256");
  auto verifier = ktls::spake2plus::verifier_from(*w0, *L);
  OPENSSL_cleanse(w0->data(), w0->size());
  if (!verifier) return at_line(source, 4, verifier.error().context());
  return PasscodeVerifier{std::move(*salt), *iterations, *verifier};
}

}  // namespace ttygate::daemon
