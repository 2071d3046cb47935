#include "ktls/tickets.hpp"

#include <gtest/gtest.h>

using ttygate::ktls::TicketKeys;

TEST(TicketKeys, FindTheCurrentKeyByName) {
  TicketKeys keys;
  bool previous = true;
  const auto* key = keys.find(keys.current().name.data(), previous);
  ASSERT_NE(key, nullptr);
  EXPECT_FALSE(previous);
  EXPECT_EQ(key->cipher_key, keys.current().cipher_key);
}

TEST(TicketKeys, StillOpenTicketsOfThePreviousKeyAndMarkThemForRenewal) {
  TicketKeys keys;
  auto old_name = keys.current().name;
  auto old_cipher = keys.current().cipher_key;
  ASSERT_TRUE(keys.rotate().ok());
  EXPECT_NE(keys.current().name, old_name);
  EXPECT_NE(keys.current().cipher_key, old_cipher);
  bool previous = false;
  const auto* key = keys.find(old_name.data(), previous);
  ASSERT_NE(key, nullptr);
  EXPECT_TRUE(previous);
  EXPECT_EQ(key->cipher_key, old_cipher);
}

TEST(TicketKeys, ForgetAKeyAfterTwoRotations) {
  TicketKeys keys;
  auto old_name = keys.current().name;
  ASSERT_TRUE(keys.rotate().ok());
  ASSERT_TRUE(keys.rotate().ok());
  bool previous = false;
  EXPECT_EQ(keys.find(old_name.data(), previous), nullptr);
}

TEST(TicketKeys, AreDifferentForEveryGatewayStart) {
  TicketKeys a, b;
  EXPECT_NE(a.current().name, b.current().name);
  EXPECT_NE(a.current().mac_key, b.current().mac_key);
}
