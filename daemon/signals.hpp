// SPDX-License-Identifier: Apache-2.0
// SignalWatch: delivers signals through a signalfd read on the loop, never in a signal handler.
#pragma once

#include <sys/signalfd.h>

#include <functional>
#include <initializer_list>

#include "common/unique_fd.hpp"
#include "daemon/loop.hpp"

namespace ttygate::daemon {

class SignalWatch {
 public:
  // Blocks the signals for the process (call before any thread starts) and watches them.
  SignalWatch(Loop& loop, std::initializer_list<int> signals, std::function<void(int)> on_signal);
  SignalWatch(const SignalWatch&) = delete;
  SignalWatch& operator=(const SignalWatch&) = delete;

 private:
  void arm();

  Loop& loop_;
  UniqueFd fd_;
  std::function<void(int)> on_signal_;
  signalfd_siginfo info_{};
  Op read_;
};

}  // namespace ttygate::daemon
