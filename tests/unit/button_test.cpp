// SPDX-License-Identifier: Apache-2.0
#include "daemon/button.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/gpio.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <filesystem>

using namespace std::chrono_literals;
using namespace ttygate::daemon;

TEST(ADebouncer, AcceptsTheFirstPressAndIgnoresBounceWithinTheWindow) {
  Debouncer debounce(50ms);
  ButtonSource::Clock::time_point t{};
  struct Step {
    std::chrono::milliseconds at;
    bool accepted;
  } steps[] = {{0ms, true}, {10ms, false}, {49ms, false}, {50ms, true}, {99ms, false}, {300ms, true}};
  for (const auto& s : steps) EXPECT_EQ(debounce.accept(t + s.at), s.accepted) << s.at.count();
}

TEST(ADebouncer, WithAZeroWindowAcceptsEveryPress) {
  Debouncer debounce(0ms);
  ButtonSource::Clock::time_point t{};
  EXPECT_TRUE(debounce.accept(t));
  EXPECT_TRUE(debounce.accept(t));
}

TEST(AFifoButton, CountsEachByteAsAPressAndNeverSeesEndOfFile) {
  auto path = std::filesystem::temp_directory_path() / ("ttygate-button-" + std::to_string(getpid()));
  std::filesystem::remove(path);
  auto source = open_fifo_button(path.string());
  ASSERT_TRUE(source) << source.error().message();
  EXPECT_EQ(*(*source)->read_presses(), 0u);
  {
    int writer = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    ASSERT_GE(writer, 0);
    ASSERT_EQ(::write(writer, "ab", 2), 2);
    ::close(writer);
  }
  EXPECT_EQ(*(*source)->read_presses(), 2u);
  EXPECT_EQ(*(*source)->read_presses(), 0u);  // the writer left: no EOF, just nothing
  std::filesystem::remove(path);
}

TEST(AGpioButton, NamesTheChipWhenItCannotBeOpened) {
  ButtonConfig config;
  config.chip = "gpiochip-that-does-not-exist";
  config.line = 3;
  auto source = open_gpio_button(config);
  ASSERT_FALSE(source);
  EXPECT_NE(source.error().message().find("gpiochip-that-does-not-exist"), std::string::npos);
}

TEST(AButtonWatch, ReportsAPressFromItsSourceOnTheLoop) {
  auto path = std::filesystem::temp_directory_path() / ("ttygate-watch-" + std::to_string(getpid()));
  std::filesystem::remove(path);
  Loop loop;
  auto source = open_fifo_button(path.string());
  ASSERT_TRUE(source);
  int presses = 0;
  ButtonWatch watch(loop, std::move(*source), 50ms, [&] { ++presses; });
  int writer = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  ASSERT_EQ(::write(writer, "xxx", 3), 3);  // one press with bounce
  for (int i = 0; i < 20 && presses == 0; ++i) loop.run_once(100ms);
  EXPECT_EQ(presses, 1);
  ::close(writer);
  std::filesystem::remove(path);
}

namespace {

void write_event(int fd, __u32 id) {
  gpio_v2_line_event event{};
  event.id = id;
  ASSERT_EQ(::write(fd, &event, sizeof event), static_cast<ssize_t>(sizeof event));
}

}  // namespace

TEST(AGpioButton, CountsTheRisingEdgesTheLineFdDelivers) {
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC | O_NONBLOCK), 0);
  ttygate::UniqueFd writer(fds[1]);
  auto source = gpio_button_on(ttygate::UniqueFd(fds[0]), "test line");
  EXPECT_EQ(*source->read_presses(), 0u);  // nothing pending: EAGAIN is no press, no error
  write_event(writer.get(), GPIO_V2_LINE_EVENT_RISING_EDGE);
  write_event(writer.get(), GPIO_V2_LINE_EVENT_FALLING_EDGE);
  write_event(writer.get(), GPIO_V2_LINE_EVENT_RISING_EDGE);
  EXPECT_EQ(*source->read_presses(), 2u);
  EXPECT_EQ(source->describe(), "test line");
}

TEST(AButtonWatch, ReportsOnePressForABouncingGpioLineWithinTheDebounceWindow) {
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC | O_NONBLOCK), 0);
  ttygate::UniqueFd writer(fds[1]);
  Loop loop;
  int presses = 0;
  ButtonWatch watch(loop, gpio_button_on(ttygate::UniqueFd(fds[0]), "test line"), 10s, [&] { ++presses; });
  write_event(writer.get(), GPIO_V2_LINE_EVENT_RISING_EDGE);
  for (int i = 0; i < 20 && presses == 0; ++i) loop.run_once(100ms);
  ASSERT_EQ(presses, 1);
  // Bounce after the first press, in later reads: within the 10 s window, so no second press.
  write_event(writer.get(), GPIO_V2_LINE_EVENT_FALLING_EDGE);
  write_event(writer.get(), GPIO_V2_LINE_EVENT_RISING_EDGE);
  auto pending = [&] {
    int bytes = 0;
    ::ioctl(writer.get(), FIONREAD, &bytes);  // either end of a pipe reports what it holds
    return bytes;
  };
  for (int i = 0; i < 20 && pending() > 0; ++i) loop.run_once(100ms);
  ASSERT_EQ(pending(), 0) << "the watch did not read the bounce";
  EXPECT_EQ(presses, 1);
}
