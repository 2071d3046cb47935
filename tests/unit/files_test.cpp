// SPDX-License-Identifier: Apache-2.0
// Files: atomic writes that leave the old file or the new one and nothing else, bounded reads
// that tell a missing file from a broken one, and private directories.
#include "common/files.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/unit/temp_dir.hpp"

namespace ttygate {
namespace {

namespace fs = std::filesystem;

class TempDir : public ttygate::test_support::TempDir {
 public:
  TempDir() : ttygate::test_support::TempDir("ttygate-files") {}
};

using ttygate::test_support::read_bytes;

mode_t mode_of(const fs::path& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

// ---------------------------------------------------------------------------------------------
// write_file_atomically

class WriteFileAtomically : public testing::Test {
 protected:
  TempDir dir_;
  fs::path file_ = dir_.path() / "state.txt";

  std::vector<std::string> entries() const {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(dir_.path())) names.push_back(entry.path().filename().string());
    return names;
  }
};

TEST_F(WriteFileAtomically, GivesExactlyTheRequestedModeWhateverTheUmask) {
  mode_t old = ::umask(077);
  auto written = write_file_atomically(file_, "x", 0640);
  ::umask(old);
  ASSERT_TRUE(written.ok()) << written.error().message();
  EXPECT_EQ(mode_of(file_), 0640u);
}

TEST_F(WriteFileAtomically, ReplacesTheFileAndLeavesNoTemporaryFile) {
  ASSERT_TRUE(write_file_atomically(file_, "old", 0600).ok());
  ASSERT_TRUE(write_file_atomically(file_, "new content", 0600).ok());
  EXPECT_EQ(read_bytes(file_), "new content");
  EXPECT_EQ(entries(), std::vector<std::string>{"state.txt"});
}

TEST_F(WriteFileAtomically, NeverReplacesWhenAskedToFailIfTheFileExists) {
  ASSERT_TRUE(write_file_atomically(file_, "precious", 0600, IfExists::fail).ok());
  auto again = write_file_atomically(file_, "other", 0600, IfExists::fail);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code(), std::errc::file_exists);
  EXPECT_EQ(read_bytes(file_), "precious");
  EXPECT_EQ(entries(), std::vector<std::string>{"state.txt"});
}

TEST_F(WriteFileAtomically, FailsNamingTheDirectoryWhenItIsMissing) {
  fs::path missing = dir_.path() / "gone" / "state.txt";
  auto written = write_file_atomically(missing, "x", 0600);
  ASSERT_FALSE(written.ok());
  EXPECT_EQ(written.error().code(), std::errc::no_such_file_or_directory);
  EXPECT_NE(written.error().message().find((dir_.path() / "gone").string()), std::string::npos);
  EXPECT_TRUE(entries().empty());
}

// ---------------------------------------------------------------------------------------------
// read_file

class ReadFile : public testing::Test {
 protected:
  TempDir dir_;
  fs::path file_ = dir_.path() / "state.txt";

