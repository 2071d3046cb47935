// SPDX-License-Identifier: Apache-2.0
#include "common/telnet.hpp"

#include <gtest/gtest.h>

#include "common/rfc2217.hpp"

using namespace ttygate;
using telnet::Event;

namespace {

using Bytes = std::vector<std::uint8_t>;

std::vector<Event> decode(const Bytes& in, std::optional<std::string>* error = nullptr) {
  telnet::Decoder decoder;
  std::vector<Event> out;
  auto why = decoder.feed(in, out);
  if (error) *error = why;
  else EXPECT_FALSE(why) << *why;
  return out;
}

}  // namespace

TEST(TelnetDecoder, FoldsADoubledIacIntoOneDataByte) {
  auto events = decode({'a', 255, 255, 'b', 255, 255});
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].kind, Event::Kind::data);
  EXPECT_EQ(events[0].bytes, (Bytes{'a', 255, 'b', 255}));
}

TEST(TelnetDecoder, ReportsNegotiationsSubnegotiationsAndDataInOrder) {
  auto events = decode({'x', 255, 251, 44, 255, 250, 44, 1, 0, 0, 37, 128, 255, 240, 'y', 255, 241});
  ASSERT_EQ(events.size(), 5u);
  EXPECT_EQ(events[0].bytes, Bytes{'x'});
  EXPECT_EQ(events[1].kind, Event::Kind::negotiation);
  EXPECT_EQ(events[1].verb, telnet::kWill);
  EXPECT_EQ(events[1].option, telnet::kComPort);
  EXPECT_EQ(events[2].kind, Event::Kind::subnegotiation);
  EXPECT_EQ(events[2].option, telnet::kComPort);
  EXPECT_EQ(events[2].bytes, (Bytes{1, 0, 0, 37, 128}));
  EXPECT_EQ(events[3].bytes, Bytes{'y'});
  EXPECT_EQ(events[4].kind, Event::Kind::command);
}

TEST(TelnetDecoder, JoinsASequenceSplitAcrossFeedsByteByByte) {
  Bytes stream = {255, 250, 44, 1, 0, 0, 255, 255, 255, 240, 'z'};
  telnet::Decoder decoder;
  std::vector<Event> out;
  for (std::uint8_t byte : stream) {
    ASSERT_FALSE(decoder.feed(std::span(&byte, 1), out));
  }
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].bytes, (Bytes{1, 0, 0, 255}));
  EXPECT_EQ(out[1].bytes, Bytes{'z'});
  EXPECT_FALSE(decoder.mid_sequence());
}

struct Malformed {
  const char* name;
  Bytes bytes;
};

class TelnetDecoderRefuses : public testing::TestWithParam<Malformed> {};

TEST_P(TelnetDecoderRefuses, AMalformedSequenceForGood) {
  std::optional<std::string> error;
  telnet::Decoder decoder;
  std::vector<Event> out;
  error = decoder.feed(GetParam().bytes, out);
  ASSERT_TRUE(error) << GetParam().name;
  EXPECT_TRUE(decoder.failed());
  EXPECT_TRUE(decoder.feed(Bytes{'a'}, out));  // and stays refused
}

Bytes too_long() {
  Bytes b = {255, 250, 44, 0};
  b.resize(b.size() + telnet::kMaxSubnegotiation, 'a');
  return b;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, TelnetDecoderRefuses,
    testing::Values(Malformed{"iac_then_data_byte", {255, 1}}, Malformed{"se_outside", {'a', 255, 240}},
                    Malformed{"iac_junk_in_sb", {255, 250, 44, 1, 255, 7}}, Malformed{"endless_sb", too_long()}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(TelnetEncoder, EscapesIacInDataAndSubnegotiationPayloads) {
  Bytes out;
  telnet::escape(Bytes{1, 255, 2}, out);
  EXPECT_EQ(out, (Bytes{1, 255, 255, 2}));
  out.clear();
  telnet::subnegotiation(telnet::kComPort, Bytes{101, 0, 0, 0, 255}, out);
  EXPECT_EQ(out, (Bytes{255, 250, 44, 101, 0, 0, 0, 255, 255, 255, 240}));
  auto events = decode(out);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].bytes, (Bytes{101, 0, 0, 0, 255}));
}

TEST(Rfc2217Message, ParsesABaudRateAndBuildsTheServerReply) {
  std::string why;
  auto m = rfc2217::parse(Bytes{1, 0, 0, 0x25, 0x80}, false, &why);
  ASSERT_TRUE(m) << why;
  EXPECT_EQ(m->command, rfc2217::Command::set_baudrate);
  EXPECT_EQ(m->value, 9600u);
  EXPECT_EQ(rfc2217::build(*m, true), (Bytes{101, 0, 0, 0x25, 0x80}));
  auto back = rfc2217::parse(rfc2217::build(*m, true), true, &why);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->value, 9600u);
}

TEST(Rfc2217Message, RefusesAWrongLengthOrAnUnknownCommandAsMalformed) {
  std::string why;
  EXPECT_FALSE(rfc2217::parse(Bytes{1, 0, 37}, false, &why));
  EXPECT_NE(why.find("SET-BAUDRATE"), std::string::npos) << why;
  EXPECT_FALSE(rfc2217::parse(Bytes{2}, false, &why));
  EXPECT_FALSE(rfc2217::parse(Bytes{13, 1}, false, &why));
  EXPECT_FALSE(rfc2217::parse(Bytes{}, false, &why));
  EXPECT_FALSE(rfc2217::parse(Bytes{5, 1}, true, &why));  // a client code from a server
}

TEST(Rfc2217Message, KeepsAnOutOfRangeValueForTheCallerToRefuse) {
  std::string why;
  auto m = rfc2217::parse(Bytes{2, 9}, false, &why);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->value, 9u);
}
