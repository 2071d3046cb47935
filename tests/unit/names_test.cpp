// SPDX-License-Identifier: Apache-2.0
// Names: one rule for the names of clients and of the gateway, one wording when it refuses one,
// and a sanitiser that turns any certificate CN into a name the rule accepts.
#include "daemon/names.hpp"

#include <string>

#include <gtest/gtest.h>

namespace ttygate::daemon {
namespace {

struct NameCase {
  std::string raw;
  std::string sanitized;
};

class SanitizeName : public testing::TestWithParam<NameCase> {};

TEST_P(SanitizeName, GivesAValidNameThatKeepsWhatIsReadable) {
  std::string name = sanitize_name(GetParam().raw);
  EXPECT_EQ(name, GetParam().sanitized);
  EXPECT_TRUE(valid_name(name)) << name;
}

INSTANTIATE_TEST_SUITE_P(
    Names, SanitizeName,
    testing::Values(NameCase{"laptop", "laptop"}, NameCase{"Anna's PC (2)", "Anna's PC (2)"},
                    NameCase{"  padded  ", "padded"}, NameCase{"tab\there", "tab_here"},
                    NameCase{"new\nline", "new_line"}, NameCase{"\x1b[31mred", "_[31mred"},
                    NameCase{"del\x7f", "del_"}, NameCase{"caf\xc3\xa9", "caf_"},
                    NameCase{"\xe6\x97\xa5\xe6\x9c\xac", "__"}, NameCase{"\x80x", "_x"},
                    NameCase{"\xc3x", "_x"}, NameCase{std::string("nul\0byte", 8), "nul_byte"},
                    NameCase{"", "client"}, NameCase{"   ", "client"},
                    NameCase{std::string(100, 'a'), std::string(64, 'a')},
                    NameCase{std::string(63, 'a') + " b", std::string(63, 'a')}));

TEST(ValidName, AcceptsOnlyPrintableAsciiWithoutOuterSpaces) {
  EXPECT_TRUE(valid_name("x"));
  EXPECT_TRUE(valid_name("lab bench ~ #3"));
  EXPECT_TRUE(valid_name(std::string(64, 'a')));
  EXPECT_FALSE(valid_name(""));
  EXPECT_FALSE(valid_name(std::string(65, 'a')));
  EXPECT_FALSE(valid_name(" x"));
  EXPECT_FALSE(valid_name("x "));
  EXPECT_FALSE(valid_name("a\tb"));
  EXPECT_FALSE(valid_name("a\x7f"));
  EXPECT_FALSE(valid_name("caf\xc3\xa9"));
  EXPECT_FALSE(valid_name(std::string("a\0b", 3)));
}

TEST(NameRule, IsWordedOnceForEveryMessage) {
  EXPECT_EQ(name_rule(), "1 to 64 printable ASCII characters without leading or trailing spaces");
}

TEST(CheckName, AcceptsAValidName) { EXPECT_TRUE(check_name("lab bench ~ #3").ok()); }

struct Refused {
  std::string name;
  std::string context;
};

void PrintTo(const Refused& r, std::ostream* out) { *out << r.context; }

class ABadName : public testing::TestWithParam<Refused> {};

TEST_P(ABadName, IsRefusedAsInvalidArgumentWithTheOneWordingAndTheNameEscaped) {
  auto checked = check_name(GetParam().name);
  ASSERT_FALSE(checked.ok());
  EXPECT_EQ(checked.error().code(), std::errc::invalid_argument);
  EXPECT_EQ(checked.error().context(), GetParam().context);
}

const std::string kRule = " is not 1 to 64 printable ASCII characters without leading or trailing spaces";

INSTANTIATE_TEST_SUITE_P(
    CheckName, ABadName,
    testing::Values(Refused{"", "name \"\"" + kRule}, Refused{" lead", "name \" lead\"" + kRule},
                    Refused{"tab\there", "name \"tab\\x09here\"" + kRule},
                    Refused{"say \"hi\"\n", "name \"say \\\"hi\\\"\\x0a\"" + kRule},
                    Refused{std::string(65, 'x'), "name \"" + std::string(65, 'x') + "\"" + kRule},
                    Refused{"caf\xc3\xa9", "name \"caf\\xc3\\xa9\"" + kRule}));

}  // namespace
}  // namespace ttygate::daemon
