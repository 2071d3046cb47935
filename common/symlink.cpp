// SPDX-License-Identifier: Apache-2.0
// Publishing and taking down a symlink. See symlink.hpp.
#include "common/symlink.hpp"
#include "common/concat.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <string_view>
#include <utility>

namespace ttygate {
namespace {

bool points_at(const std::filesystem::path& link, std::string_view target) {
  char buffer[PATH_MAX];
  ssize_t n = ::readlink(link.c_str(), buffer, sizeof buffer);
  return n >= 0 && std::string_view(buffer, static_cast<std::size_t>(n)) == target;
}

}  // namespace

Result<OwnedSymlink> OwnedSymlink::publish(std::filesystem::path link, std::string target) {
  struct stat st {};
  if (::lstat(link.c_str(), &st) == 0 && !S_ISLNK(st.st_mode))
    return Error(std::make_error_code(std::errc::file_exists), link.string() + " exists and is not a symlink");
  // Hidden and per process, so two publishers never trip over each other's temporary link.
  std::filesystem::path temp = link.parent_path() / concat({".", link.filename().string(), ".", std::to_string(::getpid())});
  ::unlink(temp.c_str());
  if (::symlink(target.c_str(), temp.c_str()) != 0) return errno_error("symlink " + temp.string());
  if (::rename(temp.c_str(), link.c_str()) != 0) {
    int err = errno;
    ::unlink(temp.c_str());
    return errno_error("rename to " + link.string(), err);
  }
  return OwnedSymlink(std::move(link), std::move(target));
}

OwnedSymlink::OwnedSymlink(OwnedSymlink&& other) noexcept
    : link_(std::exchange(other.link_, {})), target_(std::move(other.target_)) {}

OwnedSymlink& OwnedSymlink::operator=(OwnedSymlink&& other) noexcept {
  if (this != &other) {
    remove();
    link_ = std::exchange(other.link_, {});
    target_ = std::move(other.target_);
  }
  return *this;
}

void OwnedSymlink::remove() {
  if (!link_.empty() && points_at(link_, target_)) ::unlink(link_.c_str());
  link_.clear();
}

}  // namespace ttygate
