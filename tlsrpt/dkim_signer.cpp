#include "tlsrpt/dkim_signer.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <spdlog/fmt/fmt.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <map>
#include <system_error>

#include "common/domain.hpp"
#include "common/log.hpp"
#include "tlsrpt/dkim_canon.hpp"

namespace mtasts::tlsrpt {
namespace {

constexpr std::size_t MaxPemFile = 64 * 1024;
constexpr std::size_t FoldAt = 78;

struct BioFree {
  void operator()(BIO* bio) const noexcept { BIO_free(bio); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* ctx) const noexcept { EVP_MD_CTX_free(ctx); }
};

// The most recent OpenSSL error as text, and the error queue cleared.
std::string opensslError() {
  const unsigned long code = ERR_peek_last_error();
  ERR_clear_error();
  if (code == 0) return "no OpenSSL error recorded";
  char buf[256];
  ERR_error_string_n(code, buf, sizeof buf);
  return buf;
}

std::string base64(const unsigned char* data, std::size_t size) {
  std::string out(4 * ((size + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, static_cast<int>(size));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

// No passphrase: a daemon cannot prompt, and an empty one must not be tried silently.
int refusePassphrase(char* /*buf*/, int /*size*/, int /*rwflag*/, void* /*u*/) { return -1; }

Result<std::string> sha256(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr) != 1) {
    return fail(ErrorCode::Internal, "SHA-256 failed: " + opensslError());
  }
  return std::string(reinterpret_cast<const char*>(md), len);
}

// RSA: PKCS#1 v1.5 over SHA-256 of data. Ed25519 (RFC 8463 3): PureEdDSA over SHA-256(data).
Result<std::string> signData(const DkimKey& key, std::string_view data) {
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  if (!ctx) return fail(ErrorCode::Internal, "EVP_MD_CTX_new failed");
  std::string input(data);
  const EVP_MD* md = EVP_sha256();
  if (key.algorithm() == DkimAlgorithm::Ed25519Sha256) {
    auto hash = sha256(data);
    if (!hash) return hash;
    input = std::move(*hash);
    md = nullptr;  // Ed25519 takes no digest: it signs the message (here: the hash) itself
  }
  std::size_t len = 0;
  const auto* in = reinterpret_cast<const unsigned char*>(input.data());
  if (EVP_DigestSignInit(ctx.get(), nullptr, md, nullptr, key.get()) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &len, in, input.size()) != 1) {
    return fail(ErrorCode::Internal, "DKIM signing failed: " + opensslError());
  }
  std::string sig(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, in,
                     input.size()) != 1) {
    return fail(ErrorCode::Internal, "DKIM signing failed: " + opensslError());
  }
  sig.resize(len);
  return base64(reinterpret_cast<const unsigned char*>(sig.data()), sig.size());
}

// Appends text, starting a new line (CRLF SP) first when it would pass column 78. FWS is
// allowed between tags, around ':' in h= and inside the base64 of b= (RFC 6376 3.5).
void appendFolded(std::string& out, std::size_t& column, std::string_view text) {
  if (column + text.size() > FoldAt && column > 1) {
    out += "\r\n ";
    column = 1;
    if (!text.empty() && text.front() == ' ') text.remove_prefix(1);  // the fold is the space
  }
  out += text;
  column += text.size();
}

}  // namespace

std::string_view dkimAlgorithmName(DkimAlgorithm algorithm) noexcept {
  return algorithm == DkimAlgorithm::Ed25519Sha256 ? "ed25519-sha256" : "rsa-sha256";
}

void DkimKey::Free::operator()(EVP_PKEY* key) const noexcept { EVP_PKEY_free(key); }

Result<DkimKey> DkimKey::fromPem(std::string_view pem) {
  if (pem.find("ENCRYPTED") != std::string_view::npos) {
    return fail(ErrorCode::InvalidInput, "DKIM key is encrypted; store it without a passphrase");
  }
  ERR_clear_error();
  std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return fail(ErrorCode::Internal, "BIO_new_mem_buf failed");
  std::unique_ptr<EVP_PKEY, Free> key(PEM_read_bio_PrivateKey(bio.get(), nullptr, refusePassphrase, nullptr));
  if (!key) {
    return fail(ErrorCode::InvalidInput, "DKIM key is not a PEM private key: " + opensslError());
  }
  const int type = EVP_PKEY_get_base_id(key.get());
  if (type == EVP_PKEY_ED25519) return DkimKey(std::move(key), DkimAlgorithm::Ed25519Sha256);
  if (type != EVP_PKEY_RSA) {
    return fail(ErrorCode::InvalidInput,
                fmt::format("DKIM key type {} not supported (RSA or Ed25519 only)",
                            OBJ_nid2sn(type) != nullptr ? OBJ_nid2sn(type) : "unknown"));
  }
  const int bits = EVP_PKEY_get_bits(key.get());
  if (bits < MinRsaBits || bits > MaxRsaBits) {
    return fail(ErrorCode::InvalidInput, fmt::format("DKIM RSA key has {} bits; {} to {} allowed "
                                                     "(RFC 8301; 2048 recommended)",
                                                     bits, MinRsaBits, MaxRsaBits));
  }
  return DkimKey(std::move(key), DkimAlgorithm::RsaSha256);
}

