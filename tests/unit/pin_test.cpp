// SPDX-License-Identifier: Apache-2.0
// Pins of the certificates in tests/data, checked against values computed by the openssl CLI
// (see tests/data/README.md), and the text forms people and files use.
#include "ktls/pin.hpp"

#include <gtest/gtest.h>
#include <openssl/pem.h>

#include <fstream>
#include <sstream>

#include "common/concat.hpp"

namespace ttygate::ktls {
namespace {

std::string read_fixture(const std::string& name) {
  std::ifstream in(std::string(TTYGATE_TEST_DATA) + "/" + name, std::ios::binary);
  EXPECT_TRUE(in) << "missing fixture " << name;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

Pin pin_of_fixture(const std::string& name) {
  auto cert = parse_certificate_pem(read_fixture(name));
  EXPECT_TRUE(cert.ok()) << name << ": " << cert.error().message();
  if (!cert.ok()) return {};
  auto pin = pin_of(cert->get());
  EXPECT_TRUE(pin.ok()) << name << ": " << pin.error().message();
  return pin.ok() ? *pin : Pin{};
}

Pin hex(std::string_view text) {
  auto pin = pin_from_hex(text);
  EXPECT_TRUE(pin.has_value()) << text;
  return pin.value_or(Pin{});
}

// `openssl x509 -pubkey -noout | openssl pkey -pubin -outform DER | sha256sum`
constexpr std::string_view ecdsa_p256_pin =
    "71017cbc1ac055046f86bc64c4f1a555738cd30968a5b45fdf4b997c6224b7bb";
constexpr std::string_view ecdsa_p256_fingerprint =
    "OEAX-ZPA2-YBKQ-I34G-XRSM-J4NF-KVZY-ZUYJ-NCS3-IX67-JOMX-YYRE-W65Q";

struct FixturePin {
  const char* file;
  std::string_view pin;
};

class PinOfFixture : public testing::TestWithParam<FixturePin> {};

TEST_P(PinOfFixture, EqualsTheHashOfTheDerPublicKeyComputedByOpenssl) {
  EXPECT_EQ(pin_hex(pin_of_fixture(GetParam().file)), GetParam().pin);
}

INSTANTIATE_TEST_SUITE_P(
    Fixtures, PinOfFixture,
    testing::Values(
        FixturePin{"ecdsa-p256.crt", ecdsa_p256_pin},
        FixturePin{"ed25519.crt", "e4b2ca9278eb4b37f9aefb1d0908c989eafba15f8873c98d8cafb5725d4da1f3"},
        FixturePin{"rsa-2048.crt", "ce9e8838a1a4ee801ac0bd527eef951e1a9c800a6f4880efa56f4c19804d335d"},
        FixturePin{"expired.crt", "f1ba213a5c52bf028258ec632b95e9f245424417965ed4bca1503cdc6f81462f"},
        FixturePin{"shared-key-a.crt", "e4465c51ea6446a66ef274d11e9873e88b1eec0c8efca1a4960aa980c8fc9146"},
        FixturePin{"shared-key-b.crt", "e4465c51ea6446a66ef274d11e9873e88b1eec0c8efca1a4960aa980c8fc9146"}),
    [](const testing::TestParamInfo<FixturePin>& info) {
      std::string name = info.param.file;
      for (char& c : name) {
        if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
      }
      return name;
    });

TEST(Pin, IsTheSameForTwoCertificatesOfOneKey) {
  Pin a = pin_of_fixture("shared-key-a.crt");
  Pin b = pin_of_fixture("shared-key-b.crt");
  EXPECT_EQ(a, b);
  EXPECT_NE(a, Pin{});
  EXPECT_NE(a, pin_of_fixture("ecdsa-p256.crt"));
}

TEST(Pin, OfAKeyEqualsThePinOfItsCertificate) {
  auto cert = parse_certificate_pem(read_fixture("ed25519.crt"));
  ASSERT_TRUE(cert.ok());
  auto from_key = pin_of(X509_get0_pubkey(cert->get()));
  ASSERT_TRUE(from_key.ok()) << from_key.error().message();
  EXPECT_EQ(pin_hex(*from_key), "e4b2ca9278eb4b37f9aefb1d0908c989eafba15f8873c98d8cafb5725d4da1f3");
}

TEST(Pin, OfNothingIsAnError) {
  EXPECT_FALSE(pin_of(static_cast<X509*>(nullptr)).ok());
  EXPECT_FALSE(pin_of(static_cast<EVP_PKEY*>(nullptr)).ok());
}

TEST(Pin, OfAFreshKeyDiffersFromKeyToKey) {
  EvpPkeyPtr first(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  EvpPkeyPtr second(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  ASSERT_TRUE(first && second);
  auto a = pin_of(first.get());
  auto b = pin_of(second.get());
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(*a, *b);
}

struct BadPem {
  const char* what;
  std::string text;
  const char* message;
};

class ParseCertificatePem : public testing::TestWithParam<BadPem> {};

TEST_P(ParseCertificatePem, RefusesBadInputSayingWhatWasWrong) {
  auto cert = parse_certificate_pem(GetParam().text);
  ASSERT_FALSE(cert.ok()) << GetParam().what;
  EXPECT_NE(cert.error().message().find(GetParam().message), std::string::npos)
      << GetParam().what << ": " << cert.error().message();
}

std::string private_key_pem() {
  EvpPkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(size));
}

std::string truncated_certificate() {
  std::string pem = read_fixture("ecdsa-p256.crt");
  std::size_t end = pem.find("-----END");
  return pem.substr(0, end / 2) + "\n" + pem.substr(end);
}

INSTANTIATE_TEST_SUITE_P(
    Inputs, ParseCertificatePem,
    testing::Values(BadPem{"empty", "", "empty PEM text"},
                    BadPem{"junk", read_fixture("junk.pem"), "no certificate found in PEM"},
                    BadPem{"private key only", private_key_pem(), "no certificate found in PEM"},
                    BadPem{"garbage inside the markers", read_fixture("broken-certificate.pem"),
                           "malformed certificate in PEM"},
                    BadPem{"truncated body", truncated_certificate(), "malformed certificate in PEM"}));

TEST(ParseCertificatePem, FindsTheCertificateAfterOtherBlocks) {
  auto cert = parse_certificate_pem(private_key_pem() + read_fixture("ecdsa-p256.crt"));
  ASSERT_TRUE(cert.ok()) << cert.error().message();
  auto pin = pin_of(cert->get());
  ASSERT_TRUE(pin.ok());
  EXPECT_EQ(pin_hex(*pin), ecdsa_p256_pin);
}

TEST(Fingerprint, IsThirteenGroupsOfFourBase32Letters) {
  std::string text = fingerprint(hex(ecdsa_p256_pin));
  EXPECT_EQ(text, ecdsa_p256_fingerprint);  // python3 base64.b32encode, grouped by hand
  ASSERT_EQ(text.size(), 13u * 4 + 12);
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (i % 5 == 4) {
      EXPECT_EQ(text[i], '-') << i;
    } else {
      EXPECT_TRUE((text[i] >= 'A' && text[i] <= 'Z') || (text[i] >= '2' && text[i] <= '7')) << i;
    }
  }
}

TEST(Fingerprint, RoundTripsThroughPinFromText) {
  std::vector<Pin> pins = {Pin{}, hex(ecdsa_p256_pin)};
  Pin ones;
  ones.fill(0xff);
  pins.push_back(ones);
  for (int seed = 0; seed < 64; ++seed) {
    Pin pin;
    for (std::size_t i = 0; i < pin.size(); ++i) pin[i] = static_cast<std::uint8_t>(seed * 37 + i * 101);
    pins.push_back(pin);
  }
  for (const Pin& pin : pins) {
    EXPECT_EQ(pin_from_text(fingerprint(pin)), pin) << fingerprint(pin);
    EXPECT_EQ(pin_from_text(pin_hex(pin)), pin) << pin_hex(pin);
    EXPECT_EQ(pin_from_hex(pin_hex(pin)), pin) << pin_hex(pin);
  }
}

TEST(PinHex, IsSixtyFourLowercaseDigits) {
  EXPECT_EQ(pin_hex(hex(ecdsa_p256_pin)), ecdsa_p256_pin);
  Pin pin;
  pin.fill(0xab);
  std::string expected;
  for (int i = 0; i < 32; ++i) expected += "ab";
  EXPECT_EQ(pin_hex(pin), expected);
}

TEST(PinFromHex, RefusesWrongLengthsAndNonHexDigits) {
  std::string good(ecdsa_p256_pin);
  EXPECT_FALSE(pin_from_hex(good.substr(1)).has_value());
  EXPECT_FALSE(pin_from_hex(good + "0").has_value());
  EXPECT_FALSE(pin_from_hex(concat({"g", good.substr(1)})).has_value());
  EXPECT_FALSE(pin_from_hex("").has_value());
}

std::string replace_all(std::string text, char from, const std::string& to) {
  std::string out;
  for (char c : text) {
    if (c == from) {
      out += to;
    } else {
      out += c;
    }
  }
  return out;
}

std::string lower(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

std::string upper(std::string text) {
  for (char& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return text;
}

std::string colon_hex(std::string_view hex_text) {
  std::string out;
  for (std::size_t i = 0; i < hex_text.size(); i += 2) {
    if (i > 0) out += ':';
    out += hex_text.substr(i, 2);
  }
  return out;
}

struct TextCase {
  const char* what;
  std::string text;
};

class PinFromTextAccepts : public testing::TestWithParam<TextCase> {};

TEST_P(PinFromTextAccepts, TheWaysPeopleCopyAPin) {
  EXPECT_EQ(pin_from_text(GetParam().text), hex(ecdsa_p256_pin)) << GetParam().what;
}

const std::string fp(ecdsa_p256_fingerprint);

INSTANTIATE_TEST_SUITE_P(
    Variants, PinFromTextAccepts,
    testing::Values(TextCase{"canonical fingerprint", fp},
                    TextCase{"lowercase fingerprint", lower(fp)},
                    TextCase{"fingerprint without separators", replace_all(fp, '-', "")},
                    TextCase{"fingerprint with spaces", replace_all(fp, '-', " ")},
                    TextCase{"fingerprint with colons", replace_all(fp, '-', ":")},
                    TextCase{"fingerprint with surrounding blanks", "  " + fp + "\t"},
                    TextCase{"lowercase hex", std::string(ecdsa_p256_pin)},
                    TextCase{"uppercase hex", upper(std::string(ecdsa_p256_pin))},
                    TextCase{"hex with colons", colon_hex(ecdsa_p256_pin)},
                    TextCase{"uppercase hex with colons", upper(colon_hex(ecdsa_p256_pin))}));

class PinFromTextRefuses : public testing::TestWithParam<TextCase> {};

TEST_P(PinFromTextRefuses, TextThatIsNeitherAFingerprintNorHex) {
  EXPECT_EQ(pin_from_text(GetParam().text), std::nullopt) << GetParam().what << ": " << GetParam().text;
}

INSTANTIATE_TEST_SUITE_P(
    BadInput, PinFromTextRefuses,
    testing::Values(
        TextCase{"empty", ""},
        TextCase{"only separators", "----  ::"},
        TextCase{"one letter short", fp.substr(0, fp.size() - 1)},
        TextCase{"one letter long", fp + "A"},
        TextCase{"letter outside the alphabet (0)", concat({"0", fp.substr(1)})},
        TextCase{"letter outside the alphabet (1)", concat({"1", fp.substr(1)})},
        TextCase{"letter outside the alphabet (8)", concat({"8", fp.substr(1)})},
        TextCase{"non-zero padding bits in the last letter", fp.substr(0, fp.size() - 1) + "R"},
        TextCase{"base32 padding", fp + "===="},
        TextCase{"underscore separators", replace_all(fp, '-', "_")},
        TextCase{"dot separators", replace_all(fp, '-', ".")},
        TextCase{"hex one digit short", std::string(ecdsa_p256_pin.substr(1))},
        TextCase{"hex one digit long", std::string(ecdsa_p256_pin) + "0"},
        TextCase{"hex with a non-hex digit", concat({"x", ecdsa_p256_pin.substr(1)})},
        TextCase{"embedded NUL", fp.substr(0, 10) + std::string(1, '\0') + fp.substr(10)},
        TextCase{"newline inside", fp.substr(0, 4) + "\n" + fp.substr(4)}));

}  // namespace
}  // namespace ttygate::ktls
