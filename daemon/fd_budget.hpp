// SPDX-License-Identifier: Apache-2.0
// Descriptor budget: every session is a socket, so the soft RLIMIT_NOFILE (1024 by default)
// is the real session limit unless raised. At start the soft limit is raised to the hard one
// (select() is never used, so large descriptor numbers are harmless). The session caps
// (limits.max_sessions, max_sessions_per_client) keep one client from using them all; if the
// process still runs out, FdReserve keeps one descriptor aside so a listener can accept the
// waiting connection and close it at once with a clear log line, instead of leaving it in the
// backlog and retrying (and logging) ten times a second.
#pragma once

#include <sys/resource.h>

#include "common/result.hpp"
#include "common/unique_fd.hpp"

namespace ttygate::daemon {

struct FdLimit {
  rlim_t before = 0;  // the soft limit found
  rlim_t now = 0;     // the soft limit after raising it (== before when it could not be raised)
  rlim_t hard = 0;
};

// Raises the soft RLIMIT_NOFILE to the hard limit. The error names what failed; the caller logs
// it and carries on with the limit it has.
Result<FdLimit> raise_fd_limit();

// One descriptor (/dev/null) held back for accept-and-close when the process is out of them.
class FdReserve {
 public:
  FdReserve();
  // Gives the descriptor back for one accept: true when there was one to give.
  bool release();
  // Takes it again after the accept; true when it could.
  bool restore();
  bool held() const { return fd_.valid(); }

 private:
  UniqueFd fd_;
};

}  // namespace ttygate::daemon
