#include "daemon/button.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
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