  void write(const std::string& bytes, mode_t mode = 0640) {
    std::ofstream(file_, std::ios::binary) << bytes;
    ::chmod(file_.c_str(), mode);
  }
};

TEST_F(ReadFile, ReturnsTheBytesAndThePermissionBits) {
  write(std::string("line\n\0binary", 12), 0640);
  auto contents = read_file(file_, 100);
  ASSERT_TRUE(contents.ok()) << contents.error().message();
  EXPECT_EQ(contents->bytes, std::string("line\n\0binary", 12));
  EXPECT_EQ(contents->mode, 0640u);
}

TEST_F(ReadFile, AcceptsAFileOfExactlyTheLimit) {
  write(std::string(64, 'x'));
  auto contents = read_file(file_, 64);
  ASSERT_TRUE(contents.ok()) << contents.error().message();
  EXPECT_EQ(contents->bytes.size(), 64u);
}

TEST_F(ReadFile, RefusesAFileOverTheLimitNamingIt) {
  write(std::string(65, 'x'));
  auto contents = read_file(file_, 64);
  ASSERT_FALSE(contents.ok());
  EXPECT_EQ(contents.error().code(), std::errc::file_too_large);
  EXPECT_EQ(contents.error().context(), file_.string() + ": larger than 64 bytes");
}

TEST_F(ReadFile, ReportsAMissingFileAsNoSuchFileNamingIt) {
  auto contents = read_file(file_, 64);
  ASSERT_FALSE(contents.ok());
  EXPECT_EQ(contents.error().code(), std::errc::no_such_file_or_directory);
  EXPECT_EQ(contents.error().message(), file_.string() + ": No such file or directory");
}

TEST_F(ReadFile, RefusesADirectoryOrAFifoWithoutBlocking) {
  auto directory = read_file(dir_.path(), 64);
  ASSERT_FALSE(directory.ok());
  EXPECT_EQ(directory.error().context(), dir_.path().string() + ": not a regular file");
  ASSERT_EQ(::mkfifo(file_.c_str(), 0600), 0);
  auto fifo = read_file(file_, 64);
  ASSERT_FALSE(fifo.ok());
  EXPECT_EQ(fifo.error().code(), std::errc::invalid_argument);
}

// ---------------------------------------------------------------------------------------------
// make_private_directory

TEST(MakePrivateDirectory, CreatesTheDirectoryAndMissingParentsOwnerOnly) {
  TempDir dir;
  const fs::path state = dir.path() / "var" / "lib" / "ttygate";
  ASSERT_TRUE(make_private_directory(state).ok());
  EXPECT_EQ(mode_of(state), 0700u);
  EXPECT_EQ(mode_of(state.parent_path()), 0700u);
}

TEST(MakePrivateDirectory, LeavesAnExistingDirectoryAsItIs) {
  TempDir dir;
  const fs::path state = dir.path() / "state";
  ASSERT_EQ(::mkdir(state.c_str(), 0750), 0);
  ASSERT_EQ(::chmod(state.c_str(), 0750), 0);
  ASSERT_TRUE(make_private_directory(state).ok());
  EXPECT_EQ(mode_of(state), 0750u);
}

TEST(MakePrivateDirectory, RefusesAFileInTheWayNamingIt) {
  TempDir dir;
  const fs::path state = dir.path() / "state";
  std::ofstream(state) << "not a directory";
  auto made = make_private_directory(state);
  ASSERT_FALSE(made.ok());
  EXPECT_EQ(made.error().code(), std::errc::not_a_directory);
  EXPECT_EQ(made.error().context(), state.string());
  EXPECT_EQ(read_bytes(state), "not a directory");
}

TEST(StateFiles, AReadThatRefusesLinksNamesTheSymlink) {
  TempDir dir;
  std::ofstream(dir.path() / "target") << "data";
  fs::create_symlink(dir.path() / "target", dir.path() / "link");
  EXPECT_TRUE(read_file(dir.path() / "link", 64).ok());
  auto refused = read_file(dir.path() / "link", 64, Links::refuse);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code(), std::errc::too_many_symbolic_link_levels);
  EXPECT_NE(refused.error().message().find("is a symlink"), std::string::npos) << refused.error().message();
}

TEST(StateFiles, AnAtomicWriteNeverReplacesASymlinkWithAFile) {
  TempDir dir;
  std::ofstream(dir.path() / "target") << "data";
  fs::create_symlink(dir.path() / "target", dir.path() / "link");
  auto written = write_file_atomically(dir.path() / "link", "new", 0600);
  ASSERT_FALSE(written.ok());
  EXPECT_EQ(written.error().code(), std::errc::too_many_symbolic_link_levels);
  EXPECT_TRUE(fs::is_symlink(dir.path() / "link"));
  EXPECT_EQ(read_bytes(dir.path() / "target"), "data");
}

TEST(StateFiles, StaleTempFilesOfOneFileAreRemovedAndCounted) {
  TempDir dir;
  for (const char* name : {".clients.aB3dE9", ".clients.XXXXXX", ".clients.short", ".clients.toolong1", ".other.aB3dE9"}) {
    std::ofstream(dir.path() / name) << "x";
  }
  auto removed = remove_stale_temp_files(dir.path() / "clients");
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(*removed, 2u);
  EXPECT_FALSE(fs::exists(dir.path() / ".clients.aB3dE9"));
  EXPECT_TRUE(fs::exists(dir.path() / ".clients.short"));
  EXPECT_TRUE(fs::exists(dir.path() / ".clients.toolong1"));
  EXPECT_TRUE(fs::exists(dir.path() / ".other.aB3dE9"));
}

}  // namespace
}  // namespace ttygate
