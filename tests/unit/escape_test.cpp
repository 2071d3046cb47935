// SPDX-License-Identifier: Apache-2.0
// Escape: whatever bytes come in, shown() gives one quoted line of printable ASCII that says
// exactly which bytes they were, cut after kMaxShown bytes.
#include "common/escape.hpp"

#include <cctype>
#include <string>

#include <gtest/gtest.h>

namespace ttygate {
namespace {

struct Case {
  std::string what;
  std::string text;
  std::string shown;
};

void PrintTo(const Case& c, std::ostream* out) { *out << c.what; }

class ForeignText : public testing::TestWithParam<Case> {};

TEST_P(ForeignText, IsShownQuotedAndEscaped) { EXPECT_EQ(shown(GetParam().text), GetParam().shown); }

INSTANTIATE_TEST_SUITE_P(
    Escape, ForeignText,
    testing::Values(Case{"plain", "laptop 3", "\"laptop 3\""}, Case{"empty", "", "\"\""},
                    Case{"quote and backslash", "a\"b\\c", "\"a\\\"b\\\\c\""},
                    Case{"control characters", "a\tb\r\n\x1b[31m", "\"a\\x09b\\x0d\\x0a\\x1b[31m\""},
                    Case{"NUL and DEL", std::string("a\0b\x7f", 4), "\"a\\x00b\\x7f\""},
                    Case{"UTF-8 and high bytes", "caf\xc3\xa9\xff", "\"caf\\xc3\\xa9\\xff\""},
                    Case{"exactly the limit", std::string(kMaxShown, 'x'), "\"" + std::string(kMaxShown, 'x') + "\""},
                    Case{"past the limit", std::string(kMaxShown + 1, 'x'),
                         "\"" + std::string(kMaxShown, 'x') + "...\""}),
    [](const testing::TestParamInfo<Case>& info) {
      std::string name;
      for (char c : info.param.what) name += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
      return name;
    });

TEST(Escape, CountsTheLimitInInputBytesNotInEscapes) {
  const std::string shown_text = shown(std::string(kMaxShown + 10, '\n'));
  EXPECT_EQ(shown_text.size(), 1 + 4 * kMaxShown + 3 + 1);
  EXPECT_TRUE(shown_text.ends_with("...\""));
}

TEST(OneLine, EscapesEveryByteOutsidePrintableAsciiWithoutQuoting) {
  EXPECT_EQ(one_line("a \"b\" \\ c"), "a \"b\" \\ c");
  EXPECT_EQ(one_line("two\nlines\x1b[31m"), "two\\x0alines\\x1b[31m");
  EXPECT_EQ(one_line(std::string(kMaxLine + 5, 'x')), std::string(kMaxLine, 'x') + "...");
  EXPECT_EQ(one_line("abcdef", 3), "abc...");
}

}  // namespace
}  // namespace ttygate
