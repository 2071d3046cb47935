// SPDX-License-Identifier: Apache-2.0
#include "daemon/signals.hpp"

#include <csignal>
#include <system_error>

namespace ttygate::daemon {

SignalWatch::SignalWatch(Loop& loop, std::initializer_list<int> signals, std::function<void(int)> on_signal)
    : loop_(loop), on_signal_(std::move(on_signal)) {
  sigset_t set;
  sigemptyset(&set);
  for (int s : signals) sigaddset(&set, s);
  if (sigprocmask(SIG_BLOCK, &set, nullptr) < 0) throw std::system_error(errno, std::system_category(), "sigprocmask");
  fd_.reset(signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!fd_) throw std::system_error(errno, std::system_category(), "signalfd");
  arm();
}

void SignalWatch::arm() {
  read_.set(loop_, loop_.read(fd_.get(), &info_, sizeof info_, [this](int res) {
    if (res == static_cast<int>(sizeof info_)) on_signal_(static_cast<int>(info_.ssi_signo));
    arm();
  }));
}

}  // namespace ttygate::daemon
