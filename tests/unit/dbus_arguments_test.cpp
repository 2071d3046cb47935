// SPDX-License-Identifier: Apache-2.0
// D-Bus arguments are bounded at the door, and refusals quote only a short escaped prefix.
#include "dbus/arguments.hpp"

#include <string>

#include <gtest/gtest.h>

#include "daemon/refusal.hpp"

namespace ttygate::dbus {
namespace {

TEST(DbusArguments, AcceptArgumentsUpToTheirLimit) {
  EXPECT_TRUE(bounded_argument("name", std::string(kMaxNameArgument, 'n'), kMaxNameArgument).ok());
  EXPECT_TRUE(check_add_client_arguments(std::string(kMaxPemArgument, 'p'), "phone", "control").ok());
}

TEST(DbusArguments, RefuseAHugeArgumentQuotingOnlyAShortEscapedPrefix) {
  const std::string huge(20 << 20, '\x1b');
  auto checked = check_add_client_arguments(huge, "phone", "control");
  ASSERT_FALSE(checked.ok());
  EXPECT_EQ(checked.error().code(), daemon::Refusal::invalid_args);
  const std::string text = error_text(checked.error());
  EXPECT_LT(text.size(), 600u);
  EXPECT_EQ(text.find('\x1b'), std::string::npos);
  EXPECT_NE(text.find("certificate is 20971520 bytes, more than 65536"), std::string::npos) << text;
}

TEST(DbusArguments, NameAndRoleHaveTheirOwnLimits) {
  EXPECT_FALSE(check_add_client_arguments("pem", std::string(kMaxNameArgument + 1, 'n'), "control").ok());
  EXPECT_FALSE(check_add_client_arguments("pem", "phone", std::string(kMaxRoleArgument + 1, 'r')).ok());
}

TEST(DbusArguments, ErrorTextsAreOneEscapedLine) {
  const std::string text = error_text(Error(daemon::make_error_code(daemon::Refusal::failed), "line one\nline two\x1b[2J"));
  EXPECT_EQ(text.find('\n'), std::string::npos);
  EXPECT_EQ(text.find('\x1b'), std::string::npos);
  EXPECT_NE(text.find("line one\\x0aline two\\x1b[2J"), std::string::npos) << text;
}

}  // namespace
}  // namespace ttygate::dbus
