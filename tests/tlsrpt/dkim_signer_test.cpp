#include "tlsrpt/dkim_signer.hpp"

#include <doctest/doctest.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <string>
#include <vector>

#include "tests/tlsrpt/test_support.hpp"
#include "tlsrpt/dkim_canon.hpp"

using namespace mtasts;
using namespace mtasts::tlsrpt;
using mtasts::tlsrpt::test::goldenPath;
using mtasts::tlsrpt::test::readFile;

namespace {

// RFC 8463 A.3: the message without its two DKIM-Signature fields, and those fields with
// their b= values cut off (what the signer signed).
struct Rfc8463 {
  std::string message;
  std::string ed25519_field;
  std::string rsa_field;
};

Rfc8463 rfc8463() {
  const std::string signed_message = readFile(goldenPath("rfc8463-signed.eml"));
  const std::size_t rsa = signed_message.find("DKIM-Signature: v=1; a=rsa-sha256");
  const std::size_t from = signed_message.find("From: ");
  REQUIRE(rsa != std::string::npos);
  REQUIRE(from != std::string::npos);
  const auto unsign = [](std::string field) { return field.substr(0, field.find(" b=") + 3); };
  return Rfc8463{signed_message.substr(from), unsign(signed_message.substr(0, rsa)),
                 unsign(signed_message.substr(rsa, from - rsa))};
}

const std::vector<std::string> Rfc8463Names = {"from", "to", "subject", "date", "message-id",
                                               "from", "subject", "date"};

std::string pemOf(EVP_PKEY* key, const EVP_CIPHER* cipher = nullptr) {
  BIO* bio = BIO_new(BIO_s_mem());
  static char pass[] = "secret";
  REQUIRE(PEM_write_bio_PrivateKey(bio, key, cipher, cipher ? reinterpret_cast<unsigned char*>(pass) : nullptr,
                                   cipher ? 6 : 0, nullptr, nullptr) == 1);
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<std::size_t>(len));
  BIO_free(bio);
  return out;
}

std::string sampleMail() {
  return "From: tlsrpt-noreply@sender.example\r\n"
         "To: tlsrpt@example.com\r\n"
         "Subject: Report Domain: example.com Submitter: sender.example Report-ID: <1@sender.example>\r\n"
         "Date: Mon, 30 Nov 2026 00:30:00 +0000\r\n"
         "Message-ID: <1.0@sender.example>\r\n"
         "TLS-Report-Domain: example.com\r\n"
         "TLS-Report-Submitter: sender.example\r\n"
         "TLS-Required: No\r\n"
         "MIME-Version: 1.0\r\n"
         "Content-Type: text/plain\r\n"
         "\r\n"
         "body\r\n";
}

}  // namespace

TEST_CASE("relaxed canonicalization follows RFC 6376 3.4.2 and 3.4.4") {
  CHECK(canonicalHeaderRelaxed("Foo: Bar") == "foo:Bar");
  CHECK(canonicalHeaderRelaxed("Foo: Bar\r\n baz") == "foo:Bar baz");
  CHECK(canonicalHeaderRelaxed("Foo: Bar \t baz") == "foo:Bar baz");
  CHECK(canonicalHeaderRelaxed("Foo  :   Bar \t baz   ") == "foo:Bar baz");
  CHECK(canonicalHeaderRelaxed("B : Y\t\r\n\tZ  ") == "b:Y Z");  // RFC 6376 3.4.5
  CHECK(canonicalHeaderRelaxed("Empty:") == "empty:");
  CHECK(canonicalBodyRelaxed("Foo  \t\r\nbar\r\n") == "Foo\r\nbar\r\n");
  CHECK(canonicalBodyRelaxed("Foo  \t  bar\r\n") == "Foo bar\r\n");
  CHECK(canonicalBodyRelaxed("Foo\r\nbar\r\n\r\n\r\n") == "Foo\r\nbar\r\n");
  CHECK(canonicalBodyRelaxed("Foo\r\n\r\n \r\nbar") == "Foo\r\n\r\n\r\nbar\r\n");
  CHECK(canonicalBodyRelaxed(" C \r\nD \t E\r\n\r\n\r\n") == " C\r\nD E\r\n");  // RFC 6376 3.4.5
  CHECK(canonicalBodyRelaxed("") == "");
  CHECK(canonicalBodyRelaxed("\r\n") == "");
  CHECK(canonicalBodyRelaxed(" \t\r\n\r\n") == "");
}

