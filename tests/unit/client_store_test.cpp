// SPDX-License-Identifier: Apache-2.0
// ClientStore: the file format, its strict parsing, and the promise that a refused change or a
// failed write leaves both the file and the store as they were.
#include "daemon/client_store.hpp"

#include <gtest/gtest.h>

#include "common/escape.hpp"

#include "tests/unit/temp_dir.hpp"
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace ttygate::daemon {
namespace {

namespace fs = std::filesystem;

class TempDir : public ttygate::test_support::TempDir {
 public:
  TempDir() : ttygate::test_support::TempDir("ttygate-store") {}
};

using ttygate::test_support::read_bytes;

void write_bytes(const fs::path& path, const std::string& bytes, fs::perms perms = fs::perms::owner_read | fs::perms::owner_write) {
  std::ofstream(path, std::ios::binary) << bytes;
  fs::permissions(path, perms);
}

std::vector<std::string> entries(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

ktls::Pin pin(std::uint8_t seed) {
  ktls::Pin p;
  for (std::size_t i = 0; i < p.size(); ++i) p[i] = static_cast<std::uint8_t>(seed + i);
  return p;
}

Client client(std::uint8_t seed, std::string name, Role role = Role::control) {
  Client c;
  c.pin = pin(seed);
  c.name = std::move(name);
  c.role = role;
  c.added_at = 1700000000 + seed;
  return c;
}

class ClientStoreTest : public testing::Test {
 protected:
  ClientStore open_store() {
    auto store = ClientStore::open(file_);
    EXPECT_TRUE(store.ok()) << store.error().message();
    if (!store.ok()) std::abort();
    return std::move(store).value();
  }

  TempDir dir_;
  fs::path file_ = dir_.path() / "clients";
};

using ClientStoreFile = ClientStoreTest;

TEST_F(ClientStoreFile, MissingIsAnEmptyStoreAndIsNotCreatedByOpening) {
  ClientStore store = open_store();
  EXPECT_TRUE(store.clients().empty());
  EXPECT_FALSE(fs::exists(file_));
}

TEST_F(ClientStoreFile, RoundTripsEveryField) {
  {
    ClientStore store = open_store();
    ASSERT_TRUE(store.add(client(1, "Anna's laptop (2)")).ok());
    ASSERT_TRUE(store.add(client(2, "bench-scope", Role::monitor)).ok());
    ASSERT_TRUE(store.touch(pin(1), 1800000000).ok());
    ASSERT_TRUE(store.set_role(pin(2), Role::control).ok());
  }
  ClientStore store = open_store();
  ASSERT_EQ(store.clients().size(), 2u);
  const Client* anna = store.find(pin(1));
  ASSERT_NE(anna, nullptr);
  EXPECT_EQ(anna->name, "Anna's laptop (2)");
  EXPECT_EQ(anna->role, Role::control);
  EXPECT_EQ(anna->added_at, 1700000001);
  EXPECT_EQ(anna->last_seen, 1800000000);
  const Client* scope = store.find_by_name("bench-scope");
  ASSERT_NE(scope, nullptr);
  EXPECT_EQ(scope->pin, pin(2));
  EXPECT_EQ(scope->role, Role::control);
  EXPECT_EQ(scope->last_seen, 0);
}

TEST_F(ClientStoreFile, HasTheDocumentedFormat) {
  ClientStore store = open_store();
  ASSERT_TRUE(store.add(client(0, "toy controller")).ok());
  EXPECT_EQ(read_bytes(file_),
            "# ttygate clients v1\n"
            "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f control 1700000000 0 toy controller\n");
}

TEST_F(ClientStoreFile, IsWrittenOwnerOnlyWhateverTheUmask) {
  mode_t old = ::umask(0);
  ClientStore store = open_store();
  auto added = store.add(client(1, "a"));
  ::umask(old);
  ASSERT_TRUE(added.ok()) << added.error().message();
  struct stat st {};
  ASSERT_EQ(::stat(file_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
}

struct CorruptFile {
  const char* what;
  std::string bytes;
  const char* where;    // ":<line>: "
  std::string problem;  // part of the problem text
};

// The one wording of the name rule (daemon/names.hpp), after 'name "<name>" '.
const std::string kNameRule = "is not 1 to 64 printable ASCII characters without leading or trailing spaces";

// "duplicate pin" -> "duplicate_pin", for test names.
std::string identifier(std::string_view text) {
  std::string out;
  for (char c : text) out += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  return out;
}

void PrintTo(const CorruptFile& file, std::ostream* out) { *out << file.what; }

class ClientStoreCorrupt : public testing::TestWithParam<CorruptFile> {};

const std::string header = "# ttygate clients v1\n";
const std::string pin1 = "0101010101010101010101010101010101010101010101010101010101010101";
const std::string pin2 = "0202020202020202020202020202020202020202020202020202020202020202";
const std::string good = pin1 + " control 1700000000 0 laptop\n";

TEST_P(ClientStoreCorrupt, RefusesACorruptFileAndLeavesItUntouched) {
  TempDir dir;
  fs::path file = dir.path() / "clients";
  write_bytes(file, GetParam().bytes);
  auto store = ClientStore::open(file);
  ASSERT_FALSE(store.ok()) << GetParam().what;
  const std::string message = store.error().message();
  EXPECT_EQ(message.rfind(file.string() + GetParam().where, 0), 0u) << GetParam().what << ": " << message;
  EXPECT_NE(message.find(GetParam().problem), std::string::npos) << GetParam().what << ": " << message;
  EXPECT_EQ(store.error().code(), GetParam().problem == "already" ? std::errc::file_exists
                                                                                    : std::errc::invalid_argument)
      << GetParam().what;
  EXPECT_EQ(read_bytes(file), GetParam().bytes);
  EXPECT_EQ(entries(dir.path()), (std::vector<std::string>{"clients", "clients.lock"}));
}

INSTANTIATE_TEST_SUITE_P(
    Lines, ClientStoreCorrupt,
    testing::Values(
        CorruptFile{"empty file", "", ":1: ", "missing header"},
        CorruptFile{"foreign header", "clients\n" + good, ":1: ", "missing header"},
        CorruptFile{"newer format", "# ttygate clients v2\n" + good, ":1: ", "unsupported format"},
        CorruptFile{"blank line", header + good + "\n", ":3: ", "empty line"},
        CorruptFile{"comment line", header + "# note\n", ":2: ", "expected"},
        CorruptFile{"too few fields", header + pin1 + " control 1700000000\n", ":2: ", "expected"},
        CorruptFile{"uppercase pin", header + "AB" + pin1.substr(2) + " control 1 0 x\n", ":2: ", "pin"},
        CorruptFile{"short pin", header + pin1.substr(1) + " control 1 0 x\n", ":2: ", "pin"},
        CorruptFile{"fingerprint instead of hex", header + "AEAQ-CAIB control 1 0 x\n", ":2: ", "pin"},
        CorruptFile{"unknown role", header + pin1 + " admin 1 0 x\n", ":2: ", "unknown role \"admin\""},
        CorruptFile{"negative added_at", header + pin1 + " control -1 0 x\n", ":2: ", "added_at"},
        CorruptFile{"added_at with a leading zero", header + pin1 + " control 01 0 x\n", ":2: ", "added_at"},
        CorruptFile{"added_at overflowing", header + pin1 + " control 99999999999999999999 0 x\n", ":2: ", "added_at"},
        CorruptFile{"last_seen not a number", header + pin1 + " control 1 soon x\n", ":2: ", "last_seen"},
        CorruptFile{"two spaces between fields", header + pin1 + "  control 1 0 x\n", ":2: ", "unknown role \"\""},
        CorruptFile{"empty name", header + pin1 + " control 1 0 \n", ":2: ", "name \"\" " + kNameRule},
        CorruptFile{"name with an escape sequence", header + pin1 + " control 1 0 \x1b[31mred\n", ":2: ",
                    "name \"\\x1b[31mred\" " + kNameRule},
        CorruptFile{"name with a trailing space", header + pin1 + " control 1 0 x \n", ":2: ", "name \"x \" " + kNameRule},
        CorruptFile{"name too long", header + pin1 + " control 1 0 " + std::string(65, 'n') + "\n", ":2: ",
                    "name \"" + std::string(65, 'n') + "\" " + kNameRule},
        CorruptFile{"CRLF line ending", header + pin1 + " control 1 0 x\r\n", ":2: ", "name \"x\\x0d\" " + kNameRule},
        CorruptFile{"duplicate pin", header + good + pin1 + " monitor 1 0 other\n", ":3: ", "already"},
        CorruptFile{"duplicate name", header + good + pin2 + " monitor 1 0 laptop\n", ":3: ", "already"},
        CorruptFile{"no final newline", header + good + pin2 + " monitor 1 0 other", ":3: ", "newline"}),
    [](const testing::TestParamInfo<CorruptFile>& info) { return identifier(info.param.what); });

TEST_F(ClientStoreFile, RefusesAFileOthersCanWriteAndSaysHowToFixIt) {
  std::string bytes = header + good;
  write_bytes(file_, bytes, fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_write);
  auto store = ClientStore::open(file_);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.error().code(), std::errc::permission_denied);
  EXPECT_NE(store.error().message().find(file_.string() + ": mode 0620"), std::string::npos) << store.error().message();
  EXPECT_NE(store.error().message().find("chmod 600 " + file_.string()), std::string::npos);
  EXPECT_EQ(read_bytes(file_), bytes);
}

TEST_F(ClientStoreFile, LoadsAFileItDidNotWriteItselfWhenItIsWellFormed) {
  write_bytes(file_, header + good + pin2 + " monitor 1700000001 1700000099 scope  on bench\n");
  ClientStore store = open_store();
  ASSERT_EQ(store.clients().size(), 2u);
  EXPECT_EQ(store.clients()[1].name, "scope  on bench");
  EXPECT_EQ(store.clients()[1].role, Role::monitor);
  EXPECT_EQ(store.clients()[1].last_seen, 1700000099);
}

using ClientStoreChanges = ClientStoreTest;

TEST_F(ClientStoreChanges, RefuseADuplicatePinAndLeaveTheFileUnchanged) {
  ClientStore store = open_store();
  ASSERT_TRUE(store.add(client(1, "laptop")).ok());
  const std::string before = read_bytes(file_);
  auto added = store.add(client(1, "another name"));
  ASSERT_FALSE(added.ok());
  EXPECT_EQ(added.error().code(), std::errc::file_exists);
  EXPECT_EQ(read_bytes(file_), before);
  EXPECT_EQ(store.clients().size(), 1u);
  EXPECT_EQ(store.find_by_name("another name"), nullptr);
}

TEST_F(ClientStoreChanges, RefuseADuplicateNameAndLeaveTheFileUnchanged) {
  ClientStore store = open_store();
  ASSERT_TRUE(store.add(client(1, "laptop")).ok());
  ASSERT_TRUE(store.add(client(2, "desktop")).ok());
  const std::string before = read_bytes(file_);
  auto added = store.add(client(3, "laptop"));
  ASSERT_FALSE(added.ok());
  EXPECT_EQ(added.error().code(), std::errc::file_exists);
  auto renamed = store.rename(pin(2), "laptop");
  ASSERT_FALSE(renamed.ok());
  EXPECT_EQ(renamed.error().code(), std::errc::file_exists);
  EXPECT_EQ(read_bytes(file_), before);
  EXPECT_EQ(store.find(pin(3)), nullptr);
  EXPECT_EQ(store.find(pin(2))->name, "desktop");
}

TEST_F(ClientStoreChanges, RefuseInvalidNamesWithInvalidArgument) {
  ClientStore store = open_store();
  ASSERT_TRUE(store.add(client(1, "laptop")).ok());
  const std::string before = read_bytes(file_);
  for (std::string bad : {std::string(), std::string(" lead"), std::string("trail "), std::string("new\nline"),
                          std::string(65, 'x'), std::string("caf\xc3\xa9")}) {
    auto added = store.add(client(2, bad));
    ASSERT_FALSE(added.ok()) << bad;
    EXPECT_EQ(added.error().code(), std::errc::invalid_argument) << bad;
    EXPECT_EQ(added.error().context(), "name " + shown(bad) + " " + kNameRule);
    auto renamed = store.rename(pin(1), bad);
    ASSERT_FALSE(renamed.ok()) << bad;
    EXPECT_EQ(renamed.error().code(), std::errc::invalid_argument) << bad;
    EXPECT_EQ(renamed.error().context(), "name " + shown(bad) + " " + kNameRule);
  }
  EXPECT_EQ(read_bytes(file_), before);
  EXPECT_EQ(store.clients().size(), 1u);
  EXPECT_EQ(store.clients()[0].name, "laptop");
}

TEST_F(ClientStoreChanges, ReportAnUnknownPinAsNoSuchClient) {
  ClientStore store = open_store();
  ASSERT_TRUE(store.add(client(1, "laptop")).ok());
  const std::string before = read_bytes(file_);
  for (const Result<void>& result : {store.remove(pin(9)), store.rename(pin(9), "x"),
                                     store.set_role(pin(9), Role::monitor), store.touch(pin(9), 5)}) {
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.error().code(), std::errc::no_such_file_or_directory);
    EXPECT_NE(result.error().message().find(ktls::fingerprint(pin(9))), std::string::npos);
  }
  EXPECT_EQ(read_bytes(file_), before);
}

TEST_F(ClientStoreChanges, RemoveForgetsTheClientInMemoryAndOnDisk) {
  ClientStore store = open_store();
  ASSERT_TRUE(store.add(client(1, "laptop")).ok());
  ASSERT_TRUE(store.add(client(2, "desktop")).ok());
  ASSERT_TRUE(store.remove(pin(1)).ok());
  EXPECT_EQ(store.find(pin(1)), nullptr);
  ClientStore reopened = open_store();
  ASSERT_EQ(reopened.clients().size(), 1u);
  EXPECT_EQ(reopened.clients()[0].name, "desktop");
}

TEST_F(ClientStoreChanges, LeaveNoTemporaryFilesBehind) {
  ClientStore store = open_store();
  for (std::uint8_t i = 0; i < 20; ++i) ASSERT_TRUE(store.add(client(i, "client " + std::to_string(i))).ok());
  for (std::uint8_t i = 0; i < 20; i += 2) ASSERT_TRUE(store.remove(pin(i)).ok());
  ASSERT_TRUE(store.rename(pin(1), "renamed").ok());
  ASSERT_TRUE(store.touch(pin(3), 1900000000).ok());
  EXPECT_EQ(entries(dir_.path()), (std::vector<std::string>{"clients", "clients.lock"}));
}

// Fails the write itself, as a full disk would: RLIMIT_FSIZE makes write() return EFBIG for any
// file that would grow past the old file's size. Works as root too, unlike a read-only directory.
TEST_F(ClientStoreChanges, KeepTheOldFileAndMemoryWhenTheWriteFails) {
  ClientStore store = open_store();
  ASSERT_TRUE(store.add(client(1, "laptop")).ok());
  const std::string before = read_bytes(file_);

  auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  rlimit old_limit{};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old_limit), 0);
  rlimit small = old_limit;
  small.rlim_cur = before.size();
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
  auto added = store.add(client(2, "desktop"));
  ::setrlimit(RLIMIT_FSIZE, &old_limit);
  std::signal(SIGXFSZ, old_handler);

  ASSERT_FALSE(added.ok());
  EXPECT_EQ(added.error().code(), std::errc::file_too_large) << added.error().message();
  EXPECT_EQ(read_bytes(file_), before);
  EXPECT_EQ(store.clients().size(), 1u);
  EXPECT_EQ(store.find(pin(2)), nullptr);
  EXPECT_EQ(entries(dir_.path()), (std::vector<std::string>{"clients", "clients.lock"}));
  ASSERT_TRUE(store.add(client(2, "desktop")).ok()) << "the store stays usable once writes work again";
}

TEST_F(ClientStoreChanges, KeepTheOldFileWhenTheDirectoryIsReadOnly) {
  if (::geteuid() == 0) GTEST_SKIP() << "root ignores directory permissions; see KeepTheOldFileAndMemoryWhenTheWriteFails";
  ClientStore store = open_store();
  ASSERT_TRUE(store.add(client(1, "laptop")).ok());
  const std::string before = read_bytes(file_);
  fs::permissions(dir_.path(), fs::perms::owner_read | fs::perms::owner_exec);
  auto added = store.add(client(2, "desktop"));
  fs::permissions(dir_.path(), fs::perms::owner_all);
  ASSERT_FALSE(added.ok());
  EXPECT_EQ(added.error().code(), std::errc::permission_denied);
  EXPECT_EQ(read_bytes(file_), before);
  EXPECT_EQ(store.clients().size(), 1u);
  EXPECT_EQ(entries(dir_.path()), (std::vector<std::string>{"clients", "clients.lock"}));
}

TEST_F(ClientStoreChanges, FailWithoutEffectWhenTheDirectoryHasVanished) {
  fs::path sub = dir_.path() / "state";
  fs::create_directory(sub);
  auto opened = ClientStore::open(sub / "clients");
  ASSERT_TRUE(opened.ok());
  ClientStore store = std::move(opened).value();
  ASSERT_TRUE(store.add(client(1, "laptop")).ok());
  fs::remove_all(sub);
  auto added = store.add(client(2, "desktop"));
  ASSERT_FALSE(added.ok());
  EXPECT_NE(added.error().message().find(sub.string()), std::string::npos) << added.error().message();
  EXPECT_EQ(store.clients().size(), 1u);
  EXPECT_FALSE(fs::exists(sub));
}

TEST_F(ClientStoreChanges, ThatChangeNothingWriteNothing) {
  ClientStore store = open_store();
  ASSERT_TRUE(store.add(client(1, "laptop")).ok());
  fs::remove(file_);  // any write would bring it back
  EXPECT_TRUE(store.rename(pin(1), "laptop").ok());
  EXPECT_TRUE(store.set_role(pin(1), Role::control).ok());
  EXPECT_TRUE(store.touch(pin(1), 0).ok());
  EXPECT_FALSE(fs::exists(file_));
}

TEST(Role, RoundTripsThroughItsName) {
  EXPECT_EQ(to_string(Role::control), "control");
  EXPECT_EQ(to_string(Role::monitor), "monitor");
  EXPECT_EQ(role_from_string("control"), Role::control);
  EXPECT_EQ(role_from_string("monitor"), Role::monitor);
  EXPECT_EQ(role_from_string("Control"), std::nullopt);
  EXPECT_EQ(role_from_string("admin"), std::nullopt);
}

}  // namespace
}  // namespace ttygate::daemon

