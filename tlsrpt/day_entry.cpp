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

struct MdCtxFree {
  void operator()(EVP_MD_CTX* ctx) const noexcept { EVP_MD_CTX_free(ctx); }
};

// Length-prefixed (8 bytes, little-endian) so that no two different inputs feed the same
// bytes: ("ab","c") and ("a","bc") differ.
void feedLength(EVP_MD_CTX* ctx, std::uint64_t n) {
  unsigned char bytes[8];
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<unsigned char>(n >> (8 * i));
  EVP_DigestUpdate(ctx, bytes, sizeof bytes);
}

void feedString(EVP_MD_CTX* ctx, std::string_view s) {
  feedLength(ctx, s.size());
  EVP_DigestUpdate(ctx, s.data(), s.size());
}

void feedList(EVP_MD_CTX* ctx, const std::vector<std::string>& list) {
  feedLength(ctx, list.size());
  for (const auto& s : list) feedString(ctx, s);
}

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
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  EntryDigest out{};
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1) return out;
  const unsigned char type = policyTypeCode(policy.type);
  EVP_DigestUpdate(ctx.get(), &type, 1);
  feedString(ctx.get(), policy.domain);
  feedList(ctx.get(), policy.strings);
  feedList(ctx.get(), policy.mx_hosts);
  feedString(ctx.get(), tlsrpt_record);
  if (EVP_DigestFinal_ex(ctx.get(), md, &len) != 1 || len < out.size()) return out;
  std::memcpy(out.data(), md, out.size());
  return out;
}

}  // namespace mtasts::tlsrpt
