// SPDX-License-Identifier: Apache-2.0
#include "daemon/relay.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/log.hpp"
#include "daemon/serial_port.hpp"

namespace ttygate::daemon {
namespace {
constexpr std::chrono::milliseconds kMaxBackoff{5000};
}

Relay::Relay(Loop& loop, const PortConfig& port) : loop_(loop), port_(port) {}

Relay::~Relay() = default;

void Relay::start() { open_device(); }

bool Relay::controller_busy() const {
  if (port_.control != ControlMode::exclusive) return false;
  return std::any_of(sessions_.begin(), sessions_.end(), [](RelaySubscriber* s) { return s->role() == Role::control; });
}

void Relay::attach(RelaySubscriber& session) { sessions_.push_back(&session); }

void Relay::detach(RelaySubscriber& session) {
  std::erase(sessions_, &session);
  std::erase(blocked_, &session);
}

void Relay::open_device() {
  auto fd = open_serial_port(port_);
  if (!fd) {
    log::warning("Port " + port_.name + ": " + fd.error().message() + "; retrying in " +
                 std::to_string(backoff_.count()) + " ms");
    reopen_op_.set(loop_, loop_.timeout(backoff_, [this](int) { open_device(); }));
    backoff_ = std::min(backoff_ * 2, kMaxBackoff);
    return;
  }
  backoff_ = std::chrono::milliseconds(100);
  log::info("Port " + port_.name + ": device " + port_.device.string() + " open");
  adopt_device(std::move(*fd));
}

void Relay::adopt_device(UniqueFd tty) {
  tty_ = std::move(tty);
  // write_now() must never block the loop, whoever opened the device.
  if (int flags = ::fcntl(tty_.get(), F_GETFL); flags >= 0 && !(flags & O_NONBLOCK))
    ::fcntl(tty_.get(), F_SETFL, flags | O_NONBLOCK);
  line_.adopt(tty_.get());
  arm_read();
}

void Relay::arm_read() {
  read_op_.set(loop_, loop_.read(tty_.get(), from_device_.data(), from_device_.size(),
                                 [this](int res) { on_read(res); }));
}

void Relay::on_read(int res) {
  if (res == -EAGAIN || res == -EINTR) return arm_read();
  if (res <= 0) return lose_device(res == 0 ? "hang-up" : std::strerror(-res));
  std::span<const std::byte> data(from_device_.data(), static_cast<std::size_t>(res));
  // A session may close (and detach) while we deliver: walk a snapshot.
  auto receivers = sessions_;
  for (RelaySubscriber* s : receivers)
    if (s->relaying()) s->from_device(data);
  arm_read();
}

bool Relay::to_device(std::span<const std::byte> data, RelaySubscriber& from) {
  if (!tty_) return true;  // device gone: input is discarded, the session is being closed
  if (inflight_.empty() && pending_.empty()) data = data.subspan(write_now(data));
  if (data.empty()) return true;
  pending_.insert(pending_.end(), data.begin(), data.end());
  if (inflight_.empty()) start_write();
  if (pending_.size() + inflight_.size() - inflight_done_ < kDeviceQueueLimit) return true;
  if (std::find(blocked_.begin(), blocked_.end(), &from) == blocked_.end()) blocked_.push_back(&from);
  return false;
}

// With nothing queued ahead of it, input goes to the tty at once: one write(2) on the
// non-blocking fd, where an io_uring write would complete inline at the next submission and
// its completion would cost the loop one more io_uring_enter per frame. Whatever the tty does
// not take (a full buffer, an error) is queued and written by io_uring as before, which also
// meets any error again and handles it in on_write().
std::size_t Relay::write_now(std::span<const std::byte> data) {
  ssize_t n;
  do n = ::write(tty_.get(), data.data(), data.size());
  while (n < 0 && errno == EINTR);
  return n > 0 ? static_cast<std::size_t>(n) : 0;
}

void Relay::start_write() {
  if (inflight_done_ == inflight_.size()) {
    inflight_.clear();
    inflight_done_ = 0;
    std::swap(inflight_, pending_);
  }
  if (inflight_.empty()) return wake_blocked();
  write_op_.set(loop_, loop_.write(tty_.get(), inflight_.data() + inflight_done_,
                                   static_cast<unsigned>(inflight_.size() - inflight_done_),
                                   [this](int res) { on_write(res); }));
}

void Relay::on_write(int res) {
  if (res == -EAGAIN || res == -EINTR) return start_write();
  if (res < 0) return lose_device(std::strerror(-res));
  inflight_done_ += static_cast<std::size_t>(res);
  start_write();
  if (pending_.size() < kDeviceQueueLimit / 2) wake_blocked();
}

void Relay::wake_blocked() {
  auto waiting = std::move(blocked_);
  blocked_.clear();
  for (RelaySubscriber* s : waiting)
    if (s->relaying()) s->resume_input();
}

void Relay::lose_device(const std::string& reason) {
  log::warning("Port " + port_.name + ": device " + port_.device.string() + " lost (" + reason +
               "); closing its sessions and reopening");
  read_op_.reset();
  write_op_.reset();
  line_.lose();
  tty_.reset();
  inflight_.clear();
  inflight_done_ = 0;
  pending_.clear();
  auto attached = sessions_;
  for (RelaySubscriber* s : attached) s->close("device lost");
  blocked_.clear();
  reopen_op_.set(loop_, loop_.timeout(backoff_, [this](int) { open_device(); }));
}

}  // namespace ttygate::daemon