namespace {
using ttygate::daemon::Client;
using ttygate::daemon::ClientStore;
}  // namespace

TEST(ClientStoreLastSeen, MarksStayInMemoryUntilFlushed) {
  ttygate::test_support::TempDir dir;
  auto path = dir.path() / "clients";
  auto store = ClientStore::open(path);
  ASSERT_TRUE(store.ok());
  Client c;
  c.pin.fill(7);
  c.name = "laptop";
  c.added_at = 100;
  ASSERT_TRUE(store->add(c).ok());
  auto before = std::filesystem::last_write_time(path);
  const std::string on_disk_before = ttygate::test_support::read_bytes(path);

  store->mark_seen(c.pin, 5000);
  EXPECT_EQ(store->find(c.pin)->last_seen, 5000);
  EXPECT_TRUE(store->unsaved());
  EXPECT_EQ(ttygate::test_support::read_bytes(path), on_disk_before);  // no write on the connection path
  EXPECT_EQ(std::filesystem::last_write_time(path), before);

  ASSERT_TRUE(store->flush().ok());
  EXPECT_FALSE(store->unsaved());
  auto reopened = ClientStore::open(path);
  ASSERT_TRUE(reopened.ok());
  EXPECT_EQ(reopened->find(c.pin)->last_seen, 5000);
}

TEST(ClientStoreLastSeen, AnyOtherChangeWritesPendingMarksToo) {
  ttygate::test_support::TempDir dir;
  auto store = ClientStore::open(dir.path() / "clients");
  ASSERT_TRUE(store.ok());
  Client a, b;
  a.pin.fill(1);
  a.name = "a";
  b.pin.fill(2);
  b.name = "b";
  ASSERT_TRUE(store->add(a).ok());
  store->mark_seen(a.pin, 777);
  ASSERT_TRUE(store->add(b).ok());
  EXPECT_FALSE(store->unsaved());
  auto reopened = ClientStore::open(dir.path() / "clients");
  ASSERT_TRUE(reopened.ok());
  EXPECT_EQ(reopened->find(a.pin)->last_seen, 777);
}
