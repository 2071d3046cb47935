// SPDX-License-Identifier: Apache-2.0
// Descriptor budget. See fd_budget.hpp.
#include "daemon/fd_budget.hpp"

#include <fcntl.h>

namespace ttygate::daemon {

Result<FdLimit> raise_fd_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) < 0) return errno_error("getrlimit(RLIMIT_NOFILE)");
  FdLimit result{limit.rlim_cur, limit.rlim_cur, limit.rlim_max};
  if (limit.rlim_cur == limit.rlim_max) return result;
  limit.rlim_cur = limit.rlim_max;
  if (::setrlimit(RLIMIT_NOFILE, &limit) < 0)
    return errno_error("raising the soft descriptor limit from " + std::to_string(result.before) + " to " +
                       std::to_string(result.hard));
  result.now = limit.rlim_cur;
  return result;
}

FdReserve::FdReserve() { restore(); }

bool FdReserve::release() {
  if (!fd_) return false;
  fd_.reset();
  return true;
}

bool FdReserve::restore() {
  if (!fd_) fd_.reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  return fd_.valid();
}

}  // namespace ttygate::daemon
