// FdLimit: the gateway's own file-descriptor allowance.
//
// Every session is a socket, so the soft RLIMIT_NOFILE (1024 under systemd unless the unit says
// otherwise) caps how many clients can be connected at once: a reconnect storm of a few thousand
// clients would see accept() fail with EMFILE. The daemon raises its soft limit to the hard limit
// at start (nothing needs a privilege for that); it uses no select(), so large fd numbers are
// safe. Only the caller logs.
#pragma once

#include <sys/resource.h>

#include "common/result.hpp"

namespace ttygate::daemon {

struct FdLimit {
  rlim_t before = 0;  // soft limit found
  rlim_t after = 0;   // soft limit now
  rlim_t hard = 0;
};

// Raises the soft RLIMIT_NOFILE to at most `wanted`, within the hard limit. Fails only when the
// limit can be neither read nor set; `after` may still be below `wanted` (the hard limit).
Result<FdLimit> raise_fd_limit(rlim_t wanted = 1 << 20);

}  // namespace ttygate::daemon
