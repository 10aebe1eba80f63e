#include "net/tls_peer.hpp"

#include "common/log.hpp"

#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <fmt/format.h>

#include <algorithm>
#include <ctime>
#include <new>
#include <utility>

namespace mtasts::net {
namespace {

constexpr std::size_t MaxNames = 32;
constexpr std::size_t MaxProblems = 16;

int problemsIndex() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

// Records every failure and lets the handshake go on, so that the caller sees them all.
int verifyCallback(int ok, X509_STORE_CTX* ctx) noexcept {
  if (ok == 1) return 1;
  const int error = X509_STORE_CTX_get_error(ctx);
  const int depth = X509_STORE_CTX_get_error_depth(ctx);
  // The leaf's validity period is judged from its dates (days left, days since expiry).
  if (depth == 0 && (error == X509_V_ERR_CERT_HAS_EXPIRED || error == X509_V_ERR_CERT_NOT_YET_VALID)) return 1;
  auto* ssl = static_cast<SSL*>(X509_STORE_CTX_get_ex_data(ctx, SSL_get_ex_data_X509_STORE_CTX_idx()));
  auto* problems = ssl == nullptr ? nullptr : static_cast<std::vector<std::string>*>(SSL_get_ex_data(ssl, problemsIndex()));
  if (problems == nullptr) return 1;
  try {
    std::string text = fmt::format("{} (depth {})", X509_verify_cert_error_string(error), depth);
    if (problems->size() < MaxProblems && std::find(problems->begin(), problems->end(), text) == problems->end()) {
      problems->push_back(std::move(text));
    }
  } catch (...) {  // out of memory: the probe reports what it has
  }
  return 1;
}

std::int64_t unixTime(const ASN1_TIME* time) {
  std::tm tm{};
  if (time == nullptr || ASN1_TIME_to_tm(time, &tm) != 1) return 0;
  return static_cast<std::int64_t>(timegm(&tm));
}

std::vector<std::string> dnsNames(X509* leaf) {
  std::vector<std::string> out;
  auto* names = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(leaf, NID_subject_alt_name, nullptr, nullptr));
  if (names == nullptr) return out;
  const int count = sk_GENERAL_NAME_num(names);
  for (int i = 0; i < count && out.size() < MaxNames; ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
    if (name->type != GEN_DNS) continue;
    const ASN1_STRING* s = name->d.dNSName;
    out.push_back(escapeForLog(std::string_view(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                                                static_cast<std::size_t>(ASN1_STRING_length(s))),
                               255));
  }
  GENERAL_NAMES_free(names);
  return out;
}

std::string subjectCn(X509* leaf) {
  X509_NAME* subject = X509_get_subject_name(leaf);
  const int at = subject == nullptr ? -1 : X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  if (at < 0) return {};
  const ASN1_STRING* s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, at));
  return escapeForLog(std::string_view(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                                       static_cast<std::size_t>(ASN1_STRING_length(s))),
                      255);
}

}  // namespace

bool collectVerifyProblems(SSL* ssl, std::vector<std::string>* problems) {
  if (problemsIndex() < 0 || SSL_set_ex_data(ssl, problemsIndex(), problems) != 1) return false;
  SSL_set_verify(ssl, SSL_VERIFY_PEER, &verifyCallback);
  return true;
}

TlsSessionFacts tlsSessionFacts(SSL* ssl, const std::string& host, std::vector<std::string> chain_problems) {
  TlsSessionFacts facts;
  facts.version = SSL_get_version(ssl);
  if (const SSL_CIPHER* cipher = SSL_get_current_cipher(ssl)) facts.cipher = SSL_CIPHER_get_name(cipher);
  X509* leaf = SSL_get0_peer_certificate(ssl);
  if (leaf == nullptr) return facts;
  CertificateFacts& cert = facts.certificate;
  cert.present = true;
  cert.dns_names = dnsNames(leaf);
  cert.subject_cn = subjectCn(leaf);
  cert.not_before = unixTime(X509_get0_notBefore(leaf));
  cert.not_after = unixTime(X509_get0_notAfter(leaf));
  cert.name_matches = X509_check_host(leaf, host.data(), host.size(),
                                      X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS | X509_CHECK_FLAG_NEVER_CHECK_SUBJECT,
                                      nullptr) == 1;
  cert.chain_problems = std::move(chain_problems);
  return facts;
}

}  // namespace mtasts::net
