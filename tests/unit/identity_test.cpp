// SPDX-License-Identifier: Apache-2.0
// Identity: creation, reloading, and refusal of every key or certificate file that looks wrong,
// always leaving those files exactly as they were.
#include "ktls/identity.hpp"

#include <gtest/gtest.h>

#include "tests/unit/temp_dir.hpp"
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <cstdio>
#include <fstream>
#include <sstream>

namespace ttygate::ktls {
namespace {

namespace fs = std::filesystem;

class TempDir : public ttygate::test_support::TempDir {
 public:
  TempDir() : ttygate::test_support::TempDir("ttygate-identity") {}
};

using ttygate::test_support::read_bytes;

void write_bytes(const fs::path& path, const std::string& bytes, mode_t mode = 0600) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
  ::chmod(path.c_str(), mode);
}

mode_t mode_of(const fs::path& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

std::string fixture(const std::string& name) { return read_bytes(fs::path(TTYGATE_TEST_DATA) / name); }

std::string key_pem(EVP_PKEY* key, const EVP_CIPHER* cipher = nullptr, const char* passphrase = nullptr) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(bio.get(), key, cipher, nullptr, 0, nullptr, const_cast<char*>(passphrase));
  char* data = nullptr;
  long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(size));
}

// The pin as the openssl CLI computes it, independently of pin.cpp.
std::string openssl_pin(const fs::path& cert) {
  std::string command = "openssl x509 -in '" + cert.string() +
                        "' -pubkey -noout | openssl pkey -pubin -outform DER | sha256sum";
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return {};
  char out[128] = {};
  std::size_t n = std::fread(out, 1, sizeof out - 1, pipe);
  ::pclose(pipe);
  return std::string(out, n).substr(0, 64);
}

std::string common_name(X509* cert) {
  char name[256] = {};
  X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, name, sizeof name);
  return name;
}

// What each entry point says about the same files; neither may accept them.
std::vector<Result<Identity>> both_loaders(const IdentityFiles& files) {
  std::vector<Result<Identity>> results;
  results.push_back(load_or_create_identity(files, "gateway-test"));
  results.push_back(load_identity(files));
  return results;
}

class IdentityTest : public testing::Test {
 protected:
  Identity create(const std::string& name = "gateway-test") {
    auto identity = load_or_create_identity(files_, name);
    EXPECT_TRUE(identity.ok()) << identity.error().message();
    if (!identity.ok()) std::abort();
    return std::move(identity).value();
  }

  TempDir dir_;
  fs::path state_ = dir_.path() / "state" / "ttygate";
  IdentityFiles files_ = identity_files(state_, "gateway");
};

using IdentityCreation = IdentityTest;

TEST_F(IdentityCreation, WritesAnOwnerOnlyKeyInANewPrivateDirectory) {
  mode_t old = ::umask(0);
  auto identity = load_or_create_identity(files_, "gateway-test");
  ::umask(old);
  ASSERT_TRUE(identity.ok()) << identity.error().message();
  EXPECT_EQ(files_.key, state_ / "gateway.key");
  EXPECT_EQ(files_.certificate, state_ / "gateway.crt");
  EXPECT_EQ(mode_of(state_), 0700u);
  EXPECT_EQ(mode_of(state_.parent_path()), 0700u);
  EXPECT_EQ(mode_of(files_.key), 0600u);
  EXPECT_EQ(mode_of(files_.certificate), 0644u);
  EXPECT_EQ(read_bytes(files_.key).rfind("-----BEGIN PRIVATE KEY-----\n", 0), 0u);
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(state_)) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"gateway.crt", "gateway.key"}));
}

TEST_F(IdentityCreation, MakesAP256KeyAndASelfSignedV3Certificate) {
  Identity identity = create("bench gateway");
  EXPECT_EQ(EVP_PKEY_get_id(identity.key.get()), EVP_PKEY_EC);
  char group[64] = {};
  ASSERT_EQ(EVP_PKEY_get_group_name(identity.key.get(), group, sizeof group, nullptr), 1);
  EXPECT_STREQ(group, "prime256v1");

  X509* cert = identity.certificate.get();
  EXPECT_EQ(common_name(cert), "bench gateway");
  EXPECT_EQ(X509_NAME_cmp(X509_get_subject_name(cert), X509_get_issuer_name(cert)), 0);
  EXPECT_EQ(X509_get_version(cert), X509_VERSION_3);
  EXPECT_EQ(X509_get_signature_nid(cert), NID_ecdsa_with_SHA256);
  EXPECT_EQ(X509_verify(cert, identity.key.get()), 1);
  EXPECT_EQ(X509_check_ca(cert), 0);

  const ASN1_INTEGER* serial = X509_get0_serialNumber(cert);
  EXPECT_GE(serial->length, 16);
  EXPECT_EQ(serial->type, V_ASN1_INTEGER);  // positive

  int days = 0, seconds = 0;
  ASSERT_EQ(ASN1_TIME_diff(&days, &seconds, X509_get0_notBefore(cert), X509_get0_notAfter(cert)), 1);
  EXPECT_GE(days, 99 * 365);
}

