// SPDX-License-Identifier: Apache-2.0
#include "dbus/bus.hpp"

#include <poll.h>
#include <time.h>

#include <cstdint>
#include <cstdlib>

#include "common/log.hpp"

namespace ttygate::dbus {
namespace {

// Messages handled per wake-up before the loop gets a turn (a flood of calls must not starve
// the sessions).
constexpr int kMessagesPerWake = 64;

std::uint64_t monotonic_usec() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000 + static_cast<std::uint64_t>(ts.tv_nsec) / 1000;
}

}  // namespace

Result<SdBusPtr> connect_system_bus() {
  sd_bus* raw = nullptr;
  int r = sd_bus_open_system(&raw);
  const char* address = std::getenv("DBUS_SYSTEM_BUS_ADDRESS");
  std::string where = address ? address : "the system bus";
  if (r < 0) return errno_error("connecting to " + where, -r);
  return SdBusPtr(raw);
}

Bus::Bus(daemon::Loop& loop, SdBusPtr bus) : loop_(loop), bus_(std::move(bus)) {}

Bus::~Bus() = default;

Result<void> Bus::request_name(const char* name) {
  int r = sd_bus_request_name(bus_.get(), name, 0);
  if (r < 0) return errno_error(std::string("requesting the name ") + name, -r);
  return success();
}

void Bus::start() { process(); }

void Bus::kick() {
  if (kick_.armed() || lost_) return;
  kick_.set(loop_, loop_.defer([this] { process(); }));
}

void Bus::process() {
  if (lost_) return;
  for (int i = 0; i < kMessagesPerWake; ++i) {
    int r = sd_bus_process(bus_.get(), nullptr);
    if (r < 0) {
      lost_ = true;
      io_.reset();
      timer_.reset();
      log::error("Lost the D-Bus connection: " + std::error_code(-r, std::system_category()).message() +
                 "; relaying continues without D-Bus");
      if (on_lost_) on_lost_();
      return;
    }
    if (r == 0) return arm();
  }
  kick();  // more to do: after the others had their turn
}

void Bus::arm() {
  int events = sd_bus_get_events(bus_.get());
  int fd = sd_bus_get_fd(bus_.get());
  if (events < 0 || fd < 0) return;
  io_.set(loop_, loop_.poll(fd, static_cast<unsigned>(events), [this](int) { process(); }));
  std::uint64_t until = UINT64_MAX;
  if (sd_bus_get_timeout(bus_.get(), &until) < 0 || until == UINT64_MAX) return timer_.reset();
  std::uint64_t now = monotonic_usec();
  auto after = std::chrono::microseconds(until > now ? until - now : 0);
  timer_.set(loop_, loop_.timeout(after, [this](int) { process(); }));
}

}  // namespace ttygate::dbus