TEST_CASE("splitMessage keeps folded fields whole and refuses bare line ends") {
  const auto split = splitMessage("A: 1\r\nB: 2\r\n 3\r\n\r\nbody\r\n");
  REQUIRE(split.has_value());
  REQUIRE(split->headers.size() == 2);
  CHECK(split->headers[1].name == "B");
  CHECK(split->headers[1].field == "B: 2\r\n 3");
  CHECK(split->body == "body\r\n");
  CHECK(splitMessage("A: 1\r\n\r\n")->body.empty());
  for (const char* bad : {"A: 1\n\r\n", "A: 1\r\n\r\nx\ny", "A: 1\r\r\n\r\n", "A: 1\r\n", " A: 1\r\n\r\n",
                          "A 1\r\n\r\n", ": 1\r\n\r\n"}) {
    CAPTURE(bad);
    const auto got = splitMessage(bad);
    REQUIRE_FALSE(got.has_value());
    CHECK(got.error().code == ErrorCode::InvalidInput);
  }
}

TEST_CASE("the signer reproduces both RFC 8463 A.3 signatures byte for byte") {
  const Rfc8463 v = rfc8463();
  const auto split = splitMessage(v.message);
  REQUIRE(split.has_value());
  CHECK(dkimBodyHash(split->body) == "2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=");

  const auto ed = DkimKey::fromPemFile(goldenPath("rfc8463-ed25519.pem"));
  REQUIRE_MESSAGE(ed.has_value(), ed.error().detail);
  CHECK(ed->algorithm() == DkimAlgorithm::Ed25519Sha256);
  CHECK(ed->publicKeyBase64() == "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
  const auto ed_b = dkimSignatureValue(v.message, *ed, Rfc8463Names, v.ed25519_field);
  REQUIRE(ed_b.has_value());
  CHECK(*ed_b ==
        "/gCrinpcQOoIfuHNQIbq4pgh9kyIK3AQUdt9OdqQehSwhEIug4D11BusFa3bT3FY5OsU7ZbnKELq+eXdp1Q1Dw==");

  const auto rsa = DkimKey::fromPemFile(goldenPath("rfc8463-rsa.pem"));
  REQUIRE_MESSAGE(rsa.has_value(), rsa.error().detail);
  CHECK(rsa->algorithm() == DkimAlgorithm::RsaSha256);
  CHECK(rsa->publicKeyBase64().rfind("MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3", 0) == 0);
  const auto rsa_b = dkimSignatureValue(v.message, *rsa, Rfc8463Names, v.rsa_field);
  REQUIRE(rsa_b.has_value());
  CHECK(*rsa_b ==
        "F45dVWDfMbQDGHJFlXUNB2HKfbCeLRyhDXgFpEL8GwpsRe0IeIixNTe3DhCVlUrSjV4BwcVcOF6+FF3Zo9Rpo1tFOeS9"
        "mPYQTnGdaSGsgeefOsk2JzdA+L10TeYt9BgDfQNZtKdN1WO//KgIqXP7OdEFE4LjFYNcUxZQ4FADY+8=");

  // The vector can fail: a changed header gives another signature.
  std::string changed = v.message;
  changed.replace(changed.find("dinner"), 6, "supper");
  CHECK(dkimSignatureValue(changed, *ed, Rfc8463Names, v.ed25519_field).value() != *ed_b);
}

TEST_CASE("dkimSignatureField writes a relaxed signature without l= over the report headers") {
  const auto key = DkimKey::fromPemFile(goldenPath("rfc8463-ed25519.pem")).value();
  DkimSignOptions options;
  options.domain = "sender.example";
  options.selector = "tlsrpt2026";
  options.time = 1795998600;
  const auto field = dkimSignatureField(sampleMail(), key, options);
  REQUIRE_MESSAGE(field.has_value(), field.error().detail);
  CHECK(*field == dkimSignatureField(sampleMail(), key, options).value());  // Ed25519 is deterministic
  std::string compact;  // folding and spaces removed: tags and h= names only
  for (std::size_t i = 0; i < field->size(); ++i) {
    const char c = (*field)[i];
    if (c == '\r') {
      const bool last = i + 2 == field->size();
      CHECK(field->substr(i, last ? 2 : 3) == (last ? "\r\n" : "\r\n "));
    }
    if (c != '\r' && c != '\n' && c != ' ') compact += c;
  }
  std::size_t line_start = 0;
  for (std::size_t pos = field->find("\r\n"); pos != std::string::npos; pos = field->find("\r\n", pos + 2)) {
    CHECK(pos - line_start <= 78);
    line_start = pos + 2;
  }
  CHECK(compact.rfind("DKIM-Signature:v=1;a=ed25519-sha256;c=relaxed/relaxed;d=sender.example;"
                      "s=tlsrpt2026;t=1795998600;h=from:from:to:to:subject:subject:date:date:"
                      "message-id:message-id:mime-version:mime-version:content-type:content-type:"
                      "tls-report-domain:tls-report-domain:tls-report-submitter:tls-report-submitter;"
                      "bh=" + dkimBodyHash("body\r\n") + ";b=",
                      0) == 0);
  CHECK(compact.find("tls-required") == std::string::npos);
  CHECK(compact.find(";l=") == std::string::npos);
  const auto signed_mail = dkimSign(sampleMail(), key, options);
  REQUIRE(signed_mail.has_value());
  CHECK(*signed_mail == *field + sampleMail());
}

TEST_CASE("dkimSignatureField refuses what it cannot sign correctly") {
  const auto key = DkimKey::fromPemFile(goldenPath("rfc8463-ed25519.pem")).value();
  DkimSignOptions options;
  options.domain = "sender.example";
  options.selector = "s1";
  const auto expect = [&](const std::string& message, const DkimSignOptions& o, const std::string& want) {
    CAPTURE(want);
    const auto got = dkimSignatureField(message, key, o);
    REQUIRE_FALSE(got.has_value());
    CHECK(got.error().code == ErrorCode::InvalidInput);
    CHECK(got.error().detail.find(want) != std::string::npos);
  };
  expect("To: a@b.example\r\n\r\nbody\r\n", options, "no From field");
  expect("From: a@b.example\nTo: x\r\n\r\n", options, "bare LF");
  DkimSignOptions bad = options;
  bad.domain = "sender example";
  expect(sampleMail(), bad, "DKIM domain");
  bad = options;
  bad.selector = "s1;x=y";
  expect(sampleMail(), bad, "DKIM selector");
}

TEST_CASE("DkimKey says clearly why a key cannot be used") {
  const auto missing = DkimKey::fromPemFile("/nonexistent/dkim.pem");
  REQUIRE_FALSE(missing.has_value());
  CHECK(missing.error().code == ErrorCode::Io);
  CHECK(missing.error().detail == "cannot open DKIM key /nonexistent/dkim.pem: No such file or directory");

  const auto garbage = DkimKey::fromPem("not a key");
  REQUIRE_FALSE(garbage.has_value());
  CHECK(garbage.error().detail.find("DKIM key is not a PEM private key") == 0);

  EVP_PKEY* small = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<std::size_t>(768));
  REQUIRE(small != nullptr);
  const auto too_small = DkimKey::fromPem(pemOf(small));
  REQUIRE_FALSE(too_small.has_value());
  CHECK(too_small.error().detail.find("DKIM RSA key has 768 bits; 1024 to 8192 allowed") == 0);
  const auto encrypted = DkimKey::fromPem(pemOf(small, EVP_aes_128_cbc()));
  REQUIRE_FALSE(encrypted.has_value());
  CHECK(encrypted.error().detail.find("encrypted") != std::string::npos);
  EVP_PKEY_free(small);

  EVP_PKEY* ec = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  REQUIRE(ec != nullptr);
  const auto wrong_type = DkimKey::fromPem(pemOf(ec));
  REQUIRE_FALSE(wrong_type.has_value());
  CHECK(wrong_type.error().detail == "DKIM key type id-ecPublicKey not supported (RSA or Ed25519 only)");
  EVP_PKEY_free(ec);

  const auto ed = DkimKey::fromPemFile(goldenPath("rfc8463-ed25519.pem")).value();
  CHECK(ed.dnsRecord() == "v=DKIM1; k=ed25519; s=tlsrpt; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
}
