// SPDX-License-Identifier: Apache-2.0
// ConfigShape and the config loader's bounds: hostile or wrong files are refused with one escaped
// line before toml++ parses them, and never hang or crash the reader.
#include "daemon/config_shape.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "daemon/config.hpp"
#include "tests/unit/temp_dir.hpp"

namespace ttygate::daemon {
namespace {

std::string error_of(const std::string& text) {
  try {
    parse_config(text, "/etc/ttygate/ttygated.toml");
  } catch (const ConfigError& error) {
    return error.what();
  }
  return "(accepted)";
}

std::string repeat(const std::string& part, std::size_t times) {
  std::string out;
  for (std::size_t i = 0; i < times; ++i) out += part;
  return out;
}

bool is_one_printable_line(const std::string& text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return c >= 0x20 && c <= 0x7e; });
}

TEST(ConfigShape, AcceptsOrdinaryFilesWithDotsInStringsCommentsAndValues) {
  EXPECT_TRUE(check_config_shape("[gateway]\nname = \"a.b.c.d.e\" # 1.2.3.4.5.6\nx = 1.5\n").ok());
  EXPECT_TRUE(check_config_shape("s = '''\n" + repeat("a.", 100) + "\n'''\nt = \"\"\"" + repeat("{[", 50) + "\"\"\"\n").ok());
  EXPECT_TRUE(check_config_shape("[a.b.c]\nk = [[1, 2], [3]]\n").ok());
  EXPECT_TRUE(check_config_shape("[" + repeat("a.", kMaxDottedParts - 1) + "a]\n").ok());
}

TEST(ConfigShape, RefusesAHeaderWithTensOfThousandsOfDottedPartsNamingTheLine) {
  auto shape = check_config_shape("[gateway]\n[" + repeat("a.", 40000) + "a]\n");
  ASSERT_FALSE(shape.ok());
  EXPECT_EQ(shape.error().context().rfind("2:", 0), 0u) << shape.error().context();
  EXPECT_NE(shape.error().context().find("dotted key parts"), std::string::npos);
}

TEST(ConfigShape, RefusesDeepNesting) {
  EXPECT_FALSE(check_config_shape("x = " + repeat("[", 10000) + repeat("]", 10000) + "\n").ok());
  EXPECT_FALSE(check_config_shape("x = " + repeat("{a=", 5000) + "1" + repeat("}", 5000) + "\n").ok());
  EXPECT_TRUE(check_config_shape("x = " + repeat("[", kMaxNesting) + repeat("]", kMaxNesting) + "\n").ok());
}

TEST(ConfigShape, CountsDotsPerLineAndIgnoresEscapedQuotes) {
  EXPECT_TRUE(check_config_shape(repeat("a.b = 1\n", 1000)).ok());
  EXPECT_FALSE(check_config_shape("s = \"\\\"" + std::string("\" ") + repeat(".", 40) + "\n").ok());
}

TEST(ConfigLoading, ADottedPartBombIsOneLineNotACrash) {
  const std::string message = error_of("[" + repeat("a.", 40000) + "a]\n");
  EXPECT_EQ(message.rfind("/etc/ttygate/ttygated.toml:1:", 0), 0u) << message.substr(0, 200);
  EXPECT_TRUE(is_one_printable_line(message)) << message.substr(0, 200);
}

TEST(ConfigLoading, TomlSyntaxErrorsAreOneEscapedLine) {
  for (const std::string& text : {std::string("[gateway\nname = 1\n"), std::string("x = \"\x1b[31mred\n"),
                                  std::string("a = 1\na = 2\n"), std::string("k = \"\x01\"\n")}) {
    const std::string message = error_of(text);
    EXPECT_NE(message, "(accepted)");
    EXPECT_TRUE(is_one_printable_line(message)) << message;
  }
}

TEST(ConfigLoading, RefusesNonRegularFilesWithoutReadingThem) {
  for (const char* device : {"/dev/zero", "/dev/null"}) {
    try {
      load_config(device);
      ADD_FAILURE() << device << " accepted";
    } catch (const ConfigError& error) {
      EXPECT_NE(std::string(error.what()).find("not a regular file"), std::string::npos) << error.what();
    }
  }
  test_support::TempDir dir("ttygate-config");
  const auto fifo = dir.path() / "fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_THROW(load_config(fifo), ConfigError);  // returns at once: opened O_NONBLOCK, then refused
}

TEST(ConfigLoading, RefusesAFileOverOneMebibyte) {
  test_support::TempDir dir("ttygate-config");
  const auto big = dir.path() / "big.toml";
  std::ofstream(big) << "# " << std::string((1 << 20) + 1, 'x') << "\n";
  try {
    load_config(big);
    ADD_FAILURE() << "accepted";
  } catch (const ConfigError& error) {
    EXPECT_NE(std::string(error.what()).find("larger than 1048576 bytes"), std::string::npos) << error.what();
  }
}

}  // namespace
}  // namespace ttygate::daemon
