// SPDX-License-Identifier: Apache-2.0
// daemon/journal and the structured fields of common/log.hpp.
#include "daemon/journal.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ttygate::daemon::journal {
namespace {

TEST(JournalStream, MatchesOnlyTheDeviceAndInodeOfStderr) {
  struct Case {
    const char* env;
    bool matches;
  };
  const Case cases[] = {
      {"2049:131", true},  {"2049:132", false}, {"2048:131", false}, {nullptr, false},
      {"", false},         {"2049", false},     {"2049:", false},    {":131", false},
      {"2049:131x", false}, {"x2049:131", false}, {"-2049:131", false}, {"2049:131:1", false},
  };
  for (const Case& c : cases)
    EXPECT_EQ(stream_matches(c.env, 2049, 131), c.matches) << (c.env ? c.env : "(unset)");
}

TEST(JournalEntry, StartsWithMessagePriorityAndIdentifierThenTheFieldsInOrder) {
  const log::Field fields[] = {log::port("usb0"), log::client("ABCD-EFGH"), log::peer("192.0.2.7:40000"),
                               log::session(42), log::message_id(log::kAuthorisationFailed)};
  EXPECT_EQ(entry(log::Level::notice, "Session 42: refused", fields),
            (std::vector<std::string>{"MESSAGE=Session 42: refused", "PRIORITY=5", "SYSLOG_IDENTIFIER=ttygated",
                                      "TTYGATE_PORT=usb0", "TTYGATE_CLIENT=ABCD-EFGH",
                                      "TTYGATE_PEER=192.0.2.7:40000", "TTYGATE_SESSION=42",
                                      "MESSAGE_ID=6e8c0b2cb5b44bad812a193e19c07f63"}));
}

TEST(JournalEntry, LeavesOutFieldsWithoutAValue) {
  const log::Field fields[] = {log::port(""), log::session(7)};
  EXPECT_EQ(entry(log::Level::error, "x", fields),
            (std::vector<std::string>{"MESSAGE=x", "PRIORITY=3", "SYSLOG_IDENTIFIER=ttygated", "TTYGATE_SESSION=7"}));
}

TEST(JournalEntry, KeepsAMultiLineValueWhole) {
  // sd_journal_sendv takes binary-safe values: nothing is cut at a newline.
  const log::Field fields[] = {log::peer("a\nb")};
  EXPECT_EQ(entry(log::Level::info, "l1\nl2", fields).front(), "MESSAGE=l1\nl2");
  EXPECT_EQ(entry(log::Level::info, "l1\nl2", fields).back(), "TTYGATE_PEER=a\nb");
}

TEST(MessageIds, AreDistinct128BitLowerCaseHex) {
  const std::string_view ids[] = {log::kClientPaired, log::kAuthorisationFailed, log::kClientRemoved};
  for (std::string_view id : ids) {
    EXPECT_EQ(id.size(), 32u) << id;
    EXPECT_EQ(id.find_first_not_of("0123456789abcdef"), std::string_view::npos) << id;
  }
  EXPECT_NE(ids[0], ids[1]);
  EXPECT_NE(ids[1], ids[2]);
  EXPECT_NE(ids[0], ids[2]);
}

// The call-site shape: a line with fields reaches the installed sink with every field.
std::vector<std::string> captured;
void capture(log::Level level, std::string_view line, std::span<const log::Field> fields) {
  captured = entry(level, line, fields);
}

TEST(LogSink, ReceivesTheFieldsGivenAtTheCallSite) {
  log::sink() = capture;
  log::notice("Removed client", {log::client("ABCD"), log::message_id(log::kClientRemoved)});
  log::debug("below the threshold", {log::session(1)});
  log::sink() = nullptr;
  EXPECT_EQ(captured, (std::vector<std::string>{"MESSAGE=Removed client", "PRIORITY=5", "SYSLOG_IDENTIFIER=ttygated",
                                                "TTYGATE_CLIENT=ABCD",
                                                "MESSAGE_ID=ffa946cb41e54d8ea9e5601986b3c2fa"}));
}

}  // namespace
}  // namespace ttygate::daemon::journal
