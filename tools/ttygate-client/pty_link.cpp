// The local pty and its symlink. See pty_link.hpp.
#include "tools/ttygate-client/pty_link.hpp"

#include <fcntl.h>
#include <pty.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <climits>

namespace ttygate::client {
namespace {

Result<void> make_link(const std::string& target, const std::filesystem::path& link) {
  struct stat st {};
  if (lstat(link.c_str(), &st) == 0 && !S_ISLNK(st.st_mode))
    return Error(std::make_error_code(std::errc::file_exists), link.string() + " exists and is not a symlink");
  std::filesystem::path temp = link.parent_path() / ("." + link.filename().string() + "." + std::to_string(getpid()));
  unlink(temp.c_str());
  if (symlink(target.c_str(), temp.c_str()) != 0) return errno_error("symlink " + temp.string());
  if (rename(temp.c_str(), link.c_str()) != 0) {
    int err = errno;
    unlink(temp.c_str());
    return errno_error("rename to " + link.string(), err);
  }
  return success();
}

}  // namespace

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
  if (auto linked = make_link(pty.slave_name_, link); !linked) return linked.error();
  pty.link_ = link;
  return pty;
}

PtyLink::~PtyLink() {
  if (link_.empty()) return;
  char target[PATH_MAX];
  ssize_t n = readlink(link_.c_str(), target, sizeof target - 1);
  if (n > 0 && std::string(target, static_cast<std::size_t>(n)) == slave_name_) unlink(link_.c_str());
}

}  // namespace ttygate::client
