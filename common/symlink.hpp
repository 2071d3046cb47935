// SPDX-License-Identifier: Apache-2.0
// OwnedSymlink: a symlink this process publishes, such as a device path that names a pty
// (~/dev/toy -> /dev/pts/7), and takes down again when it is done.
//
// Publishing is atomic (a temporary link next to it, then rename), so a reader sees the old
// target or the new one, never a missing or half-made link. Only a symlink is ever replaced:
// a file or directory someone else put at that path is refused, never overwritten. The link is
// removed on destruction only while it still points at our target, since a newer publisher (a
// second bridge or simulator on the same path) may have taken it over meanwhile.
// Move-only; no state shared between objects.
#pragma once

#include <filesystem>
#include <string>

#include "common/result.hpp"

namespace ttygate {

class OwnedSymlink {
 public:
  // errc::file_exists when something other than a symlink is at `link`; else the errno of the
  // failed symlink() or rename(), with the path in the context.
  static Result<OwnedSymlink> publish(std::filesystem::path link, std::string target);

  OwnedSymlink(OwnedSymlink&& other) noexcept;
  OwnedSymlink& operator=(OwnedSymlink&& other) noexcept;
  OwnedSymlink(const OwnedSymlink&) = delete;
  OwnedSymlink& operator=(const OwnedSymlink&) = delete;
  ~OwnedSymlink() { remove(); }

  const std::filesystem::path& path() const { return link_; }
  const std::string& target() const { return target_; }

 private:
  OwnedSymlink(std::filesystem::path link, std::string target)
      : link_(std::move(link)), target_(std::move(target)) {}
  void remove();

  std::filesystem::path link_;  // empty once moved from
  std::string target_;
};

}  // namespace ttygate
