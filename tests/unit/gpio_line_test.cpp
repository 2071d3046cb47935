// SPDX-License-Identifier: Apache-2.0
#include "daemon/gpio_line.hpp"

#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <vector>

using namespace std::chrono_literals;
using namespace ttygate::daemon;

namespace {

std::vector<std::byte> events_bytes(std::initializer_list<__u32> ids) {
  std::vector<std::byte> bytes(ids.size() * sizeof(gpio_v2_line_event));
  std::size_t at = 0;
  for (auto id : ids) {
    gpio_v2_line_event event{};
    event.id = id;
    event.offset = 17;
    std::memcpy(bytes.data() + at, &event, sizeof event);
    at += sizeof event;
  }
  return bytes;
}

}  // namespace

TEST(AGpioChipName, IsADeviceUnderDevUnlessItIsAPath) {
  EXPECT_EQ(gpio::chip_path("gpiochip0"), "/dev/gpiochip0");
  EXPECT_EQ(gpio::chip_path("/dev/gpiochip3"), "/dev/gpiochip3");
  EXPECT_EQ(gpio::chip_path("by-name/button"), "by-name/button");
}

TEST(AnEdgeRequest, AsksForRisingEdgesOfTheActiveLevelOnOneInputLine) {
  auto request = gpio::edge_request(17, true, 50ms);
  EXPECT_EQ(request.num_lines, 1u);
  EXPECT_EQ(request.offsets[0], 17u);
  EXPECT_STREQ(request.consumer, "ttygated-pairing");
  EXPECT_EQ(request.config.flags,
            GPIO_V2_LINE_FLAG_INPUT | GPIO_V2_LINE_FLAG_EDGE_RISING | GPIO_V2_LINE_FLAG_ACTIVE_LOW);
  ASSERT_EQ(request.config.num_attrs, 1u);
  EXPECT_EQ(request.config.attrs[0].attr.id, static_cast<__u32>(GPIO_V2_LINE_ATTR_ID_DEBOUNCE));
  EXPECT_EQ(request.config.attrs[0].attr.debounce_period_us, 50000u);
  EXPECT_EQ(request.config.attrs[0].mask, 1u);
}

TEST(AnEdgeRequest, ForAnActiveHighLineWithoutDebounceHasNoAttributes) {
  auto request = gpio::edge_request(3, false, 0ms);
  EXPECT_EQ(request.config.flags, GPIO_V2_LINE_FLAG_INPUT | GPIO_V2_LINE_FLAG_EDGE_RISING);
  EXPECT_EQ(request.config.num_attrs, 0u);
}

TEST(LineEvents, CountOnlyRisingEdgesAsPresses) {
  auto bytes = events_bytes({GPIO_V2_LINE_EVENT_RISING_EDGE, GPIO_V2_LINE_EVENT_FALLING_EDGE,
                             GPIO_V2_LINE_EVENT_RISING_EDGE, GPIO_V2_LINE_EVENT_FALLING_EDGE});
  EXPECT_EQ(gpio::count_rising_edges(bytes), 2u);
  EXPECT_EQ(gpio::count_rising_edges({}), 0u);
}

TEST(LineEvents, IgnoreTrailingBytesThatAreNotAWholeEvent) {
  auto bytes = events_bytes({GPIO_V2_LINE_EVENT_RISING_EDGE, GPIO_V2_LINE_EVENT_RISING_EDGE});
  EXPECT_EQ(gpio::count_rising_edges(std::span(bytes).first(bytes.size() - 1)), 1u);
}

TEST(AnEdgeRequestOnADeviceThatIsNoGpioChip, FailsNamingTheDeviceAndTheLine) {
  auto line = gpio::request_edges("/dev/null", gpio::edge_request(5, true, 50ms));
  ASSERT_FALSE(line);
  EXPECT_NE(line.error().message().find("/dev/null line 5"), std::string::npos) << line.error().message();
}
