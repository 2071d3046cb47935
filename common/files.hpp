// SPDX-License-Identifier: Apache-2.0
// Files: the few file-system operations that keep ttygate's state safe on disk, shared by the
// daemon, its key handling and ttygate-client.
//
// Every write is atomic (temp file in the same directory, fsync, rename, fsync of the directory),
// so a crash or power cut at any instant leaves the old file or the new one, never a torn one.
// Every fd is opened O_CLOEXEC. Plain functions, no state; safe from any thread.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace ttygate {

enum class IfExists { replace, fail };

// Whether a read may go through a symlink. State files (the client store, keys, the setup code)
// refuse them: a link there is either a mistake or someone redirecting what ttygate trusts.
enum class Links { follow, refuse };

// Writes bytes to path atomically with exactly the given mode (umask does not apply). The temp
// file ".<name>.XXXXXX" is created O_CREAT|O_EXCL with mode 0600 before it is chmod'ed, so it is
// never more exposed than the final file, and it is removed on failure. IfExists::fail never
// replaces an existing file (errc::file_exists), even one created concurrently.
// If only the final fsync of the directory fails, the new file is in place but may not survive a
// crash; the error says so. A symlink at path is never replaced by a file (errc::too_many_symbolic_link_levels,
// "refusing to replace the symlink <path>"): the caller asked to write what the link points at.
Result<void> write_file_atomically(const std::filesystem::path& path, std::string_view bytes, mode_t mode,
                                   IfExists if_exists = IfExists::replace);

struct FileContents {
  std::string bytes;
  mode_t mode = 0;  // permission bits of the file as opened (fstat), e.g. 0600
};

// Reads a whole regular file of at most max_bytes. A missing file is
// errc::no_such_file_or_directory so callers can tell it from a broken one. Anything but a
// regular file (a FIFO, /dev/zero, a directory) is errc::invalid_argument and is never read.
// Links::refuse: a symlink at path is errc::too_many_symbolic_link_levels, "<path> is a symlink
// (ttygate does not follow symlinks in its state directory)".
Result<FileContents> read_file(const std::filesystem::path& path, std::size_t max_bytes,
                               Links links = Links::follow);

// Removes what an interrupted write_file_atomically(path) left behind: ".<name>.XXXXXX" files next
// to path (crash leftovers, each a full copy of some version of the file). Only safe while no
// writer of path can be mid-write, i.e. under the lock its writers share. Returns how many it removed.
Result<std::size_t> remove_stale_temp_files(const std::filesystem::path& path);

// Creates dir and any missing parents with mode 0700. An existing directory is left as it is.
Result<void> make_private_directory(const std::filesystem::path& dir);

}  // namespace ttygate