Result<DkimKey> DkimKey::fromPemFile(const std::string& path) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) {
    return fail(ErrorCode::Io, fmt::format("cannot open DKIM key {}: {}", escapeForLog(path),
                                           std::generic_category().message(errno)));
  }
  std::string pem;
  char buf[4096];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, file)) > 0 && pem.size() <= MaxPemFile) pem.append(buf, n);
  const bool read_error = std::ferror(file) != 0;
  std::fclose(file);
  if (read_error) return fail(ErrorCode::Io, fmt::format("cannot read DKIM key {}", escapeForLog(path)));
  if (pem.size() > MaxPemFile) {
    return fail(ErrorCode::TooLarge, fmt::format("DKIM key file {} is larger than {} bytes",
                                                 escapeForLog(path), MaxPemFile));
  }
  auto key = fromPem(pem);
  if (!key) {
    return fail(key.error().code, fmt::format("{}: {}", escapeForLog(path), key.error().detail));
  }
  return key;
}

std::string DkimKey::publicKeyBase64() const {
  if (algorithm_ == DkimAlgorithm::Ed25519Sha256) {
    unsigned char raw[32];
    std::size_t len = sizeof raw;
    if (EVP_PKEY_get_raw_public_key(key_.get(), raw, &len) != 1) return {};
    return base64(raw, len);
  }
  unsigned char* der = nullptr;
  const int len = i2d_PUBKEY(key_.get(), &der);
  if (len <= 0) return {};
  std::string out = base64(der, static_cast<std::size_t>(len));
  OPENSSL_free(der);
  return out;
}

std::string DkimKey::dnsRecord(std::string_view service) const {
  const char* k = algorithm_ == DkimAlgorithm::Ed25519Sha256 ? "ed25519" : "rsa";
  return fmt::format("v=DKIM1; k={}; s={}; p={}", k, service, publicKeyBase64());
}

const std::vector<std::string>& defaultDkimHeaders() {
  static const std::vector<std::string> headers = {
      "from",         "to",           "subject",           "date",
      "message-id",   "mime-version", "content-type",      "tls-report-domain",
      "tls-report-submitter"};
  return headers;
}

std::string dkimBodyHash(std::string_view body) {
  const auto hash = sha256(canonicalBodyRelaxed(body));
  if (!hash) return {};
  return base64(reinterpret_cast<const unsigned char*>(hash->data()), hash->size());
}

Result<std::string> dkimSignatureValue(std::string_view message, const DkimKey& key,
                                       const std::vector<std::string>& signed_names,
                                       std::string_view unsigned_field) {
  auto split = splitMessage(message);
  if (!split) return Unexpected{std::move(split).error()};
  const auto& headers = split->headers;
  std::map<std::string, std::size_t> used;  // per lower-case name: instances taken from the bottom
  std::string data;
  for (const auto& wanted : signed_names) {
    const std::string name = toLowerAscii(wanted);
    std::size_t skip = used[name]++;
    for (auto it = headers.rbegin(); it != headers.rend(); ++it) {
      if (!equalsIgnoreCaseAscii(it->name, name)) continue;
      if (skip-- > 0) continue;
      data += canonicalHeaderRelaxed(it->field);
      data += "\r\n";
      break;
    }  // not found: a null string is signed (RFC 6376 5.4.2), i.e. nothing
  }
  std::string_view field = unsigned_field;
  while (field.size() >= 2 && field.substr(field.size() - 2) == "\r\n") field.remove_suffix(2);
  data += canonicalHeaderRelaxed(field);  // the signature field itself, without CRLF (3.7)
  return signData(key, data);
}

Result<std::string> dkimSignatureField(std::string_view message, const DkimKey& key,
                                       const DkimSignOptions& options) {
  if (!isValidHostname(options.domain)) {
    return fail(ErrorCode::InvalidInput,
                fmt::format("DKIM domain \"{}\" is not a hostname", escapeForLog(options.domain)));
  }
  if (!isValidHostname(options.selector)) {
    return fail(ErrorCode::InvalidInput,
                fmt::format("DKIM selector \"{}\" is not a DNS name", escapeForLog(options.selector)));
  }
  if (options.time < 0) return fail(ErrorCode::InvalidInput, "DKIM time before 1970");
  auto split = splitMessage(message);
  if (!split) return Unexpected{std::move(split).error()};

  std::vector<std::string> names;
  for (const auto& wanted : options.headers) {
    const std::string name = toLowerAscii(wanted);
    std::size_t count = 0;
    for (const auto& h : split->headers) count += equalsIgnoreCaseAscii(h.name, name) ? 1u : 0u;
    if (count == 0) continue;
    for (std::size_t i = 0; i < count + (options.oversign ? 1 : 0); ++i) names.push_back(name);
  }
  if (std::find(names.begin(), names.end(), "from") == names.end()) {
    return fail(ErrorCode::InvalidInput, "message has no From field to sign (RFC 6376 5.4)");
  }

  std::string field = "DKIM-Signature:";
  std::size_t column = field.size();
  const std::string tags[] = {
      " v=1;", fmt::format(" a={};", dkimAlgorithmName(key.algorithm())), " c=relaxed/relaxed;",
      fmt::format(" d={};", options.domain), fmt::format(" s={};", options.selector),
      fmt::format(" t={};", options.time)};
  for (const auto& tag : tags) appendFolded(field, column, tag);
  for (std::size_t i = 0; i < names.size(); ++i) {
    appendFolded(field, column, (i == 0 ? " h=" : "") + names[i] + (i + 1 < names.size() ? ":" : ";"));
  }
  appendFolded(field, column, " bh=" + std::string(dkimBodyHash(split->body)) + ";");
  appendFolded(field, column, " b=");

  auto b = dkimSignatureValue(message, key, names, field);
  if (!b) return b;
  for (char c : *b) appendFolded(field, column, std::string_view(&c, 1));
  field += "\r\n";
  return field;
}

Result<std::string> dkimSign(std::string_view message, const DkimKey& key,
                             const DkimSignOptions& options) {
  auto field = dkimSignatureField(message, key, options);
  if (!field) return field;
  return *field + std::string(message);
}

}  // namespace mtasts::tlsrpt
