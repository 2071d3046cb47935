// SPDX-License-Identifier: Apache-2.0
// The client store's lock policy (daemon/store_lock.hpp): offline edits are refused while a daemon
// runs, a second daemon is refused, every writer serialises on the write lock, and the limits,
// leftovers and symlinks of the state directory are handled at open and write.
#include "daemon/store_lock.hpp"

#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "daemon/client_store.hpp"
#include "tests/unit/temp_dir.hpp"

namespace ttygate::daemon {
namespace {

namespace fs = std::filesystem;
using ttygate::test_support::read_bytes;
using ttygate::test_support::TempDir;

Client client(std::uint8_t seed, std::string name) {
  Client c;
  c.pin.fill(seed);
  c.name = std::move(name);
  c.added_at = 1700000000;
  return c;
}

class StoreLockTest : public testing::Test {
 protected:
  TempDir dir_{"ttygate-lock"};
  fs::path file_ = dir_.path() / "clients";
};

TEST_F(StoreLockTest, AnOfflineEditIsRefusedWhileADaemonRunsAndNamesTtygatectl) {
  auto daemon = ClientStore::open(file_, StoreAccess::daemon);
  ASSERT_TRUE(daemon.ok()) << daemon.error().message();
  auto offline = ClientStore::open(file_, StoreAccess::offline_edit);
  ASSERT_FALSE(offline.ok());
  EXPECT_EQ(offline.error().code(), std::errc::device_or_resource_busy);
  EXPECT_NE(offline.error().message().find("ttygatectl add"), std::string::npos) << offline.error().message();
}

TEST_F(StoreLockTest, AnOfflineEditIsAllowedOnceTheDaemonIsGone) {
  { auto daemon = ClientStore::open(file_, StoreAccess::daemon); ASSERT_TRUE(daemon.ok()); }
  auto offline = ClientStore::open(file_, StoreAccess::offline_edit);
  ASSERT_TRUE(offline.ok()) << offline.error().message();
  EXPECT_TRUE(offline->add(client(1, "laptop")).ok());
}

TEST_F(StoreLockTest, ASecondDaemonOnTheSameStoreIsRefused) {
  auto first = ClientStore::open(file_, StoreAccess::daemon);
  ASSERT_TRUE(first.ok());
  auto second = ClientStore::open(file_, StoreAccess::daemon);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code(), std::errc::resource_unavailable_try_again);
  EXPECT_NE(second.error().message().find("another ttygated"), std::string::npos);
}

// A child holds an offline edit (the write lock) until told; the daemon's write waits for it and
// then lands on top of the child's: nothing either acknowledged is lost.
TEST_F(StoreLockTest, ADaemonWriteWaitsForAnOfflineEditInProgress) {
  int go[2], held[2];
  ASSERT_EQ(::pipe(go), 0);
  ASSERT_EQ(::pipe(held), 0);
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto offline = ClientStore::open(file_, StoreAccess::offline_edit);
    char byte = 'x';
    if (!offline.ok() || ::write(held[1], &byte, 1) != 1 || ::read(go[0], &byte, 1) != 1) ::_exit(1);
    ::_exit(offline->add(client(1, "offline")).ok() ? 0 : 1);
  }
  char byte = 0;
  ASSERT_EQ(::read(held[0], &byte, 1), 1);
  auto shared = ClientStore::open(file_.string() + "-unrelated");  // opens freely: another store
  ASSERT_TRUE(shared.ok());
  // The daemon opens only after the child's edit, so its view includes it.
  ASSERT_EQ(::write(go[1], "g", 1), 1);
  auto daemon = ClientStore::open(file_, StoreAccess::daemon);
  ASSERT_TRUE(daemon.ok()) << daemon.error().message();
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  ASSERT_NE(daemon->find_by_name("offline"), nullptr);
  ASSERT_TRUE(daemon->add(client(2, "daemon")).ok());
  auto reread = ClientStore::open(file_);
  ASSERT_TRUE(reread.ok());
  EXPECT_EQ(reread->clients().size(), 2u);
}

TEST_F(StoreLockTest, TwentyConcurrentOfflineEditsAllLand) {
  std::vector<pid_t> children;
  for (int i = 0; i < 20; ++i) {
    pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      auto offline = ClientStore::open(file_, StoreAccess::offline_edit);
      ::_exit(offline.ok() && offline->add(client(static_cast<std::uint8_t>(i + 1), "c" + std::to_string(i))).ok() ? 0 : 1);
    }
    children.push_back(child);
  }
  for (pid_t child : children) {
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  auto store = ClientStore::open(file_);
  ASSERT_TRUE(store.ok());
  EXPECT_EQ(store->clients().size(), 20u);
}

