// DKIM signing of report mails (RFC 6376, relaxed/relaxed) with OpenSSL: rsa-sha256 and
// ed25519-sha256 (RFC 8463: PureEdDSA over the SHA-256 hash of the signed data). RFC 8460
// 3.1 wants reports signed by the reporting domain and forbids l=. A DkimKey owns its
// EVP_PKEY and is immutable after loading, so one key may sign on any thread. Errors are
// Results with a reason an operator can act on (file, format, key type, key size).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.hpp"
#include "common/result.hpp"

typedef struct evp_pkey_st EVP_PKEY;  // NOLINT: OpenSSL's own forward declaration

namespace mtasts::tlsrpt {

enum class DkimAlgorithm { RsaSha256, Ed25519Sha256 };

std::string_view dkimAlgorithmName(DkimAlgorithm algorithm) noexcept;  // "rsa-sha256", ...

// Bounds on RSA keys: RFC 8301 3.2 says signers MUST use at least 1024 bits (2048 SHOULD).
constexpr int MinRsaBits = 1024;
constexpr int MaxRsaBits = 8192;

class DkimKey {
 public:
  // A PEM private key: PKCS#8 ("BEGIN PRIVATE KEY", RSA or Ed25519) or PKCS#1 ("BEGIN RSA
  // PRIVATE KEY"). Encrypted keys are refused (no passphrase prompt in a daemon).
  static Result<DkimKey> fromPem(std::string_view pem);
  // Reads path (at most 64 KiB) and parses it; Io with the errno text when unreadable.
  static Result<DkimKey> fromPemFile(const std::string& path);

  DkimAlgorithm algorithm() const noexcept { return algorithm_; }
  // The p= value of the key's DNS record (RFC 6376 3.6.1; RFC 8463 3 for Ed25519: the
  // raw 32-byte public key), base64 without line breaks.
  std::string publicKeyBase64() const;
  // "v=DKIM1; k=rsa; s=<service>; p=...": the TXT record to publish at
  // <selector>._domainkey.<domain> (RFC 8460 asks for the service type tlsrpt).
  std::string dnsRecord(std::string_view service = "tlsrpt") const;

  EVP_PKEY* get() const noexcept { return key_.get(); }

 private:
  struct Free {
    void operator()(EVP_PKEY* key) const noexcept;
  };
  DkimKey(std::unique_ptr<EVP_PKEY, Free> key, DkimAlgorithm algorithm)
      : key_(std::move(key)), algorithm_(algorithm) {}

  std::unique_ptr<EVP_PKEY, Free> key_;
  DkimAlgorithm algorithm_;
};

// The fields a report mail signature covers (RFC 8460 5.3 names the TLS-Report ones; MIME-
// Version and Content-Type keep the MIME structure from being rewritten). TLS-Required is
// left out: an MTA may act on it.
const std::vector<std::string>& defaultDkimHeaders();

struct DkimSignOptions {
  std::string domain;    // d=, the reporting domain
  std::string selector;  // s=
  UnixSeconds time = 0;  // t=, from the injected clock
  std::vector<std::string> headers = defaultDkimHeaders();  // h= order; absent ones skipped
  // List every signed name once more in h=: a field of that name added later breaks the
  // signature (RFC 6376 8.15 "oversigning").
  bool oversign = true;
};

// The "DKIM-Signature: ...\r\n" field for message (CRLF lines, as report_mail.hpp builds),
// to be put in front of it. InvalidInput for a message without From, bad d=/s=, bare LF.
Result<std::string> dkimSignatureField(std::string_view message, const DkimKey& key,
                                       const DkimSignOptions& options);

// The field followed by the message.
Result<std::string> dkimSign(std::string_view message, const DkimKey& key,
                             const DkimSignOptions& options);

// Lower level, for test vectors: the base64 bh= of a body (SHA-256 of its relaxed form), and
// the base64 b= value over the fields named by signed_names (bottom-up per name, RFC 6376
// 5.4.2) followed by unsigned_field (a complete DKIM-Signature field whose b= is empty).
std::string dkimBodyHash(std::string_view body);
Result<std::string> dkimSignatureValue(std::string_view message, const DkimKey& key,
                                       const std::vector<std::string>& signed_names,
                                       std::string_view unsigned_field);

}  // namespace mtasts::tlsrpt
