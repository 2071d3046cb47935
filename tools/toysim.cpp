// SPDX-License-Identifier: Apache-2.0
// toysim: a simulated toy sensor/actor device on a pseudo-terminal.
//
// The demo and the integration tests need a serial device without hardware. toysim opens a pty,
// publishes the slave's name as a symlink (the device path ttygated is configured with) and plays
// the device on the master side:
//   toy mode (default): a sensor line "S <seq> temp=<t> light=<l>" every interval, and a small
//     line protocol for three actuators (see kHelp);
//   --echo: every byte written to the device comes back unchanged (binary-safe), nothing else.
// It keeps its own slave fd open: while any slave fd is open the master never reads EIO, so the
// gateway may close and reopen the device as often as it likes.
//
// Single-threaded: one poll() loop over the master, a timerfd (toy mode) and a signalfd. Output
// the other side doesn't read is queued up to a limit; past it echo mode stops reading (lossless
// back-pressure) and toy mode drops sensor lines, as a UART with nobody listening would.
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "common/symlink.hpp"
#include "common/unique_fd.hpp"

namespace ttygate::toysim {
namespace {

constexpr std::string_view kUsage =
    "usage: toysim --link PATH [--interval-ms N] [--echo] [--seed N]\n"
    "       toysim --help\n";
constexpr std::string_view kHelp =
    "HELP A <led|motor|buzzer> <on|off|0..255> sets; Q <actuator> queries; ? this help\n";
constexpr size_t kMaxLine = 128;          // longer command lines are rejected whole
constexpr size_t kToyBacklog = 4096;      // unread sensor output kept, then dropped
constexpr size_t kEchoBacklog = 1 << 16;  // unread echo output before we stop reading

struct Options {
  std::string link;
  uint32_t interval_ms = 500;
  bool echo = false;
  uint64_t seed = 1;
  bool help = false;
};

// ---- command line ------------------------------------------------------------------------

uint64_t parse_number(std::string_view flag, std::string_view text, uint64_t min, uint64_t max) {
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < min || value > max)
    throw std::invalid_argument(std::string(flag) + " wants a number in " + std::to_string(min) +
                                ".." + std::to_string(max) + ", not '" + std::string(text) + "'");
  return value;
}

Options parse_options(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    auto next = [&]() -> std::string_view {
      if (i + 1 >= argc) throw std::invalid_argument(std::string(arg) + " needs a value");
      return argv[++i];
    };
    if (arg == "--link") options.link = next();
    else if (arg == "--interval-ms") options.interval_ms = parse_number(arg, next(), 1, 3600000);
    else if (arg == "--seed") options.seed = parse_number(arg, next(), 0, UINT64_MAX);
    else if (arg == "--echo") options.echo = true;
    else if (arg == "--help" || arg == "-h") options.help = true;
    else throw std::invalid_argument("unknown argument '" + std::string(arg) + "'");
  }
  if (options.link.empty() && !options.help) throw std::invalid_argument("--link PATH is required");
  return options;
}

// ---- the toy device ----------------------------------------------------------------------

// splitmix64: tiny, seedable, and the same sequence on every machine.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // A step in [-span, span].
  int step(int span) { return static_cast<int>(next() % (2 * span + 1)) - span; }

 private:
  uint64_t state_;
};

struct Actuator {
  std::string_view name;
  int value = 0;
};

std::vector<std::string_view> split_words(std::string_view line) {
  std::vector<std::string_view> words;
  size_t pos = 0;
  while (pos < line.size()) {
    size_t start = line.find_first_not_of(' ', pos);
    if (start == std::string_view::npos) break;
    size_t end = std::min(line.find(' ', start), line.size());
    words.push_back(line.substr(start, end - start));
    pos = end;
  }
  return words;
}

// "on" → 255, "off" → 0, "0".."255" → itself; anything else → -1.
int parse_level(std::string_view text) {
  if (text == "on") return 255;
  if (text == "off") return 0;
  int value = -1;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < 0 || value > 255) return -1;
  return value;
}

// The device's behaviour, free of fds so that it reads as the protocol it implements.
class Toy {
 public:
  explicit Toy(uint64_t seed) : rng_(seed) {}

  // Consumes bytes from the gateway; returns the replies to every completed line.
  std::string feed(std::string_view bytes) {
    std::string replies;
    for (char c : bytes) {
      if (c != '\n') {
        if (line_.size() < kMaxLine) line_ += c;
        else too_long_ = true;
        continue;
      }
      replies += too_long_ ? std::string("ERR line too long\n") : answer(line_);
      line_.clear();
      too_long_ = false;
    }
    return replies;
  }