TEST_F(StoreLockTest, OpeningRemovesTempFilesACrashedWriteLeftButNothingElse) {
  for (const char* name : {".clients.Ab3xYz", ".clients.000000", ".clients.lock1", ".gateway.key.Ab3xYz", "clients.bak"}) {
    std::ofstream(dir_.path() / name) << "stale";
  }
  auto store = ClientStore::open(file_);
  ASSERT_TRUE(store.ok());
  EXPECT_FALSE(fs::exists(dir_.path() / ".clients.Ab3xYz"));
  EXPECT_FALSE(fs::exists(dir_.path() / ".clients.000000"));
  EXPECT_TRUE(fs::exists(dir_.path() / ".clients.lock1"));  // not a mkostemp name
  EXPECT_TRUE(fs::exists(dir_.path() / ".gateway.key.Ab3xYz"));  // another file's: not ours to judge
  EXPECT_TRUE(fs::exists(dir_.path() / "clients.bak"));
}

TEST_F(StoreLockTest, ASymlinkedStoreIsRefusedAndLeftAlone) {
  fs::path elsewhere = dir_.path() / "elsewhere";
  std::ofstream(elsewhere) << "# ttygate clients v1\n";
  fs::permissions(elsewhere, fs::perms::owner_read | fs::perms::owner_write);
  fs::create_symlink(elsewhere, file_);
  auto store = ClientStore::open(file_);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.error().code(), std::errc::too_many_symbolic_link_levels);
  EXPECT_NE(store.error().message().find("is a symlink"), std::string::npos) << store.error().message();
  EXPECT_TRUE(fs::is_symlink(file_));
}

TEST_F(StoreLockTest, ASymlinkedLockIsRefused) {
  fs::create_symlink(dir_.path() / "elsewhere", dir_.path() / "clients.lock");
  auto store = ClientStore::open(file_);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.error().code(), std::errc::too_many_symbolic_link_levels);
  EXPECT_FALSE(fs::exists(dir_.path() / "elsewhere"));
}

// The daemon must never write a store it would refuse to read: the limit is checked before the
// write, and the file and memory stay as they were. The file is made just under the limit here
// (adding 28,000 clients one write at a time would take minutes).
TEST_F(StoreLockTest, AWriteThatWouldPassTheReadLimitIsRefusedBeforeWriting) {
  std::string text = "# ttygate clients v1\n";
  const std::string name_stem(50, 'n');
  std::size_t lines = 0;
  for (std::uint32_t i = 0;; ++i) {
    char line[256];
    std::snprintf(line, sizeof line, "%08x%056x control 1700000000 0 %s%010u\n", i, 0u, name_stem.c_str(), i);
    // Stop once less than a line is left: the longer line added below cannot fit.
    if (text.size() + std::strlen(line) + 4 > kMaxStoreBytes) break;
    text += line;
    ++lines;
  }
  std::ofstream(file_, std::ios::binary) << text;
  fs::permissions(file_, fs::perms::owner_read | fs::perms::owner_write);
  auto store = ClientStore::open(file_);
  ASSERT_TRUE(store.ok()) << store.error().message();
  ASSERT_EQ(store->clients().size(), lines);
  auto added = store->add(client(0xee, std::string(64, 'x')));
  ASSERT_FALSE(added.ok());
  EXPECT_EQ(added.error().code(), std::errc::file_too_large);
  EXPECT_NE(added.error().message().find("remove clients first"), std::string::npos) << added.error().message();
  EXPECT_EQ(store->clients().size(), lines);
  EXPECT_EQ(read_bytes(file_), text);
}

TEST_F(StoreLockTest, AStoreLargerThanTheLimitIsRefusedWithTheLimitNamed) {
  std::ofstream(file_, std::ios::binary) << std::string(kMaxStoreBytes + 1, '#');
  auto store = ClientStore::open(file_);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.error().code(), std::errc::file_too_large);
  EXPECT_NE(store.error().message().find(std::to_string(kMaxStoreBytes)), std::string::npos);
}

}  // namespace
}  // namespace ttygate::daemon
