// SPDX-License-Identifier: Apache-2.0
// StoreLock: who may write the client store, and when.
//
// Two writers exist: the running daemon (over D-Bus and pairing) and the offline tool
// (ttygated --add-client). The daemon keeps the store in memory and rewrites the whole file on
// every change, so an offline edit made while it runs would be silently undone by its next write.
// The policy is therefore: offline edits are refused while a daemon runs on the same state
// directory (the message says to use ttygatectl, which asks the daemon over D-Bus), and every
// writer serialises its read-modify-write on one lock, so concurrent offline edits all land.
//
// Both locks live on one file next to the store, "<store>.lock" (0600, never a symlink):
//   - the write lock, flock(LOCK_EX), held around every read-modify-write of the store: for the
//     whole of an offline edit, and around each load and each write in the daemon;
//   - the daemon claim, an open-file-description lock (F_OFD_SETLK) on byte 0, held by the daemon
//     for its whole life. Offline editors test it with F_OFD_GETLK while holding the write lock,
//     so a daemon that starts meanwhile loads the store only after their write.
// flock and OFD locks are independent on Linux, so neither blocks the other. Both vanish with the
// process (kill -9 included): a crash never leaves the store locked.
// Move-only; the event loop's thread only.
#pragma once

#include <filesystem>

#include "common/result.hpp"
#include "common/unique_fd.hpp"

namespace ttygate::daemon {

class StoreLock {
 public:
  // Opens (creating) "<store>.lock"; a symlink there is refused.
  static Result<StoreLock> open(const std::filesystem::path& store);

  // The daemon claim. errc::resource_unavailable_try_again when another daemon holds it:
  // "another ttygated is running with <store>".
  Result<void> claim_daemon();
  // errc::device_or_resource_busy when a daemon holds the claim; the message names ttygatectl.
  Result<void> refuse_if_daemon_runs() const;

  // The write lock; blocks while another writer holds it. unlock() is a no-op while held_for_life.
  Result<void> lock();
  void unlock();
  // Keeps the write lock until destruction (an offline edit: load, check, write, exit).
  Result<void> hold();

 private:
  explicit StoreLock(UniqueFd fd, std::filesystem::path file) : fd_(std::move(fd)), file_(std::move(file)) {}
  UniqueFd fd_;
  std::filesystem::path file_;
  bool held_for_life_ = false;
};

// Holds the write lock for one scope.
class StoreWriteGuard {
 public:
  explicit StoreWriteGuard(StoreLock& lock) : lock_(lock) {}
  StoreWriteGuard(const StoreWriteGuard&) = delete;
  StoreWriteGuard& operator=(const StoreWriteGuard&) = delete;
  ~StoreWriteGuard() { lock_.unlock(); }

 private:
  StoreLock& lock_;
};

}  // namespace ttygate::daemon
