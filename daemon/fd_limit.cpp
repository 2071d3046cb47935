#include "daemon/fd_limit.hpp"

#include <algorithm>

namespace ttygate::daemon {

Result<FdLimit> raise_fd_limit(rlim_t wanted) {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return errno_error("reading RLIMIT_NOFILE");
  FdLimit out{limit.rlim_cur, limit.rlim_cur, limit.rlim_max};
  const rlim_t target = limit.rlim_max == RLIM_INFINITY ? wanted : std::min(wanted, limit.rlim_max);
  if (target <= limit.rlim_cur) return out;  // never lowered
  limit.rlim_cur = target;
  if (::setrlimit(RLIMIT_NOFILE, &limit) != 0) return errno_error("raising RLIMIT_NOFILE");
  out.after = target;
  return out;
}

}  // namespace ttygate::daemon
