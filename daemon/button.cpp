// SPDX-License-Identifier: Apache-2.0
#include "daemon/button.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <span>

#include "common/log.hpp"
#include "daemon/gpio_line.hpp"

namespace ttygate::daemon {
namespace {

// A line requested through the GPIO uAPI v2 (daemon/gpio_line.hpp); each rising edge of the
// active level, already debounced by the kernel, is one press.
class GpioButton final : public ButtonSource {
 public:
  GpioButton(UniqueFd line, std::string what) : line_(std::move(line)), what_(std::move(what)) {}

  int fd() const override { return line_.get(); }
  Result<unsigned> read_presses() override {
    std::array<gpio_v2_line_event, 16> events{};
    ssize_t n = ::read(line_.get(), events.data(), sizeof events);
    if (n < 0) return errno == EAGAIN ? Result<unsigned>(0u) : Result<unsigned>(errno_error("reading " + what_));
    return gpio::count_rising_edges(std::as_bytes(std::span(events)).first(static_cast<std::size_t>(n)));
  }
  std::string describe() const override { return what_; }

 private:
  UniqueFd line_;
  std::string what_;
};

class FifoButton final : public ButtonSource {
 public:
  FifoButton(UniqueFd fd, std::string path) : fd_(std::move(fd)), path_(std::move(path)) {}
  int fd() const override { return fd_.get(); }
  Result<unsigned> read_presses() override {
    std::array<char, 64> bytes{};
    ssize_t n = ::read(fd_.get(), bytes.data(), bytes.size());
    if (n < 0) return errno == EAGAIN ? Result<unsigned>(0u) : Result<unsigned>(errno_error("reading " + path_));
    return static_cast<unsigned>(n);
  }
  std::string describe() const override { return "fake button " + path_; }

 private:
  UniqueFd fd_;
  std::string path_;
};

}  // namespace

Result<std::unique_ptr<ButtonSource>> open_gpio_button(const ButtonConfig& config) {
  auto line = gpio::request_edges(config.chip, gpio::edge_request(config.line, config.active_low, config.debounce));
  if (!line) return line.error();
  return gpio_button_on(std::move(*line), gpio::chip_path(config.chip) + " line " + std::to_string(config.line));
}

std::unique_ptr<ButtonSource> gpio_button_on(UniqueFd line, std::string what) {
  return std::make_unique<GpioButton>(std::move(line), std::move(what));
}

Result<std::unique_ptr<ButtonSource>> open_fifo_button(const std::string& path) {
  if (mkfifo(path.c_str(), 0600) < 0 && errno != EEXIST) return errno_error("creating " + path);
  // Read-write: the FIFO then never reports end-of-file when a writer goes away.
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC));
  if (!fd) return errno_error("opening " + path);
  return std::unique_ptr<ButtonSource>(std::make_unique<FifoButton>(std::move(fd), path));
}

bool Debouncer::accept(ButtonSource::Clock::time_point at) {
  if (last_ && at - *last_ < window_) return false;
  last_ = at;
  return true;
}

ButtonWatch::ButtonWatch(Loop& loop, std::unique_ptr<ButtonSource> source, std::chrono::milliseconds debounce,
                         std::function<void()> on_press)
    : loop_(loop), source_(std::move(source)), debouncer_(debounce), on_press_(std::move(on_press)) {
  arm();
}

void ButtonWatch::arm() {
  wait_.set(loop_, loop_.poll(source_->fd(), POLLIN, [this](int res) { on_ready(res); }));
}

// Presses read in one batch arrived within microseconds of each other: bounce, at most one.
void ButtonWatch::on_ready(int res) {
  if (res < 0) {
    log::error("Pairing button " + source_->describe() + ": poll failed; the button is ignored from now on");
    return;
  }
  auto presses = source_->read_presses();
  if (!presses) {
    log::error("Pairing button: " + presses.error().message() + "; the button is ignored from now on");
    return;
  }
  arm();
  if (*presses > 0 && debouncer_.accept(ButtonSource::Clock::now())) on_press_();
}

}  // namespace ttygate::daemon
