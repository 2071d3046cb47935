#include "daemon/button.hpp"

#include <fcntl.h>
#include <gpiod.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>

#include "common/log.hpp"

namespace ttygate::daemon {
namespace {

constexpr const char* kConsumer = "ttygated-pairing";

struct ChipCloser {
  void operator()(gpiod_chip* chip) const { gpiod_chip_close(chip); }
};

class GpioButton final : public ButtonSource {
 public:
  GpioButton(std::unique_ptr<gpiod_chip, ChipCloser> chip, gpiod_line* line, std::string what)
      : chip_(std::move(chip)), line_(line), what_(std::move(what)) {}
  ~GpioButton() override { gpiod_line_release(line_); }

  int fd() const override { return gpiod_line_event_get_fd(line_); }
  Result<unsigned> read_presses() override {
    std::array<gpiod_line_event, 16> events{};
    int n = gpiod_line_event_read_fd_multiple(fd(), events.data(), static_cast<unsigned>(events.size()));
    if (n < 0) return errno == EAGAIN ? Result<unsigned>(0u) : Result<unsigned>(errno_error("reading " + what_));
    unsigned presses = 0;
    for (int i = 0; i < n; ++i) presses += events[static_cast<std::size_t>(i)].event_type == GPIOD_LINE_EVENT_RISING_EDGE;
    return presses;
  }
  std::string describe() const override { return what_; }

 private:
  std::unique_ptr<gpiod_chip, ChipCloser> chip_;
  gpiod_line* line_;
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
  std::string what = config.chip + " line " + std::to_string(config.line);
  std::unique_ptr<gpiod_chip, ChipCloser> chip(gpiod_chip_open_lookup(config.chip.c_str()));
  if (!chip) return errno_error("opening GPIO chip " + config.chip);
  gpiod_line* line = gpiod_chip_get_line(chip.get(), config.line);
  if (!line) return errno_error("getting " + what);
  int flags = config.active_low ? GPIOD_LINE_REQUEST_FLAG_ACTIVE_LOW : 0;
  if (gpiod_line_request_rising_edge_events_flags(line, kConsumer, flags) < 0)
    return errno_error("requesting edge events on " + what);
  int fd = gpiod_line_event_get_fd(line);
  if (fd < 0 || fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0) {
    gpiod_line_release(line);
    return errno_error("preparing " + what);
  }
  return std::unique_ptr<ButtonSource>(std::make_unique<GpioButton>(std::move(chip), line, what));
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
