// SPDX-License-Identifier: Apache-2.0
// The local pty and its symlink. See pty_link.hpp.
#include "tools/ttygate-client/pty_link.hpp"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <pty.h>
#include <termios.h>
#include <unistd.h>

#include <climits>

namespace ttygate::client {

Result<PtyLink> PtyLink::open(const std::filesystem::path& link) {
  PtyLink pty;
  int master = -1, slave = -1;
  char name[PATH_MAX] = "";
  termios raw{};
  cfmakeraw(&raw);
  cfsetspeed(&raw, B115200);
  if (openpty(&master, &slave, name, &raw, nullptr) != 0) return errno_error("openpty");
  pty.master_.reset(master);
  pty.slave_.reset(slave);
  pty.slave_name_ = name;
  for (int fd : {master, slave}) fcntl(fd, F_SETFD, FD_CLOEXEC);
  fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK);
  auto published = OwnedSymlink::publish(link, pty.slave_name_);
  if (!published) return published.error();
  pty.link_.emplace(std::move(*published));
  return pty;
}

Result<void> PtyLink::report_termios_changes() {
  int on = 1;
  if (::ioctl(master_.get(), TIOCPKT, &on) != 0) return errno_error("packet mode on the pty");
  termios tio{};
  if (::tcgetattr(slave_.get(), &tio) != 0) return errno_error("reading the pty's settings");
  tio.c_lflag |= EXTPROC;
  if (::tcsetattr(slave_.get(), TCSANOW, &tio) != 0) return errno_error("EXTPROC on the pty");
  return success();
}

}  // namespace ttygate::client