TEST_F(IdentityCreation, PinsTheKeyAsTheOpensslCliDoes) {
  Identity identity = create();
  auto cert_pin = pin_of(identity.certificate.get());
  ASSERT_TRUE(cert_pin.ok());
  EXPECT_EQ(*cert_pin, identity.pin);
  std::string expected = openssl_pin(files_.certificate);
  if (expected.size() != 64) GTEST_SKIP() << "openssl CLI not available";
  EXPECT_EQ(pin_hex(identity.pin), expected);
}

TEST_F(IdentityCreation, GivesEveryMachineItsOwnKeyAndSerial) {
  Identity first = create();
  TempDir other;
  auto second = load_or_create_identity(identity_files(other.path(), "gateway"), "gateway-test");
  ASSERT_TRUE(second.ok());
  EXPECT_NE(first.pin, second->pin);
  EXPECT_NE(ASN1_INTEGER_cmp(X509_get0_serialNumber(first.certificate.get()),
                             X509_get0_serialNumber(second->certificate.get())),
            0);
}

TEST_F(IdentityCreation, RefusesAnOverlongCommonNameAndWritesNothing) {
  auto identity = load_or_create_identity(files_, std::string(65, 'n'));
  ASSERT_FALSE(identity.ok());
  EXPECT_EQ(identity.error().code(), std::errc::invalid_argument);
  EXPECT_FALSE(fs::exists(files_.key));
  EXPECT_FALSE(fs::exists(files_.certificate));
}

using IdentityLoading = IdentityTest;

TEST_F(IdentityLoading, ReloadsTheSamePinWithoutRewritingAnything) {
  Identity created = create();
  const std::string key = read_bytes(files_.key);
  const std::string cert = read_bytes(files_.certificate);
  Identity again = create();
  EXPECT_EQ(again.pin, created.pin);
  auto loaded = load_identity(files_);
  ASSERT_TRUE(loaded.ok()) << loaded.error().message();
  EXPECT_EQ(loaded->pin, created.pin);
  EXPECT_EQ(EVP_PKEY_eq(loaded->key.get(), created.key.get()), 1);
  EXPECT_EQ(read_bytes(files_.key), key);
  EXPECT_EQ(read_bytes(files_.certificate), cert);
}

TEST_F(IdentityLoading, NeverCreatesWithLoadIdentity) {
  auto loaded = load_identity(files_);
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.error().code(), std::errc::no_such_file_or_directory);
  EXPECT_NE(loaded.error().message().find(files_.key.string()), std::string::npos);
  EXPECT_FALSE(fs::exists(state_));
}

TEST_F(IdentityLoading, AcceptsAKeyOnlyItsOwnerCanRead) {
  Identity created = create();
  ::chmod(files_.key.c_str(), 0400);
  auto loaded = load_or_create_identity(files_, "gateway-test");
  ASSERT_TRUE(loaded.ok()) << loaded.error().message();
  EXPECT_EQ(loaded->pin, created.pin);
}

class IdentityKeyMode : public IdentityTest, public testing::WithParamInterface<mode_t> {};

TEST_P(IdentityKeyMode, RefusesAKeyOthersCanReadNamingTheFileItsModeAndTheFix) {
  create();
  ASSERT_EQ(::chmod(files_.key.c_str(), GetParam()), 0);
  const std::string key = read_bytes(files_.key);
  char mode[8];
  std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(GetParam()));
  for (const auto& loaded : both_loaders(files_)) {
    ASSERT_FALSE(loaded.ok());
    EXPECT_EQ(loaded.error().code(), std::errc::permission_denied);
    const std::string message = loaded.error().message();
    EXPECT_NE(message.find(files_.key.string() + ": mode " + mode), std::string::npos) << message;
    EXPECT_NE(message.find("chmod 600 " + files_.key.string()), std::string::npos) << message;
  }
  EXPECT_EQ(read_bytes(files_.key), key);
  EXPECT_EQ(mode_of(files_.key), GetParam());
}

INSTANTIATE_TEST_SUITE_P(Modes, IdentityKeyMode, testing::Values(0644, 0640, 0604, 0660, 0666, 0610, 0601));

struct CorruptKey {
  const char* what;
  std::string bytes;
};

class IdentityCorruptKey : public IdentityTest, public testing::WithParamInterface<CorruptKey> {};