  // A random walk, so a plot of the demo looks like a room rather than noise.
  std::string sensor_line() {
    temp_tenths_ = std::clamp(temp_tenths_ + rng_.step(3), 150, 350);
    light_ = std::clamp(light_ + rng_.step(40), 0, 1023);
    return "S " + std::to_string(seq_++) + " temp=" + std::to_string(temp_tenths_ / 10) + "." +
           std::to_string(temp_tenths_ % 10) + " light=" + std::to_string(light_) + "\n";
  }

 private:
  Actuator* find(std::string_view name) {
    for (auto& a : actuators_)
      if (a.name == name) return &a;
    return nullptr;
  }

  std::string answer(std::string_view line) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    auto words = split_words(line);
    if (words.empty()) return {};  // a bare Enter from a terminal is not worth an error
    if (words[0] == "?" && words.size() == 1) return std::string(kHelp);
    if (words[0] == "A") return set(words);
    if (words[0] == "Q") return query(words);
    return "ERR unknown command, send ? for help\n";
  }

  std::string set(const std::vector<std::string_view>& words) {
    if (words.size() != 3) return "ERR usage: A <actuator> <on|off|0..255>\n";
    Actuator* a = find(words[1]);
    if (!a) return "ERR unknown actuator\n";
    int level = parse_level(words[2]);
    if (level < 0) return "ERR value must be on, off or 0..255\n";
    a->value = level;
    return "OK " + std::string(a->name) + " " + std::to_string(level) + "\n";
  }

  std::string query(const std::vector<std::string_view>& words) {
    if (words.size() != 2) return "ERR usage: Q <actuator>\n";
    Actuator* a = find(words[1]);
    if (!a) return "ERR unknown actuator\n";
    return "V " + std::string(a->name) + " " + std::to_string(a->value) + "\n";
  }

  Rng rng_;
  uint64_t seq_ = 0;
  int temp_tenths_ = 215;
  int light_ = 500;
  std::array<Actuator, 3> actuators_{{{"led"}, {"motor"}, {"buzzer"}}};
  std::string line_;
  bool too_long_ = false;
};

// ---- the pty and its link ----------------------------------------------------------------

struct Pty {
  UniqueFd master;
  UniqueFd slave;  // held so the master never sees EIO between the gateway's opens
  std::string name;
};

Result<void> add_fd_flags(int fd, int fd_flags, int status_flags) {
  int f = fcntl(fd, F_GETFD);
  if (f < 0 || fcntl(fd, F_SETFD, f | fd_flags) < 0) return errno_error("fcntl F_SETFD");
  int s = fcntl(fd, F_GETFL);
  if (s < 0 || fcntl(fd, F_SETFL, s | status_flags) < 0) return errno_error("fcntl F_SETFL");
  return success();
}

Result<Pty> open_pty() {
  int master = -1, slave = -1;
  if (openpty(&master, &slave, nullptr, nullptr, nullptr) < 0) return errno_error("openpty");
  Pty pty{UniqueFd(master), UniqueFd(slave), {}};
  char name[PATH_MAX];
  if (int err = ttyname_r(slave, name, sizeof name); err != 0) return errno_error("ttyname", err);
  pty.name = name;
  termios tio{};
  if (tcgetattr(slave, &tio) < 0) return errno_error("tcgetattr");
  cfmakeraw(&tio);
  if (tcsetattr(slave, TCSANOW, &tio) < 0) return errno_error("tcsetattr");
  if (auto r = add_fd_flags(master, FD_CLOEXEC, O_NONBLOCK); !r) return r.error();
  if (auto r = add_fd_flags(slave, FD_CLOEXEC, 0); !r) return r.error();
  return pty;
}

Result<UniqueFd> open_signalfd() {
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  if (sigprocmask(SIG_BLOCK, &mask, nullptr) < 0) return errno_error("sigprocmask");
  int fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  if (fd < 0) return errno_error("signalfd");
  return UniqueFd(fd);
}

Result<UniqueFd> open_timer(uint32_t interval_ms) {
  UniqueFd fd(timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK));
  if (!fd) return errno_error("timerfd_create");
  timespec period{static_cast<time_t>(interval_ms / 1000),
                  static_cast<long>(interval_ms % 1000) * 1000000L};
  itimerspec spec{period, period};
  if (timerfd_settime(fd.get(), 0, &spec, nullptr) < 0) return errno_error("timerfd_settime");
  return fd;
}

