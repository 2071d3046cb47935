// SPDX-License-Identifier: Apache-2.0
// Atomic writes and bounded reads. See files.hpp.
#include "common/files.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>

#include "common/concat.hpp"
#include "common/unique_fd.hpp"

namespace ttygate {
namespace {

std::filesystem::path directory_of(const std::filesystem::path& path) {
  std::filesystem::path dir = path.parent_path();
  return dir.empty() ? std::filesystem::path(".") : dir;
}

Result<void> write_all(int fd, std::string_view bytes, const std::filesystem::path& path) {
  while (!bytes.empty()) {
    ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_error("write " + path.string());
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return success();
}

Result<void> fsync_directory(const std::filesystem::path& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return errno_error("open directory " + dir.string());
  if (::fsync(fd.get()) != 0) return errno_error("fsync directory " + dir.string());
  return success();
}

// renameat2(RENAME_NOREPLACE) is atomic; file systems without it get link(), which is too.
Result<void> rename_into_place(const std::filesystem::path& from, const std::filesystem::path& to,
                               IfExists if_exists) {
  std::string what = "rename " + from.string() + " to " + to.string();
  if (if_exists == IfExists::replace) {
    if (::rename(from.c_str(), to.c_str()) != 0) return errno_error(what);
    return success();
  }
  if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) return success();
  if (errno != EINVAL && errno != ENOSYS) return errno_error(what);
  if (::link(from.c_str(), to.c_str()) != 0) return errno_error("link " + from.string() + " to " + to.string());
  ::unlink(from.c_str());
  return success();
}

// Writes the temp file completely and durably; the caller renames it.
Result<void> fill_temp_file(int fd, const std::string& temp, std::string_view bytes, mode_t mode) {
  if (::fchmod(fd, mode) != 0) return errno_error("chmod " + temp);
  if (auto written = write_all(fd, bytes, temp); !written) return written;
  if (::fsync(fd) != 0) return errno_error("fsync " + temp);
  return success();
}

Error symlink_refused(const std::filesystem::path& path, std::string what) {
  return Error(std::make_error_code(std::errc::too_many_symbolic_link_levels), path.string() + " " + what);
}

// The name mkostemp gives: "." + name + "." + six letters or digits.
bool is_temp_name_of(std::string_view entry, std::string_view name) {
  const std::size_t prefix = name.size() + 2;
  if (entry.size() != prefix + 6 || entry[0] != '.' || entry.substr(1, name.size()) != name || entry[prefix - 1] != '.') {
    return false;
  }
  for (char c : entry.substr(prefix)) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) return false;
  }
  return true;
}

}  // namespace

Result<void> write_file_atomically(const std::filesystem::path& path, std::string_view bytes, mode_t mode,
                                   IfExists if_exists) {
  std::filesystem::path dir = directory_of(path);
  struct stat existing {};
  if (::lstat(path.c_str(), &existing) == 0 && S_ISLNK(existing.st_mode)) {
    return symlink_refused(path, "is a symlink; refusing to replace it with a file");
  }
  std::string temp = (dir / concat({".", path.filename().string(), ".XXXXXX"})).string();
  // mkostemp: O_CREAT|O_EXCL, mode 0600, plus the O_CLOEXEC we ask for.
  UniqueFd fd(::mkostemp(temp.data(), O_CLOEXEC));
  if (!fd) return errno_error("create a temporary file in " + dir.string());

  Result<void> filled = fill_temp_file(fd.get(), temp, bytes, mode);
  int close_result = ::close(fd.release());
  if (filled && close_result != 0) filled = errno_error("close " + temp);
  if (filled) filled = rename_into_place(temp, path, if_exists);
  if (!filled) {
    ::unlink(temp.c_str());
    return filled;
  }
  if (auto synced = fsync_directory(dir); !synced) {
    return Error(synced.error().code(), path.string() + " written but not yet durable: " + synced.error().context());
  }
  return success();
}

Result<FileContents> read_file(const std::filesystem::path& path, std::size_t max_bytes, Links links) {
  // O_NONBLOCK only keeps open() from hanging on a FIFO; regular files ignore it.
  const int no_follow = links == Links::refuse ? O_NOFOLLOW : 0;
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | no_follow));
  if (!fd && errno == ELOOP && links == Links::refuse) {
    return symlink_refused(path, "is a symlink (ttygate does not follow symlinks in its state directory)");
  }
  if (!fd) return errno_error(path.string());
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return errno_error(path.string());
  if (!S_ISREG(st.st_mode)) return Error(std::make_error_code(std::errc::invalid_argument), path.string() + ": not a regular file");
  if (static_cast<std::uintmax_t>(st.st_size) > max_bytes) {
    return Error(std::make_error_code(std::errc::file_too_large),
                 path.string() + ": larger than " + std::to_string(max_bytes) + " bytes");
  }
  FileContents contents;
  contents.mode = st.st_mode & 07777;
  char buffer[4096];
  for (;;) {
    ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_error(path.string());
    if (n == 0) break;
    contents.bytes.append(buffer, static_cast<std::size_t>(n));
    // The file may grow after fstat; the limit holds for what is actually read.
    if (contents.bytes.size() > max_bytes) {
      return Error(std::make_error_code(std::errc::file_too_large),
                   path.string() + ": larger than " + std::to_string(max_bytes) + " bytes");
    }
  }
  return contents;
}

Result<std::size_t> remove_stale_temp_files(const std::filesystem::path& path) {
  const std::filesystem::path dir = directory_of(path);
  const std::string name = path.filename().string();
  std::unique_ptr<DIR, int (*)(DIR*)> listing(::opendir(dir.c_str()), &::closedir);
  if (!listing) return errno_error("list " + dir.string());
  std::size_t removed = 0;
  while (const dirent* entry = ::readdir(listing.get())) {
    if (!is_temp_name_of(entry->d_name, name)) continue;
    if (::unlinkat(::dirfd(listing.get()), entry->d_name, 0) != 0 && errno != ENOENT) {
      return errno_error("remove " + (dir / entry->d_name).string());
    }
    ++removed;
  }
  return removed;
}

Result<void> make_private_directory(const std::filesystem::path& dir) {
  if (dir.empty()) return success();
  struct stat st {};
  if (::stat(dir.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return success();
    return Error(std::make_error_code(std::errc::not_a_directory), dir.string());
  }
  if (errno != ENOENT) return errno_error(dir.string());
  if (dir.has_relative_path() && dir.parent_path() != dir) {
    if (auto parent = make_private_directory(dir.parent_path()); !parent) return parent;
  }
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return errno_error("create directory " + dir.string());
  return success();
}

}  // namespace ttygate