TEST_P(IdentityCorruptKey, IsRefusedNamingTheFileAndLeftByteIdentical) {
  fs::create_directories(state_);
  write_bytes(files_.key, GetParam().bytes);
  auto loaded = load_or_create_identity(files_, "gateway-test");
  ASSERT_FALSE(loaded.ok()) << GetParam().what;
  EXPECT_NE(loaded.error().message().find(files_.key.string() + ": not a readable PEM private key"),
            std::string::npos)
      << loaded.error().message();
  EXPECT_EQ(read_bytes(files_.key), GetParam().bytes);
  EXPECT_FALSE(fs::exists(files_.certificate)) << "a certificate was made for a key that does not load";
}

std::string truncated_key() {
  EvpPkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  std::string pem = key_pem(key.get());
  std::size_t end = pem.find("-----END");
  return pem.substr(0, end / 2) + "\n" + pem.substr(end);
}

// An encrypted key must fail, not stop start-up waiting for a passphrase on a terminal.
std::string encrypted_key() {
  EvpPkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  return key_pem(key.get(), EVP_aes_256_cbc(), "secret");
}

INSTANTIATE_TEST_SUITE_P(
    Contents, IdentityCorruptKey,
    testing::Values(CorruptKey{"empty", ""}, CorruptKey{"junk", fixture("junk.pem")},
                    CorruptKey{"truncated", truncated_key()},
                    CorruptKey{"a certificate instead of a key", fixture("ecdsa-p256.crt")},
                    CorruptKey{"encrypted", encrypted_key()}),
    [](const testing::TestParamInfo<CorruptKey>& info) {
      std::string name = info.param.what;
      for (char& c : name) {
        if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
      }
      return name;
    });

TEST_F(IdentityLoading, RemakesAMissingCertificateFromTheKeyKeepingThePin) {
  Identity created = create("old name");
  const std::string key = read_bytes(files_.key);
  fs::remove(files_.certificate);
  Identity remade = create("new name");
  EXPECT_EQ(remade.pin, created.pin);
  EXPECT_EQ(read_bytes(files_.key), key);
  auto cert = parse_certificate_pem(read_bytes(files_.certificate));
  ASSERT_TRUE(cert.ok()) << cert.error().message();
  EXPECT_EQ(*pin_of(cert->get()), created.pin);
  EXPECT_EQ(common_name(cert->get()), "new name");
  EXPECT_EQ(X509_verify(cert->get(), remade.key.get()), 1);
}

TEST_F(IdentityLoading, MakesACertificateForAnEd25519KeyFromAnotherTool) {
  fs::create_directories(state_);
  EvpPkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  ASSERT_TRUE(key);
  write_bytes(files_.key, key_pem(key.get()));
  Identity identity = create();
  EXPECT_EQ(identity.pin, *pin_of(key.get()));
  EXPECT_EQ(X509_get_signature_nid(identity.certificate.get()), NID_ED25519);
  EXPECT_EQ(X509_verify(identity.certificate.get(), key.get()), 1);
}

TEST_F(IdentityLoading, RefusesACertificateThatDoesNotMatchTheKey) {
  create();
  const std::string key = read_bytes(files_.key);
  const std::string foreign = fixture("ecdsa-p256.crt");
  write_bytes(files_.certificate, foreign, 0644);
  for (const auto& loaded : both_loaders(files_)) {
    ASSERT_FALSE(loaded.ok());
    const std::string message = loaded.error().message();
    EXPECT_EQ(message.rfind(files_.certificate.string() + ": its public key is not the one of " + files_.key.string(), 0),
              0u)
        << message;
  }
  EXPECT_EQ(read_bytes(files_.certificate), foreign);
  EXPECT_EQ(read_bytes(files_.key), key);
}

TEST_F(IdentityLoading, RefusesAnUnparsableCertificateNamingTheFile) {
  create();
  const std::string junk = fixture("junk.pem");
  write_bytes(files_.certificate, junk, 0644);
  auto loaded = load_or_create_identity(files_, "gateway-test");
  ASSERT_FALSE(loaded.ok());
  EXPECT_NE(loaded.error().message().find(files_.certificate.string() + ": no certificate found in PEM"),
            std::string::npos)
      << loaded.error().message();
  EXPECT_EQ(read_bytes(files_.certificate), junk);
}

TEST_F(IdentityLoading, RefusesToReplaceAKeyThatVanishedBesideItsCertificate) {
  create();
  const std::string cert = read_bytes(files_.certificate);
  fs::remove(files_.key);
  auto loaded = load_or_create_identity(files_, "gateway-test");
  ASSERT_FALSE(loaded.ok());
  EXPECT_NE(loaded.error().message().find(files_.key.string() + " is missing"), std::string::npos)
      << loaded.error().message();
  EXPECT_FALSE(fs::exists(files_.key));
  EXPECT_EQ(read_bytes(files_.certificate), cert);
}

}  // namespace
}  // namespace ttygate::ktls