// ---- the loop ----------------------------------------------------------------------------

class Simulator {
 public:
  Simulator(const Options& options, Pty pty, UniqueFd signals, UniqueFd timer)
      : options_(options), pty_(std::move(pty)), signals_(std::move(signals)),
        timer_(std::move(timer)), toy_(options.seed) {}

  // Runs until SIGTERM/SIGINT (success) or an I/O error on the master.
  Result<void> run() {
    for (;;) {
      std::array<pollfd, 3> fds{{{pty_.master.get(), master_events(), 0},
                                 {signals_.get(), POLLIN, 0},
                                 {timer_.get(), POLLIN, 0}}};  // -1 in echo mode: ignored
      if (poll(fds.data(), fds.size(), -1) < 0) {
        if (errno == EINTR) continue;
        return errno_error("poll");
      }
      if (fds[1].revents) return success();
      // Only reachable if every slave fd closed, which holding our own prevents.
      if (fds[0].revents & (POLLERR | POLLHUP | POLLNVAL)) return errno_error("poll pty", EIO);
      if (fds[2].revents) on_tick();
      if (fds[0].revents & POLLOUT)
        if (auto r = flush(); !r) return r;
      if (fds[0].revents & POLLIN)
        if (auto r = on_readable(); !r) return r;
    }
  }

 private:
  short master_events() const {
    short events = out_.empty() ? 0 : POLLOUT;
    if (!options_.echo || out_.size() < kEchoBacklog) events |= POLLIN;
    return events;
  }

  void on_tick() {
    uint64_t expirations = 0;
    if (read(timer_.get(), &expirations, sizeof expirations) < 0) return;
    std::string line = toy_.sensor_line();
    if (out_.size() + line.size() <= kToyBacklog) queue(line);
  }

  Result<void> on_readable() {
    char buf[4096];
    ssize_t n = read(pty_.master.get(), buf, sizeof buf);
    if (n < 0) return errno == EAGAIN || errno == EINTR ? success() : errno_error("read pty");
    std::string_view bytes(buf, static_cast<size_t>(n));
    if (options_.echo) queue(bytes);
    else queue(toy_.feed(bytes));
    return success();
  }

  void queue(std::string_view bytes) {
    out_.append(bytes);
    (void)flush();  // errors resurface on the next POLLOUT
  }

  Result<void> flush() {
    while (!out_.empty()) {
      ssize_t n = write(pty_.master.get(), out_.data(), out_.size());
      if (n < 0) return errno == EAGAIN || errno == EINTR ? success() : errno_error("write pty");
      out_.erase(0, static_cast<size_t>(n));
    }
    return success();
  }

  const Options& options_;
  Pty pty_;
  UniqueFd signals_;
  UniqueFd timer_;
  Toy toy_;
  std::string out_;
};

int fail(const std::string& what, const Error& error) {
  std::fprintf(stderr, "toysim: Failed to %s: %s\n", what.c_str(), error.message().c_str());
  return 1;
}

int run(const Options& options) {
  auto signals = open_signalfd();
  if (!signals) return fail("watch signals", signals.error());
  auto pty = open_pty();
  if (!pty) return fail("open a pty", pty.error());
  UniqueFd timer;
  if (!options.echo) {
    auto t = open_timer(options.interval_ms);
    if (!t) return fail("start the sensor timer", t.error());
    timer = std::move(*t);
  }
  // Taken down when run() returns, unless a newer toysim has taken the path over meanwhile.
  auto link = OwnedSymlink::publish(options.link, pty->name);
  if (!link) return fail("publish the link", link.error());
  std::printf("toysim: device at %s (%s)\n", options.link.c_str(), pty->name.c_str());
  std::fflush(stdout);
  Simulator sim(options, std::move(*pty), std::move(*signals), std::move(timer));
  auto result = sim.run();
  return result ? 0 : fail("serve the device", result.error());
}

}  // namespace
}  // namespace ttygate::toysim

int main(int argc, char** argv) {
  using namespace ttygate::toysim;
  try {
    Options options = parse_options(argc, argv);
    if (options.help) {
      std::fwrite(kUsage.data(), 1, kUsage.size(), stdout);
      return 0;
    }
    return run(options);
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "toysim: %s\n%.*s", e.what(), static_cast<int>(kUsage.size()),
                 kUsage.data());
    return 2;
  }
}
