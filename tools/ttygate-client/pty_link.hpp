// PtyLink: a local pseudo-terminal that stands in for the remote serial port, reachable at a
// symlink (e.g. ~/dev/toy -> /dev/pts/7) that existing serial software opens as if the device
// were plugged in here.
//
// The slave starts in raw mode (cfmakeraw). The bridge keeps the slave open itself, so the
// master never sees a hang-up when the software closes the port, and the pty (with its name
// and the symlink) lives across reconnections. The symlink is made atomically (a temp link and
// rename) and is replaced only if it already is a symlink: never a file someone else made. It is
// removed on destruction if it still points at this pty.
#pragma once

#include <filesystem>
#include <string>
#include <utility>

#include "common/result.hpp"
#include "common/unique_fd.hpp"

namespace ttygate::client {

class PtyLink {
 public:
  static Result<PtyLink> open(const std::filesystem::path& link);
  PtyLink(PtyLink&& other) noexcept
      : master_(std::move(other.master_)), slave_(std::move(other.slave_)),
        slave_name_(std::move(other.slave_name_)), link_(std::exchange(other.link_, {})) {}
  PtyLink& operator=(PtyLink&&) = delete;
  ~PtyLink();

  int master() const { return master_.get(); }  // non-blocking
  const std::string& slave_name() const { return slave_name_; }

 private:
  PtyLink() = default;

  UniqueFd master_, slave_;
  std::string slave_name_;
  std::filesystem::path link_;
};

}  // namespace ttygate::client
