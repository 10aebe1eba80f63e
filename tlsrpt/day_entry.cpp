#include "tlsrpt/day_entry.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <utility>
#include <cstring>
#include <limits>
#include <memory>

namespace mtasts::tlsrpt {
namespace {

// The canonical bytes the entry digest is taken over. Length-prefixed (8 bytes,
// little-endian) so that no two different inputs give the same bytes: ("ab","c") and
// ("a","bc") differ. Changing this changes every stored key: tests pin one digest.
void appendLength(std::string& out, std::uint64_t n) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>(n >> (8 * i)));
}

void appendString(std::string& out, std::string_view s) {
  appendLength(out, s.size());
  out.append(s);
}

void appendList(std::string& out, const std::vector<std::string>& list) {
  appendLength(out, list.size());
  for (const auto& s : list) appendString(out, s);
}

struct MdFree {
  void operator()(EVP_MD* md) const noexcept { EVP_MD_free(md); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* ctx) const noexcept { EVP_MD_CTX_free(ctx); }
};

constexpr std::array<std::pair<TlsRptResultType, std::uint16_t>, 11> ResultCodes{{
    {TlsRptResultType::StarttlsNotSupported, 201},
    {TlsRptResultType::CertificateHostMismatch, 202},
    {TlsRptResultType::CertificateNotTrusted, 203},
    {TlsRptResultType::CertificateExpired, 204},
    {TlsRptResultType::ValidationFailure, 205},
    {TlsRptResultType::StsPolicyFetchError, 301},
    {TlsRptResultType::StsPolicyInvalid, 302},
    {TlsRptResultType::StsWebpkiInvalid, 303},
    {TlsRptResultType::TlsaInvalid, 304},
    {TlsRptResultType::DnssecInvalid, 305},
    {TlsRptResultType::DaneRequired, 306},
}};

std::size_t ordinaryRows(const std::vector<FailureCount>& rows) {
  return static_cast<std::size_t>(
      std::count_if(rows.begin(), rows.end(), [](const FailureCount& r) { return !isOverflowRow(r.detail); }));
}

}  // namespace

std::uint8_t policyTypeCode(PolicyType type) noexcept {
  switch (type) {
    case PolicyType::Tlsa: return 1;
    case PolicyType::Sts: return 2;
    case PolicyType::NoPolicyFound: return 9;
  }
  return 9;
}

bool policyTypeFromCode(std::uint64_t code, PolicyType& out) noexcept {
  switch (code) {
    case 1: out = PolicyType::Tlsa; return true;
    case 2: out = PolicyType::Sts; return true;
    case 9: out = PolicyType::NoPolicyFound; return true;
    default: return false;
  }
}

std::uint16_t resultTypeCode(TlsRptResultType type) noexcept {
  for (const auto& [t, code] : ResultCodes) {
    if (t == type) return code;
  }
  return 205;
}

bool resultTypeFromCode(std::uint64_t code, TlsRptResultType& out) noexcept {
  for (const auto& [t, c] : ResultCodes) {
    if (c == code) {
      out = t;
      return true;
    }
  }
  return false;
}

std::string_view sessionSourceName(SessionSource source) noexcept {
  switch (source) {
    case SessionSource::Datagram: return "datagram";
    case SessionSource::OwnFailure: return "own-failure";
    case SessionSource::Maillog: return "maillog";
  }
  return "datagram";
}

FailureDetail overflowRow(TlsRptResultType result) {
  FailureDetail row;
  row.result = result;
  row.additional_information = std::string(OverflowInformation);
  row.failure_reason_code = std::string(OverflowReasonCode);
  return row;
}

bool isOverflowRow(const FailureDetail& d) noexcept {
  return d.failure_reason_code == OverflowReasonCode && d.additional_information == OverflowInformation &&
         d.sending_mta_ip.empty() && d.receiving_mx_hostname.empty() && d.receiving_mx_helo.empty() &&
         d.receiving_ip.empty();
}

bool addFailureRow(std::vector<FailureCount>& rows, const FailureDetail& detail, std::uint64_t sessions,
                   std::size_t max_rows) {
  auto less = [](const FailureCount& row, const FailureDetail& d) { return row.detail < d; };
  auto it = std::lower_bound(rows.begin(), rows.end(), detail, less);
  if (it != rows.end() && it->detail == detail) {
    it->sessions = saturatingAdd(it->sessions, sessions);
    return false;
  }
  if (isOverflowRow(detail) || ordinaryRows(rows) < max_rows) {
    rows.insert(it, FailureCount{detail, sessions});
    return false;
  }
  const FailureDetail overflow = overflowRow(detail.result);
  it = std::lower_bound(rows.begin(), rows.end(), overflow, less);
  if (it != rows.end() && it->detail == overflow) {
    it->sessions = saturatingAdd(it->sessions, sessions);
  } else {
    rows.insert(it, FailureCount{overflow, sessions});
  }
  return true;
}

std::uint64_t mergeDayEntry(DayEntry& into, const DayEntry& from, std::size_t max_rows) {
  into.counts.successful_sessions = saturatingAdd(into.counts.successful_sessions, from.counts.successful_sessions);
  into.counts.failed_sessions = saturatingAdd(into.counts.failed_sessions, from.counts.failed_sessions);
  for (std::size_t i = 0; i < SessionSourceCount; ++i) into.sources[i] = saturatingAdd(into.sources[i], from.sources[i]);
  std::uint64_t overflowed = 0;
  for (const auto& row : from.counts.failures) {
    if (addFailureRow(into.counts.failures, row.detail, row.sessions, max_rows)) {
      overflowed = saturatingAdd(overflowed, row.sessions);
    }
  }
  return overflowed;
}

std::uint64_t countSession(DayEntry& into, bool failed, const std::vector<FailureDetail>& rows, SessionSource source,
                           std::size_t max_rows) {
  auto& total = failed ? into.counts.failed_sessions : into.counts.successful_sessions;
  total = saturatingAdd(total, 1);
  auto& by_source = into.sources[static_cast<std::size_t>(source)];
  by_source = saturatingAdd(by_source, 1);
  std::uint64_t overflowed = 0;
  for (const auto& row : rows) {
    if (addFailureRow(into.counts.failures, row, 1, max_rows)) ++overflowed;
  }
  return overflowed;
}

EntryDigest entryDigest(const PolicyDescriptor& policy, std::string_view tlsrpt_record) {
  // Fetched once and a context and buffer per thread: EVP_sha256()'s implicit fetch and a
  // context per call cost more than hashing the few hundred bytes (perf, BENCHMARKS.md).
  static const std::unique_ptr<EVP_MD, MdFree> sha256(EVP_MD_fetch(nullptr, "SHA256", nullptr));
  thread_local const std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  thread_local std::string bytes;
  bytes.clear();
  bytes.push_back(static_cast<char>(policyTypeCode(policy.type)));
  appendString(bytes, policy.domain);
  appendList(bytes, policy.strings);
  appendList(bytes, policy.mx_hosts);
  appendString(bytes, tlsrpt_record);
  EntryDigest out{};
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!sha256 || !ctx || EVP_DigestInit_ex2(ctx.get(), sha256.get(), nullptr) != 1 ||
      EVP_DigestUpdate(ctx.get(), bytes.data(), bytes.size()) != 1 || EVP_DigestFinal_ex(ctx.get(), md, &len) != 1 ||
      len < out.size()) {
    return out;
  }
  std::memcpy(out.data(), md, out.size());
  return out;
}

}  // namespace mtasts::tlsrpt
