// What a TLS handshake showed of the server, as plain values: protocol version, cipher, and
// the leaf certificate's names, validity period, DNS-ID match and every PKIX problem of its
// chain. Filled by the TLS probe (net/openssl_tls_probe.hpp) from an OpenSSL SSL*; judged by
// `mtastsd --check-domain`, which must see all problems at once (an expired AND misnamed
// certificate), not the first one a verifying handshake stops at. The collector is
// installed as the SSL's verify callback and keeps the handshake going (it never fails it).
// Loop thread; the functions here never throw through OpenSSL (the callback is noexcept).
#pragma once

#include <openssl/ssl.h>

#include <cstdint>
#include <string>
#include <vector>

namespace mtasts::net {

struct CertificateFacts {
  bool present = false;                // the server sent a certificate
  std::vector<std::string> dns_names;  // subjectAltName dNSNames of the leaf (escaped, at most 32)
  std::string subject_cn;              // the leaf's subject CN (escaped), for messages only
  std::int64_t not_before = 0;         // Unix seconds
  std::int64_t not_after = 0;          // Unix seconds
  // A DNS-ID of the leaf matches the host asked for (RFC 6125: subjectAltName only, never
  // the CN; a wildcard only as the whole left-most label), as RFC 8461 3.3 and 4.2 require.
  bool name_matches = false;
  // PKIX failures of the chain against the trusted roots, other than the leaf's own validity
  // period (judged from not_before/not_after instead), e.g. "unable to get local issuer
  // certificate (depth 0)". Empty: the chain is trusted.
  std::vector<std::string> chain_problems;
};

struct TlsSessionFacts {
  std::string version;  // "TLSv1.3"
  std::string cipher;   // "TLS_AES_256_GCM_SHA384"
  CertificateFacts certificate;
};

// Installs the problem collector as `ssl`'s verify callback (SSL_VERIFY_PEER, every failure
// recorded and passed over). `problems` must outlive the handshake.
bool collectVerifyProblems(SSL* ssl, std::vector<std::string>* problems);

// After the handshake: the facts, `host` being the name the certificate must be valid for.
TlsSessionFacts tlsSessionFacts(SSL* ssl, const std::string& host, std::vector<std::string> chain_problems);

}  // namespace mtasts::net
