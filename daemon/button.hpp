// SPDX-License-Identifier: Apache-2.0
// Button: the pairing push-button, watched on the loop.
//
// A ButtonSource is where presses come from: a GPIO line through the kernel's GPIO uAPI v2
// (daemon/gpio_line.hpp: rising edges of the line's active level, with active_low pressing pulls
// the line low, debounced by the kernel as well) or, for tests, a FIFO
// in which every byte written is one press (TTYGATE_FAKE_BUTTON, a test hook documented in
// docs/pairing.md). Both behind one interface, so the same ButtonWatch debounces either.
//
// ButtonWatch polls the source's fd, reads what is there, and reports each press that comes at
// least `debounce` after the previous accepted one (contact bounce makes several edges per
// press). Single-threaded; the watch is neither copied nor moved.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "common/result.hpp"
#include "common/unique_fd.hpp"
#include "daemon/config.hpp"
#include "daemon/loop.hpp"

namespace ttygate::daemon {

class ButtonSource {
 public:
  using Clock = std::chrono::steady_clock;
  virtual ~ButtonSource() = default;
  // Polled for POLLIN.
  virtual int fd() const = 0;
  // Consumes what is pending: the number of presses (edges to the active level). 0 when none;
  // an error when the source is gone.
  virtual Result<unsigned> read_presses() = 0;
  // For messages: "gpiochip0 line 17", "fake button /run/...".
  virtual std::string describe() const = 0;
};

// GPIO uAPI v2: requests the line for rising-edge events of its active level, with the
// debounce period as the kernel's debounce attribute.
Result<std::unique_ptr<ButtonSource>> open_gpio_button(const ButtonConfig& config);
// The same source on a line fd already requested (or, in tests, a pipe carrying
// gpio_v2_line_event records); `what` names it in messages.
std::unique_ptr<ButtonSource> gpio_button_on(UniqueFd line, std::string what);
// Opens (creating if missing) the FIFO at path; every byte written to it is one press.
Result<std::unique_ptr<ButtonSource>> open_fifo_button(const std::string& path);

// Pure debounce: accepts a press unless it comes within `window` of the last accepted one.
class Debouncer {
 public:
  explicit Debouncer(std::chrono::milliseconds window) : window_(window) {}
  bool accept(ButtonSource::Clock::time_point at);

 private:
  std::chrono::milliseconds window_;
  std::optional<ButtonSource::Clock::time_point> last_;
};

class ButtonWatch {
 public:
  ButtonWatch(Loop& loop, std::unique_ptr<ButtonSource> source, std::chrono::milliseconds debounce,
              std::function<void()> on_press);
  ButtonWatch(const ButtonWatch&) = delete;
  ButtonWatch& operator=(const ButtonWatch&) = delete;

  const ButtonSource& source() const { return *source_; }

 private:
  void arm();
  void on_ready(int res);

  Loop& loop_;
  std::unique_ptr<ButtonSource> source_;
  Debouncer debouncer_;
  std::function<void()> on_press_;
  Op wait_;
};

}  // namespace ttygate::daemon
