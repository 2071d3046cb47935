// SPDX-License-Identifier: Apache-2.0
// PtyLink: a local pseudo-terminal that stands in for the remote serial port, reachable at a
// symlink (e.g. ~/dev/toy -> /dev/pts/7) that existing serial software opens as if the device
// were plugged in here.
//
// The slave starts in raw mode (cfmakeraw). The bridge keeps the slave open itself, so the
// master never sees a hang-up when the software closes the port, and the pty (with its name
// and the symlink) lives across reconnections. The symlink is an OwnedSymlink (common/symlink.hpp):
// published atomically, never over a file someone else made, and removed on destruction if it
// still points at this pty.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "common/result.hpp"
#include "common/symlink.hpp"
#include "common/unique_fd.hpp"

namespace ttygate::client {

class PtyLink {
 public:
  static Result<PtyLink> open(const std::filesystem::path& link);
  PtyLink(PtyLink&& other) noexcept = default;
  PtyLink& operator=(PtyLink&&) = delete;

  int master() const { return master_.get(); }  // non-blocking
  int slave() const { return slave_.get(); }
  // Packet mode on the master and EXTPROC on the slave: every read from the master then starts
  // with a status byte, and the kernel reports each tcsetattr of the software as TIOCPKT_IOCTL
  // (line_follow.hpp reads the new settings through the slave).
  Result<void> report_termios_changes();
  const std::string& slave_name() const { return slave_name_; }

 private:
  PtyLink() = default;

  UniqueFd master_, slave_;
  std::string slave_name_;
  std::optional<OwnedSymlink> link_;  // declared last: taken down before the pty closes
};

}  // namespace ttygate::client
