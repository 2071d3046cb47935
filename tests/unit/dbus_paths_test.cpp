// SPDX-License-Identifier: Apache-2.0
#include "dbus/paths.hpp"

#include <gtest/gtest.h>

#include "daemon/refusal.hpp"

using namespace ttygate;
using namespace ttygate::dbus;

TEST(AClientPath, CarriesThePinAsLowercaseHexAndParsesBack) {
  ktls::Pin pin{};
  for (std::size_t i = 0; i < pin.size(); ++i) pin[i] = static_cast<std::uint8_t>(i * 7);
  std::string path = client_path(pin);
  EXPECT_EQ(path.rfind("/org/ttygate/Gateway1/client/", 0), 0u);
  EXPECT_EQ(path.size(), std::string("/org/ttygate/Gateway1/client/").size() + 64);
  EXPECT_EQ(pin_from_client_path(path), pin);
}

TEST(AClientPath, RefusesAnythingElse) {
  for (const char* bad : {"/org/ttygate/Gateway1", "/org/ttygate/Gateway1/client", "/org/ttygate/Gateway1/client/",
                          "/org/ttygate/Gateway1/client/abc", "/org/ttygate/Gateway1/session/1",
                          "/org/ttygate/Gateway1/clientx/0000000000000000000000000000000000000000000000000000000000000000"})
    EXPECT_FALSE(pin_from_client_path(bad)) << bad;
}

// One object, one path: the upper-case spelling of a client's path names nothing (found by
// fuzz_dbus_arguments).
TEST(AClientPath, InUpperCaseHexIsRefused) {
  ktls::Pin pin{};
  pin[0] = 0xab;
  std::string path = client_path(pin);
  ASSERT_TRUE(pin_from_client_path(path));
  path[path.size() - 64] = 'A';
  EXPECT_FALSE(pin_from_client_path(path)) << path;
}

TEST(ASessionPath, IsTheDecimalIdWithoutLeadingZeros) {
  EXPECT_EQ(session_path(42), "/org/ttygate/Gateway1/session/42");
  EXPECT_EQ(session_id_from_path("/org/ttygate/Gateway1/session/42"), 42u);
  for (const char* bad : {"/org/ttygate/Gateway1/session/", "/org/ttygate/Gateway1/session/042",
                          "/org/ttygate/Gateway1/session/0", "/org/ttygate/Gateway1/session/4x",
                          "/org/ttygate/Gateway1/session/99999999999999999999999"})
    EXPECT_FALSE(session_id_from_path(bad)) << bad;
}

TEST(AnErrorName, IsOneOrgTtygateErrorPerRefusalAndStoreCode) {
  using daemon::Refusal;
  struct Case {
    std::error_code code;
    const char* name;
  } cases[] = {
      {Refusal::invalid_args, "org.ttygate.Error.InvalidArgs"},
      {Refusal::not_found, "org.ttygate.Error.NotFound"},
      {Refusal::already_exists, "org.ttygate.Error.AlreadyExists"},
      {Refusal::busy, "org.ttygate.Error.Busy"},
      {Refusal::not_active, "org.ttygate.Error.NotActive"},
      {Refusal::not_supported, "org.ttygate.Error.NotSupported"},
      {Refusal::wrong_code, "org.ttygate.Error.WrongCode"},
      {Refusal::failed, "org.ttygate.Error.Failed"},
      {std::make_error_code(std::errc::invalid_argument), "org.ttygate.Error.InvalidArgs"},
      {std::make_error_code(std::errc::file_exists), "org.ttygate.Error.AlreadyExists"},
      {std::make_error_code(std::errc::no_such_file_or_directory), "org.ttygate.Error.NotFound"},
      {std::make_error_code(std::errc::io_error), "org.ttygate.Error.Failed"},
  };
  for (const auto& c : cases) EXPECT_STREQ(error_name(c.code), c.name) << c.code.message();
}
