// SPDX-License-Identifier: Apache-2.0
// OwnedSymlink: published atomically over a stale symlink, never over anything else, and taken
// down only while it is still ours.
#include "common/symlink.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/unit/temp_dir.hpp"

namespace ttygate {
namespace {

namespace fs = std::filesystem;

class PublishedSymlink : public testing::Test {
 protected:
  test_support::TempDir dir_{"ttygate-symlink"};
  fs::path link_ = dir_.path() / "toy";

  std::vector<std::string> entries() const {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(dir_.path())) names.push_back(entry.path().filename().string());
    return names;
  }
};

TEST_F(PublishedSymlink, PointsAtItsTargetAndLeavesNoTemporaryLink) {
  auto link = OwnedSymlink::publish(link_, "/dev/pts/7");
  ASSERT_TRUE(link.ok()) << link.error().message();
  EXPECT_EQ(fs::read_symlink(link_), "/dev/pts/7");
  EXPECT_EQ(link->path(), link_);
  EXPECT_EQ(link->target(), "/dev/pts/7");
  EXPECT_EQ(entries(), std::vector<std::string>{"toy"});
}

TEST_F(PublishedSymlink, ReplacesAStaleSymlink) {
  fs::create_symlink("/nonexistent", link_);
  auto link = OwnedSymlink::publish(link_, "/dev/pts/7");
  ASSERT_TRUE(link.ok()) << link.error().message();
  EXPECT_EQ(fs::read_symlink(link_), "/dev/pts/7");
}

TEST_F(PublishedSymlink, RefusesToReplaceAFileAndLeavesItAsItWas) {
  std::ofstream(link_) << "someone's notes";
  auto link = OwnedSymlink::publish(link_, "/dev/pts/7");
  ASSERT_FALSE(link.ok());
  EXPECT_EQ(link.error().code(), std::errc::file_exists);
  EXPECT_EQ(link.error().context(), link_.string() + " exists and is not a symlink");
  EXPECT_EQ(test_support::read_bytes(link_), "someone's notes");
  EXPECT_EQ(entries(), std::vector<std::string>{"toy"});
}

TEST_F(PublishedSymlink, RefusesToReplaceADirectory) {
  fs::create_directory(link_);
  auto link = OwnedSymlink::publish(link_, "/dev/pts/7");
  ASSERT_FALSE(link.ok());
  EXPECT_EQ(link.error().code(), std::errc::file_exists);
  EXPECT_TRUE(fs::is_directory(link_));
}

TEST_F(PublishedSymlink, FailsNamingTheTemporaryLinkWhenTheDirectoryIsMissing) {
  const fs::path missing = dir_.path() / "gone" / "toy";
  auto link = OwnedSymlink::publish(missing, "/dev/pts/7");
  ASSERT_FALSE(link.ok());
  EXPECT_EQ(link.error().code(), std::errc::no_such_file_or_directory);
  EXPECT_NE(link.error().context().find((dir_.path() / "gone").string()), std::string::npos);
}

TEST_F(PublishedSymlink, IsRemovedOnDestruction) {
  { auto link = OwnedSymlink::publish(link_, "/dev/pts/7"); ASSERT_TRUE(link.ok()); }
  EXPECT_FALSE(fs::exists(fs::symlink_status(link_)));
}

TEST_F(PublishedSymlink, IsLeftAloneOnDestructionOnceSomeoneElseTookThePathOver) {
  {
    auto older = OwnedSymlink::publish(link_, "/dev/pts/7");
    ASSERT_TRUE(older.ok());
    // A second simulator or bridge on the same path, as another process would do it.
    fs::remove(link_);
    fs::create_symlink("/dev/pts/8", link_);
  }
  EXPECT_EQ(fs::read_symlink(link_), "/dev/pts/8");
}

TEST_F(PublishedSymlink, IsRemovedOnceWhenMoved) {
  std::optional<OwnedSymlink> moved;
  {
    auto link = OwnedSymlink::publish(link_, "/dev/pts/7");
    ASSERT_TRUE(link.ok());
    moved.emplace(std::move(*link));
  }
  EXPECT_EQ(fs::read_symlink(link_), "/dev/pts/7") << "the moved-from object must not remove the link";
  moved.reset();
  EXPECT_FALSE(fs::exists(fs::symlink_status(link_)));
}

}  // namespace
}  // namespace ttygate
