// SPDX-License-Identifier: Apache-2.0
// The setup code and its verifier file: codes worth printing, a file that round-trips, is private,
// is never replaced by accident, and refuses every kind of damage with its line.
#include "daemon/passcode.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <set>

#include "tests/unit/temp_dir.hpp"

namespace ttygate::daemon {
namespace {

using test_support::read_bytes;
using test_support::TempDir;

TEST(Passcode, GeneratedCodesAreEightDigitsAndNeverAnInvalidCode) {
  std::set<std::string> seen;
  std::array<std::set<char>, kPasscodeDigits> digits_at;
  for (int i = 0; i < 20000; ++i) {
    auto code = generate_passcode();
    ASSERT_TRUE(code) << code.error().message();
    ASSERT_TRUE(valid_passcode(*code)) << *code;
    for (std::size_t d = 0; d < kPasscodeDigits; ++d) digits_at[d].insert((*code)[d]);
    seen.insert(*code);
  }
  // Uniform over 10^8: 20000 draws all but never repeat, and every position takes every digit.
  EXPECT_GT(seen.size(), 19990u);
  for (const auto& digits : digits_at) EXPECT_EQ(digits.size(), 10u);
}

TEST(Passcode, ValidPasscodeAcceptsOnlyEightDigitsThatAreNotGuessedFirst) {
  struct Case {
    std::string_view code;
    bool valid;
  } cases[] = {
      {"20231204", true},  {"00000001", true},  {"98765432", true},  {"12345679", true},
      {"00000000", false}, {"11111111", false}, {"22222222", false}, {"33333333", false},
      {"44444444", false}, {"55555555", false}, {"66666666", false}, {"77777777", false},
      {"88888888", false}, {"99999999", false}, {"12345678", false}, {"87654321", false},
      {"", false},         {"1234567", false},  {"123456789", false}, {"1234-5678", false},
      {"1234567a", false}, {" 2023120", false}, {"２０２３１２０４", false},
      {std::string_view("2023\0" "204", 8), false},
  };
  for (const Case& c : cases) EXPECT_EQ(valid_passcode(c.code), c.valid) << "\"" << c.code << "\"";
}

TEST(Passcode, IsPrintedInTwoGroupsOfFour) { EXPECT_EQ(format_passcode("20231204"), "2023-1204"); }

TEST(Passcode, TheVerifierFileLivesInTheStateDirectory) {
  EXPECT_EQ(passcode_verifier_path("/var/lib/ttygate"), "/var/lib/ttygate/passcode.verifier");
}

TEST(Passcode, NoFileMeansNoSetupCode) {
  TempDir dir;
  auto loaded = load_passcode_verifier(dir.path());
  ASSERT_TRUE(loaded) << loaded.error().message();
  EXPECT_FALSE(loaded->has_value());
}

TEST(Passcode, ACreatedCodeIsStoredOnlyAsItsVerifierWithMode0600) {
  TempDir dir;
  auto code = create_passcode(dir.path(), false);
  ASSERT_TRUE(code) << code.error().message();
  EXPECT_TRUE(valid_passcode(*code));
  const auto path = passcode_verifier_path(dir.path());
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  std::string text = read_bytes(path);
  EXPECT_EQ(text.find(*code), std::string::npos) << "the code itself is in the file";
  EXPECT_TRUE(text.starts_with("ttygate-passcode-verifier 1\nsalt ")) << text;

  auto loaded = load_passcode_verifier(dir.path());
  ASSERT_TRUE(loaded) << loaded.error().message();
  ASSERT_TRUE(loaded->has_value());
  const PasscodeVerifier& stored = **loaded;
  EXPECT_EQ(stored.salt.size(), kPasscodeSaltBytes);
  EXPECT_EQ(stored.iterations, kPasscodeIterations);
  EXPECT_EQ(format_passcode_verifier(stored), text);
}

// What a client does with the printed code gives the same verifier, and the two complete SPAKE2+.
TEST(Passcode, TheStoredVerifierIsTheOneThePrintedCodeDerives) {
  TempDir dir;
  auto code = create_passcode(dir.path(), false);
  ASSERT_TRUE(code);
  auto loaded = load_passcode_verifier(dir.path());
  ASSERT_TRUE(loaded && loaded->has_value());
  const PasscodeVerifier& stored = **loaded;

  auto secrets = ktls::spake2plus::derive_secrets(*code, stored.salt, stored.iterations);
  ASSERT_TRUE(secrets);
  auto expected = ktls::spake2plus::make_verifier(*secrets);
  ASSERT_TRUE(expected);
  EXPECT_EQ(stored.verifier.w0, expected->w0);
  EXPECT_EQ(stored.verifier.L, expected->L);

  ktls::spake2plus::Transcript transcript{{1, 2, 3}, {}, {}};
  auto prover = ktls::spake2plus::Prover::start(*secrets, transcript);
  auto session = ktls::spake2plus::VerifierSession::respond(stored.verifier, transcript, prover->share());
  ASSERT_TRUE(session);
  auto finished = prover->finish(session->share(), session->confirm());
  ASSERT_TRUE(finished) << finished.error().message();
  auto key = session->finish(finished->confirm);
  ASSERT_TRUE(key);
  EXPECT_EQ(*key, finished->shared_key);
}

TEST(Passcode, MakePasscodeVerifierRefusesAnInvalidCode) {
  std::vector<std::uint8_t> salt(32, 1);
  EXPECT_FALSE(make_passcode_verifier("12345678", salt, 1000));
  EXPECT_FALSE(make_passcode_verifier("1234", salt, 1000));
  EXPECT_TRUE(make_passcode_verifier("12345670", salt, 1000));
}

TEST(Passcode, AnExistingCodeIsReplacedOnlyWhenForced) {
  TempDir dir;
  ASSERT_TRUE(create_passcode(dir.path(), false));
  const auto path = passcode_verifier_path(dir.path());
  const std::string before = read_bytes(path);

  auto again = create_passcode(dir.path(), false);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code(), std::errc::file_exists);
  EXPECT_EQ(again.error().context(), path.string());
  EXPECT_EQ(read_bytes(path), before);

