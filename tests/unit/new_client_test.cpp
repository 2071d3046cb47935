// SPDX-License-Identifier: Apache-2.0
// NewClient: the one check of a client added by hand (ttygated --add-client and AddClient on
// D-Bus): every refusal is a Refusal that says what was wrong, and leaves the store and its file
// as they were.
#include "daemon/new_client.hpp"

#include <string>

#include <gtest/gtest.h>

#include "daemon/refusal.hpp"
#include "tests/unit/temp_dir.hpp"

namespace ttygate::daemon {
namespace {

namespace fs = std::filesystem;
using test_support::read_bytes;

constexpr std::int64_t kNow = 1700000000;

std::string fixture(const std::string& name) { return read_bytes(fs::path(TTYGATE_TEST_DATA) / name); }

class NewClientTest : public testing::Test {
 protected:
  void SetUp() override {
    auto opened = ClientStore::open(dir_.path() / "clients");
    ASSERT_TRUE(opened.ok()) << opened.error().message();
    store_.emplace(std::move(*opened));
    auto laptop = add_new_client(*store_, {.pem = fixture("shared-key-a.crt"), .name = "laptop", .role = "control"}, 1);
    ASSERT_TRUE(laptop.ok()) << laptop.error().message();
  }

  test_support::TempDir dir_{"ttygate-new-client"};
  std::optional<ClientStore> store_;
};

TEST_F(NewClientTest, AddsTheClientWithThePinOfItsCertificate) {
  auto added = add_new_client(*store_, {.pem = fixture("ecdsa-p256.crt"), .name = "bench 3", .role = "monitor"}, kNow);
  ASSERT_TRUE(added.ok()) << added.error().message();
  EXPECT_EQ(ktls::pin_hex(added->pin), "71017cbc1ac055046f86bc64c4f1a555738cd30968a5b45fdf4b997c6224b7bb");
  EXPECT_EQ(added->name, "bench 3");
  EXPECT_EQ(added->role, Role::monitor);
  EXPECT_EQ(added->added_at, kNow);
  EXPECT_EQ(added->last_seen, 0);
  ASSERT_NE(store_->find(added->pin), nullptr);
  auto reopened = ClientStore::open(dir_.path() / "clients");
  ASSERT_TRUE(reopened.ok());
  EXPECT_EQ(reopened->clients().size(), 2u) << "the client is on disk, not only in memory";
}

struct Refused {
  std::string what;
  std::string pem_file;
  std::string name;
  std::string role;
  Refusal code;
  std::string context;  // exact, or a prefix when it ends in "..."
};

void PrintTo(const Refused& r, std::ostream* out) { *out << r.what; }

class ARefusedClient : public NewClientTest, public testing::WithParamInterface<Refused> {};

TEST_P(ARefusedClient, IsRefusedSayingWhyAndChangesNothing) {
  const std::string before = read_bytes(dir_.path() / "clients");
  const Refused& c = GetParam();
  auto added = add_new_client(*store_, {.pem = fixture(c.pem_file), .name = c.name, .role = c.role}, kNow);
  ASSERT_FALSE(added.ok());
  EXPECT_EQ(added.error().code(), make_error_code(c.code));
  if (c.context.ends_with("...")) {
    EXPECT_TRUE(added.error().context().starts_with(c.context.substr(0, c.context.size() - 3)))
        << added.error().context();
  } else {
    EXPECT_EQ(added.error().context(), c.context);
  }
  EXPECT_EQ(read_bytes(dir_.path() / "clients"), before);
  EXPECT_EQ(store_->clients().size(), 1u);
}

const std::string kRule = " is not 1 to 64 printable ASCII characters without leading or trailing spaces";

INSTANTIATE_TEST_SUITE_P(
    NewClient, ARefusedClient,
    testing::Values(
        Refused{"unknown role", "ecdsa-p256.crt", "phone", "admin", Refusal::invalid_args,
                "role \"admin\" (expected control or monitor)"},
        Refused{"role checked first", "junk.pem", "", "Control", Refusal::invalid_args,
                "role \"Control\" (expected control or monitor)"},
        Refused{"empty name", "ecdsa-p256.crt", "", "control", Refusal::invalid_args, "name \"\"" + kRule},
        Refused{"name before certificate", "junk.pem", "tab\there", "control", Refusal::invalid_args,
                "name \"tab\\x09here\"" + kRule},
        Refused{"not a certificate", "junk.pem", "phone", "control", Refusal::invalid_args, "certificate: ..."},
        Refused{"a certificate that is not DER", "broken-certificate.pem", "phone", "control", Refusal::invalid_args,
                "certificate: ..."},
        Refused{"key already paired", "shared-key-b.crt", "phone", "control", Refusal::already_exists,
                "this key is already paired as \"laptop\""},
        Refused{"name taken", "ecdsa-p256.crt", "laptop", "monitor", Refusal::already_exists,
                "name \"laptop\" is taken"}),
    [](const testing::TestParamInfo<Refused>& info) {
      std::string name;
      for (char c : info.param.what) name += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
      return name;
    });

TEST_F(NewClientTest, NamesTheCertificateBySourceInMessages) {
  auto added = add_new_client(
      *store_, {.pem = fixture("junk.pem"), .source = "/tmp/phone.pem", .name = "phone", .role = "control"}, kNow);
  ASSERT_FALSE(added.ok());
  EXPECT_TRUE(added.error().context().starts_with("/tmp/phone.pem: ")) << added.error().context();
}

TEST_F(NewClientTest, RefusesSeveralCertificatesOrAKeyWithTheCertificate) {
  const std::string before = read_bytes(dir_.path() / "clients");
  for (const std::string& pem : {fixture("ecdsa-p256.crt") + fixture("rsa-2048.crt"),
                                 fixture("rsa-2048.crt") + fixture("ecdsa-p256.crt"),
                                 std::string("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n") +
                                     fixture("ecdsa-p256.crt")}) {
    auto added = add_new_client(*store_, {.pem = pem, .name = "phone", .role = "control"}, kNow);
    ASSERT_FALSE(added.ok());
    EXPECT_EQ(added.error().code(), make_error_code(Refusal::invalid_args));
    EXPECT_NE(added.error().context().find("exactly one certificate"), std::string::npos) << added.error().context();
  }
  EXPECT_EQ(read_bytes(dir_.path() / "clients"), before);
  EXPECT_EQ(store_->clients().size(), 1u);
}

TEST(RoleArgument, AcceptsTheTwoRolesOnly) {
  EXPECT_EQ(*role_argument("control"), Role::control);
  EXPECT_EQ(*role_argument("monitor"), Role::monitor);
  auto bad = role_argument("");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code(), make_error_code(Refusal::invalid_args));
  EXPECT_EQ(bad.error().context(), "role \"\" (expected control or monitor)");
}

}  // namespace
}  // namespace ttygate::daemon
