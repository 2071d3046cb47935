// SPDX-License-Identifier: Apache-2.0
// The client store's locks. See store_lock.hpp for the policy.
#include "daemon/store_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>

#include <cerrno>

namespace ttygate::daemon {
namespace {

struct flock daemon_claim(short type) {
  struct flock claim {};
  claim.l_type = type;
  claim.l_whence = SEEK_SET;
  claim.l_start = 0;
  claim.l_len = 1;
  return claim;
}

}  // namespace

Result<StoreLock> StoreLock::open(const std::filesystem::path& store) {
  std::filesystem::path file = store;
  file += ".lock";
  UniqueFd fd(::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600));
  if (!fd && errno == ELOOP) {
    return Error(std::make_error_code(std::errc::too_many_symbolic_link_levels),
                 file.string() + " is a symlink (ttygate does not follow symlinks in its state directory)");
  }
  if (!fd) return errno_error("open " + file.string());
  return StoreLock(std::move(fd), std::move(file));
}

Result<void> StoreLock::claim_daemon() {
  struct flock claim = daemon_claim(F_WRLCK);
  if (::fcntl(fd_.get(), F_OFD_SETLK, &claim) == 0) return success();
  if (errno == EAGAIN || errno == EACCES) {
    return Error(std::make_error_code(std::errc::resource_unavailable_try_again),
                 "another ttygated is running with " + file_.string());
  }
  return errno_error("lock " + file_.string());
}

Result<void> StoreLock::refuse_if_daemon_runs() const {
  struct flock claim = daemon_claim(F_WRLCK);
  if (::fcntl(fd_.get(), F_OFD_GETLK, &claim) != 0) return errno_error("test the lock " + file_.string());
  if (claim.l_type == F_UNLCK) return success();
  return Error(std::make_error_code(std::errc::device_or_resource_busy),
               "ttygated is running with this state directory and would undo an offline edit; "
               "manage a running gateway with ttygatectl (ttygatectl add CERT --name NAME --role ROLE)");
}

Result<void> StoreLock::lock() {
  if (held_for_life_) return success();
  while (::flock(fd_.get(), LOCK_EX) != 0) {
    if (errno != EINTR) return errno_error("lock " + file_.string());
  }
  return success();
}

void StoreLock::unlock() {
  if (!held_for_life_) ::flock(fd_.get(), LOCK_UN);
}

Result<void> StoreLock::hold() {
  if (auto locked = lock(); !locked) return locked;
  held_for_life_ = true;
  return success();
}

}  // namespace ttygate::daemon