  auto forced = create_passcode(dir.path(), true);
  ASSERT_TRUE(forced) << forced.error().message();
  EXPECT_NE(read_bytes(path), before);
  auto loaded = load_passcode_verifier(dir.path());
  ASSERT_TRUE(loaded && loaded->has_value());
  auto secrets = ktls::spake2plus::derive_secrets(*forced, (*loaded)->salt, (*loaded)->iterations);
  EXPECT_EQ(ktls::spake2plus::make_verifier(*secrets)->L, (*loaded)->verifier.L);
}

// A well-formed file to damage: the verifier of 20231204 with a fixed salt.
std::string good_file() {
  std::vector<std::uint8_t> salt(32);
  for (std::size_t i = 0; i < salt.size(); ++i) salt[i] = static_cast<std::uint8_t>(i);
  return format_passcode_verifier(*make_passcode_verifier("20231204", salt, 1000));
}

std::string replace_line(std::string text, std::size_t line, std::string_view with) {
  std::size_t start = 0;
  for (std::size_t i = 1; i < line; ++i) start = text.find('\n', start) + 1;
  return text.replace(start, text.find('\n', start) - start, with);
}

std::string line_of(const std::string& text, std::size_t line) {
  std::size_t start = 0;
  for (std::size_t i = 1; i < line; ++i) start = text.find('\n', start) + 1;
  return text.substr(start, text.find('\n', start) - start);
}

void write_file(const std::filesystem::path& path, const std::string& text, mode_t mode = 0600) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
  ::chmod(path.c_str(), mode);
}

TEST(Passcode, AWellFormedFileParses) {
  TempDir dir;
  write_file(passcode_verifier_path(dir.path()), good_file());
  auto loaded = load_passcode_verifier(dir.path());
  ASSERT_TRUE(loaded) << loaded.error().message();
  ASSERT_TRUE(loaded->has_value());
  EXPECT_EQ((*loaded)->iterations, 1000u);
}

TEST(Passcode, EveryKindOfMalformedFileIsRefusedWithItsLineAndLeftAsItIs) {
  const std::string good = good_file();
  const std::string L = line_of(good, 5);
  std::string off_curve = L;
  off_curve.back() = off_curve.back() == '0' ? '1' : '0';
  struct Case {
    const char* what;
    std::string text;
    std::size_t line;
    std::string_view problem;
  } cases[] = {
      {"empty", "", 1, "empty file"},
      {"no final newline", good.substr(0, good.size() - 1), 5, "does not end with a newline"},
      {"another format", replace_line(good, 1, "ttygate clients v1"), 1, "missing header"},
      {"a later version", replace_line(good, 1, "ttygate-passcode-verifier 2"), 1, "this ttygate reads version 1"},
      {"a later version, shorter", "ttygate-passcode-verifier 2\n", 1, "this ttygate reads version 1"},
      {"some other one-line file", "x\n", 1, "missing header \"ttygate-passcode-verifier 1\", got \"x\""},
      {"header only", "ttygate-passcode-verifier 1\n", 2, "missing line \"salt"},
      {"no L", good.substr(0, good.find("\nL ") + 1), 5, "missing line \"L"},
      {"an extra line", good + "extra\n", 6, "unexpected line after L: \"extra\""},
      {"a blank line at the end", good + "\n", 6, "unexpected line"},
      {"lines swapped", replace_line(replace_line(good, 2, line_of(good, 3)), 3, line_of(good, 2)), 2, "expected \"salt"},
      {"salt too short", replace_line(good, 2, "salt 0001"), 2, "is not 64 lowercase hex digits"},
      {"salt in uppercase", replace_line(good, 2, "salt " + std::string(64, 'A')), 2, "lowercase hex"},
      {"salt without value", replace_line(good, 2, "salt"), 2, "expected \"salt <64 lowercase hex digits>\""},
      {"two spaces", replace_line(good, 2, "salt  " + line_of(good, 2).substr(5)), 2, "is not 64 lowercase hex digits"},
      {"iterations zero", replace_line(good, 3, "iterations 0"), 3, "is not a decimal number from 1000 to 10000000"},
      {"iterations too few", replace_line(good, 3, "iterations 999"), 3, "from 1000"},
      {"iterations too many", replace_line(good, 3, "iterations 10000001"), 3, "from 1000"},
      {"iterations with a sign", replace_line(good, 3, "iterations +1000"), 3, "\"+1000\""},
      {"iterations with leading zero", replace_line(good, 3, "iterations 01000"), 3, "\"01000\""},
      {"iterations overflowing", replace_line(good, 3, "iterations 99999999999999999999"), 3, "from 1000"},
      {"w0 not hex", replace_line(good, 4, "w0 " + std::string(64, 'g')), 4, "is not 64 lowercase hex digits"},
      {"w0 not below the order", replace_line(good, 4, "w0 " + std::string(64, 'f')), 4, "not below the order"},
      {"L compressed", replace_line(good, 5, "L 02" + L.substr(4, 64)), 5, "is not 130 lowercase hex digits"},
      {"L off the curve", replace_line(good, 5, off_curve), 5, "not an uncompressed point on P-256"},
      {"L zero", replace_line(good, 5, "L 04" + std::string(128, '0')), 5, "not an uncompressed point on P-256"},
      {"a carriage return", replace_line(good, 3, "iterations 1000\r"), 3, "\"1000\\x0d\""},
      {"a NUL byte", replace_line(good, 1, std::string("ttygate-passcode-verifier 1\0", 28)), 1, "\\x00"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    TempDir dir;
    const auto path = passcode_verifier_path(dir.path());
    write_file(path, c.text);
    auto loaded = load_passcode_verifier(dir.path());
    ASSERT_FALSE(loaded);
    EXPECT_EQ(loaded.error().code(), std::errc::invalid_argument);
    const std::string message = loaded.error().message();
    EXPECT_TRUE(message.starts_with(path.string() + ":" + std::to_string(c.line) + ": ")) << message;
    EXPECT_NE(message.find(c.problem), std::string::npos) << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    EXPECT_EQ(read_bytes(path), c.text);
    // And creating a new code without force still refuses to touch it.
    auto created = create_passcode(dir.path(), false);
    ASSERT_FALSE(created);
    EXPECT_EQ(read_bytes(path), c.text);
  }
}

TEST(Passcode, AFileOthersMayReadOrWriteIsRefused) {
  for (mode_t mode : {0644, 0640, 0604, 0620, 0602}) {
    SCOPED_TRACE(mode);
    TempDir dir;
    const auto path = passcode_verifier_path(dir.path());
    write_file(path, good_file(), mode);
    auto loaded = load_passcode_verifier(dir.path());
    ASSERT_FALSE(loaded);
    EXPECT_EQ(loaded.error().code(), std::errc::permission_denied);
    EXPECT_NE(loaded.error().message().find("chmod 600 " + path.string()), std::string::npos) << loaded.error().message();
  }
}

TEST(Passcode, AnOversizedFileIsRefusedBeforeParsing) {
  TempDir dir;
  write_file(passcode_verifier_path(dir.path()), good_file() + std::string(4096, '#'));
  auto loaded = load_passcode_verifier(dir.path());
  ASSERT_FALSE(loaded);
  EXPECT_EQ(loaded.error().code(), std::errc::file_too_large);
}

TEST(Passcode, TheFormatRoundTrips) {
  const std::string text = good_file();
  auto parsed = parse_passcode_verifier(text, "test");
  ASSERT_TRUE(parsed) << parsed.error().message();
  EXPECT_EQ(format_passcode_verifier(*parsed), text);
}

}  // namespace
}  // namespace ttygate::daemon
